"""Benchmark records (benchmarks/*.jsonl) and the page generated from them, docs/benchmarks.md."""

from __future__ import annotations

import json
from pathlib import Path

from voxlate.bench.records import parse_log, parse_tables, read_records, render, results_dir
from voxlate.bench.report import append_benchmark

ROOT = Path(__file__).parents[1]

OLD_LOG = """# voxlate benchmarks

## bench live

*2026-11-21 19:55 · AMD EPYC, 2 cores, 24 GiB RAM, Linux 6*

5 recordings.

| end of speech -> first audio (s) | n | median |
|---|---|---|
| all utterances | 10 | 3.1 |

## Defaults chosen by measurement

*2026-11-30 · hand-written*

| choice | default |
|---|---|
| TTS | kokoro |
"""


def test_the_old_log_becomes_records_and_history():
    records, leftover = parse_log(OLD_LOG)
    assert len(records) == 1
    r = records[0]
    assert (r["title"], r["date"], r["command"]) == (
        "bench live",
        "2026-11-21 19:55",
        "voxlate bench live",
    )
    assert r["machine"].startswith("AMD EPYC") and "5 recordings." in r["body"]
    assert r["tables"] == [
        {"header": ["end of speech -> first audio (s)", "n", "median"],
         "rows": [["all utterances", "10", "3.1"]]}
    ]  # fmt: skip
    assert leftover.startswith("## Defaults chosen by measurement") and "kokoro" in leftover


def test_tables_with_blank_lines_between_rows_parse():
    t = parse_tables("| a | b |\n\n|---|---|\n\n| x | 1 |\n\n| y | 2 |\n\ntext")
    assert t == [{"header": ["a", "b"], "rows": [["x", "1"], ["y", "2"]]}]


def test_append_records_a_line_and_regenerates_the_page(tmp_path: Path):
    page = tmp_path / "docs" / "benchmarks.md"
    page.parent.mkdir()
    tts = "voxlate bench tts -n 3"
    append_benchmark(
        "bench tts", "note\n\n| engine | RTF |\n|---|---|\n| kokoro | 0.7 |\n", page, tts
    )
    append_benchmark("bench tts", "| engine | RTF |\n|---|---|\n| kokoro | 0.5 |\n", page, tts)
    assert results_dir(page) == tmp_path / "benchmarks"
    lines = (tmp_path / "benchmarks" / "bench-tts.jsonl").read_text().splitlines()
    assert [json.loads(s)["tables"][0]["rows"] for s in lines] == [
        [["kokoro", "0.7"]],
        [["kokoro", "0.5"]],
    ]
    text = page.read_text()
    assert "| kokoro | 0.5 |" in text and "| kokoro | 0.7 |" not in text  # the latest only
    assert text.count("## bench tts") == 1 and f"`{tts}`" in text


def test_docs_benchmarks_is_generated_short_and_names_commands():
    records = read_records(ROOT / "benchmarks")
    assert len(records) >= 60  # the converted history
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert page == render(records, "benchmarks-history.png"), "run `voxlate bench render`"
    assert len(page.splitlines()) < 360  # the latest run of each of ~30 benchmarks
    summary = page.split("\n\n## ")[0].splitlines()
    rows = [s for s in summary if s.startswith("| ") and not s.startswith("| benchmark")]
    assert len(rows) == len({r["title"] for r in records})
    assert all(s.rstrip().endswith("` |") and "| `" in s for s in rows), rows
