"""Batch planning without Ray: discovery, output names, the skip rule, the manifest, usage errors."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from voxlate.batch.discover import BatchUsageError, find_audio, output_names, plan_items
from voxlate.batch.manifest import ManifestEntry, ManifestWriter, read_manifest
from voxlate.batch.plan import (
    BatchOptions,
    batch_record,
    file_sha256,
    is_done,
    remove_stale_temps,
)
from voxlate.pipeline.engines import EngineSpecs


def _touch(p: Path, data: bytes = b"x") -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_find_audio_recurses_skips_hidden_non_audio_and_the_output_folder(tmp_path: Path) -> None:
    a = _touch(tmp_path / "in" / "a.wav")
    b = _touch(tmp_path / "in" / "deep" / "er" / "b.FLAC")
    _touch(tmp_path / "in" / "notes.txt")
    _touch(tmp_path / "in" / ".a.es.wav.tmp123.wav")  # a temp file of an interrupted write
    _touch(tmp_path / "in" / ".hidden" / "c.wav")
    _touch(tmp_path / "in" / "out" / "a.es.wav")  # outputs inside the input folder
    single = _touch(tmp_path / "elsewhere" / "d.mp3")
    found = find_audio([tmp_path / "in", single, tmp_path / "in"], exclude=tmp_path / "in" / "out")
    assert found == [a.resolve(), b.resolve(), single.resolve()]


def test_find_audio_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(BatchUsageError, match="No such file or folder"):
        find_audio([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BatchUsageError, match="No audio files found") as e:
        find_audio([tmp_path / "empty"])
    assert e.value.exit_code == 2


def test_output_names_keep_folders_only_where_stems_collide(tmp_path: Path) -> None:
    files = [
        tmp_path / "arch" / "x" / "talk.wav",
        tmp_path / "arch" / "y" / "talk.wav",
        tmp_path / "arch" / "y" / "solo.wav",
        tmp_path / "arch" / "z" / "song.wav",
        tmp_path / "arch" / "z" / "song.mp3",
    ]
    names = output_names(files)
    assert names == {
        files[0]: Path("x/talk"),
        files[1]: Path("y/talk"),
        files[2]: Path("solo"),
        files[3]: Path("song.wav"),
        files[4]: Path("song.mp3"),
    }
    assert len(set(names.values())) == len(files)


def test_plan_items_paths(tmp_path: Path) -> None:
    _touch(tmp_path / "in" / "a" / "talk.wav")
    _touch(tmp_path / "in" / "b" / "talk.wav")
    items = plan_items([tmp_path / "in"], tmp_path / "out", "es", srt=True)
    out = tmp_path / "out"
    assert [(i.output, i.report, i.srt) for i in items] == [
        (out / "a/talk.es.wav", out / "a/talk.es.json", out / "a/talk.es.srt"),
        (out / "b/talk.es.wav", out / "b/talk.es.json", out / "b/talk.es.srt"),
    ]
    _touch(tmp_path / "file")
    with pytest.raises(BatchUsageError, match="output folder is a file"):
        plan_items([tmp_path / "in"], tmp_path / "file", "es")


def test_skip_rule_needs_outputs_same_checksum_and_same_options(tmp_path: Path) -> None:
    src = _touch(tmp_path / "talk.wav", b"RIFF-one")
    (item,) = plan_items([src], tmp_path / "out", "es")
    options = BatchOptions("en", "es", EngineSpecs(vad="energy", voice="tts")).record()
    sha = file_sha256(src)
    assert not is_done(item, sha, options)  # nothing written yet
    _touch(item.output)
    assert not is_done(item, sha, options)  # the wav alone: killed before the report
    item.report.write_text(json.dumps({"batch": batch_record(sha, options)}))
    assert is_done(item, sha, options)
    src.write_bytes(b"RIFF-two")  # the input changed
    assert not is_done(item, file_sha256(src), options)
    other = BatchOptions("en", "es", EngineSpecs(vad="silero", voice="tts")).record()
    assert not is_done(item, sha, other)  # other options
    item.report.write_text('{"batch": ')  # a torn report (not written by us, but possible)
    assert not is_done(item, sha, options)


def test_options_record_round_trips_through_json_and_hashes_a_reference_voice(
    tmp_path: Path,
) -> None:
    ref = _touch(tmp_path / "ref.wav", b"voice")
    rec = BatchOptions("en", "es", EngineSpecs(voice=str(ref))).record()
    assert json.loads(json.dumps(rec)) == rec
    assert rec["voice_sha256"] == file_sha256(ref)
    assert rec["specs"]["voice"] == str(ref) and rec["source"] == "en"


def test_remove_stale_temps_only_touches_this_items_temp_files(tmp_path: Path) -> None:
    (item,) = plan_items([_touch(tmp_path / "talk.wav")], tmp_path / "out", "es")
    stale = _touch(tmp_path / "out" / ".talk.es.wav.abc123.wav")
    other = _touch(tmp_path / "out" / ".other.es.wav.abc123.wav")
    remove_stale_temps(item)
    assert not stale.exists() and other.exists()


def test_manifest_appends_whole_lines_and_reader_skips_a_torn_one(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    e = ManifestEntry("a.wav", "ok", "a.es.wav", "a.es.json", None, 1.5, "10.0.0.1:42", "n1", 1)
    with ManifestWriter(path) as m:
        m.write(e)
    with ManifestWriter(path) as m:
        m.write(ManifestEntry("b.wav", "failed", None, None, "Bad.", 0.1, None))
    with open(path, "a") as f:
        f.write('{"input": "c.wav", "sta')  # killed mid-line
    rows = read_manifest(path)
    assert [r["input"] for r in rows] == ["a.wav", "b.wav"]
    assert set(rows[0]) >= {"input", "status", "output", "report", "error", "seconds", "worker"}
    assert rows[0]["worker"] == "10.0.0.1:42" and rows[1]["error"] == "Bad."


def test_cli_usage_errors_exit_2(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("batch", tmp_path / "missing.wav", "-o", tmp_path / "out")
    assert code == 2 and "No such file or folder" in err and "Traceback" not in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli("batch", tmp_path / "empty", "-o", tmp_path / "out")
    assert code == 2 and "No audio files found" in err
    code, _, err = run_cli("batch", tmp_path / "empty", "-o", tmp_path / "o", "--workers", "-1")
    assert code == 2 and "--workers" in err
    code, _, err = run_cli("batch", tmp_path / "empty", "-o", tmp_path / "o", "--split-over", "5")
    assert code == 2 and "--split-over must be 0 (never) or at least 16 s" in err
    code, _, err = run_cli("batch", tmp_path / "empty", "-o", tmp_path / "o", "--bogus")
    assert code == 2  # typer's own usage error


def test_address_without_ray_says_what_to_install(run_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    wav = shutil.copy(Path(__file__), tmp_path / "x.wav")
    code, _, err = run_cli("batch", wav, "-o", tmp_path / "out", "--address", "10.0.0.1:6379")
    assert code != 0
    assert "pip install 'voxlate[scale]'" in err and "--address 10.0.0.1:6379" in err


def test_engine_threads_follow_omp_num_threads_as_ray_sets_it(monkeypatch) -> None:
    from voxlate.engines.threads import default_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # a Ray actor with num_cpus=1
    assert default_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "64")
    assert default_threads() == 4
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert 1 <= default_threads() <= 4


def test_unreachable_address_fails_fast_with_exit_2(run_cli, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"RIFF")
    code, _, err = run_cli("batch", wav, "-o", tmp_path / "out", "--address", "127.0.0.1:1")
    assert code == 2 and "Cannot reach the Ray cluster at 127.0.0.1:1" in err
