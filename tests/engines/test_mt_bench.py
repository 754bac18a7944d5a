"""The Fish Fillets parallel text and `voxlate bench mt` (with Apertium: seconds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voxlate.data.fillets_text import read_parallel, split_parallel

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/games/fillets-ng/script").exists(),
    reason="fillets-ng-data is not installed",
)


def test_parallel_lines_and_level_splits():
    lines = read_parallel("en", "es")
    assert len(lines) > 1400
    first = {ln.id: ln for ln in lines}["bar-v-videt0"]
    assert first.source == "Somebody from Greenpeace should see this."
    assert first.target == "Alguien de Greenpeace debería de ver esto."
    back = {ln.id: ln for ln in read_parallel("es", "en")}["bar-v-videt0"]
    assert (back.source, back.target) == (first.target, first.source)
    splits = {s: split_parallel(lines, s) for s in ("train", "dev", "test")}
    assert sum(len(v) for v in splits.values()) == len(lines)
    levels = {s: {ln.level for ln in v} for s, v in splits.items()}
    assert not levels["dev"] & levels["test"] and not levels["train"] & levels["test"]
    assert 100 < len(splits["test"]) < 200 and 100 < len(splits["dev"]) < 250
    few = split_parallel(lines, "test", limit=10)
    assert len(few) == 10 and set(few) <= set(splits["test"])


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_bench_mt_cli_scores_apertium_and_logs(run_cli, tmp_path):
    log = tmp_path / "bench.md"
    code, out, err = run_cli(
        "bench", "mt", "-e", "apertium", "-p", "en-es", "--limit", "20", "--log", log
    )
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| apertium | en->es"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "20" and 5 < float(cells[3]) < 60 and 20 < float(cells[4]) < 80
    assert "## bench mt" in log.read_text()
    code, _, err = run_cli("bench", "mt", "-p", "english", "--no-log")
    assert code != 0 and "en-es" in err
