"""Assembling models shipped as part packages: checksum, missing part, concurrency, real model."""

from __future__ import annotations

import hashlib
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from voxlate import parts
from voxlate.errors import EngineError, MissingDependencyError
from voxlate.parts import PartedModel, assemble


def make_packages(root: Path, blobs: list[bytes]) -> list[tuple[str, str]]:
    """One importable package per blob, holding it as data/part.bin."""
    out = []
    for i, blob in enumerate(blobs):
        pkg = root / f"vxtest_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / "part.bin").write_bytes(blob)
        out.append((pkg.name, "data/part.bin"))
    (root / "vxtest_part0" / "data" / "config.json").write_text('{"a": 1}')
    return out


@pytest.fixture
def fake(tmp_path, monkeypatch):
    blobs = [bytes(range(256)) * 4000, b"second part" * 10_000]
    make = make_packages(tmp_path / "site", blobs)
    importlib.invalidate_caches()
    # not monkeypatch.syspath_prepend: it calls pkg_resources, which other tests may stub
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site"), *sys.path])
    monkeypatch.setenv("VOXLATE_CACHE", str(tmp_path / "cache"))
    model = PartedModel(
        name="toy",
        filename="model.bin",
        parts=tuple(make),
        sha256=hashlib.sha256(b"".join(blobs)).hexdigest(),
        pip="vxtest-part0 vxtest-part1",
        extra_files=(("vxtest_part0", "data/config.json"),),
    )
    return model, b"".join(blobs), tmp_path


def test_parts_are_concatenated_once(fake):
    model, whole, tmp = fake
    folder = assemble(model)
    assert folder == tmp / "cache" / "toy"
    assert (folder / "model.bin").read_bytes() == whole
    assert (folder / "config.json").read_text() == '{"a": 1}'
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert assemble(model) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == stamp  # not rewritten
    assert not list(folder.glob("*.part"))


def test_checksum_mismatch_leaves_no_file(fake):
    model, _, tmp = fake
    bad = PartedModel(model.name, model.filename, model.parts, "0" * 64, model.pip)
    with pytest.raises(EngineError, match="wrong checksum.*pip install --force-reinstall vxtest"):
        assemble(bad)
    folder = tmp / "cache" / "toy"
    assert not (folder / "model.bin").exists()
    assert [p.name for p in folder.iterdir() if p.name != ".lock"] == []


def test_half_written_cache_is_reassembled(fake):
    model, whole, tmp = fake
    folder = tmp / "cache" / "toy"
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(whole[:1000])  # an interrupted copy, no marker
    assert (assemble(model) / "model.bin").read_bytes() == whole


def test_missing_part_package_names_the_pip_package(fake):
    model, _, _ = fake
    missing = PartedModel(
        model.name, model.filename, (*model.parts, ("vxtest_absent", "x")), model.sha256, "vx-p"
    )
    with pytest.raises(MissingDependencyError, match="vxtest_absent.*pip install vx-p"):
        assemble(missing)


def test_two_processes_at_once(fake):
    model, whole, tmp = fake
    script = (
        "import sys; from voxlate import parts; parts.CHUNK = 512; "  # slow: the runs overlap
        f"sys.path.insert(0, {str(tmp / 'site')!r}); "
        f"m = parts.PartedModel('toy', 'model.bin', {model.parts!r}, {model.sha256!r}, 'x'); "
        "print(parts.assemble(m))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1] == str(tmp / "cache" / "toy")
    assert (tmp / "cache" / "toy" / "model.bin").read_bytes() == whole
    assert not list((tmp / "cache" / "toy").glob(".*.part"))


def test_whisper_base_assembles_from_its_packages(tmp_path, monkeypatch):
    from voxlate.engines.asr.faster_whisper import WHISPER_BASE

    monkeypatch.setenv("VOXLATE_CACHE", str(tmp_path))
    folder = assemble(WHISPER_BASE)
    assert (folder / "model.bin").stat().st_size == 145_217_532
    assert {"config.json", "tokenizer.json", "vocabulary.txt"} <= {p.name for p in folder.iterdir()}
    assert parts.cache_dir() == tmp_path
