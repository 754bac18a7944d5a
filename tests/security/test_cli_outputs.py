"""Issue 15, CLI outputs: a command never destroys its input, checks its outputs before
the work, writes them all or none, and says "interrupted" (exit 130) on Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voxlate.errors import InputError
from voxlate.outputs import Output, check_outputs, write_outputs

needs_apertium = pytest.mark.skipif(
    shutil.which("apertium") is None, reason="apertium is not installed"
)


@pytest.fixture
def clip(librivox_clip, tmp_path) -> Path:
    """A private copy of a 7 s LibriVox clip, so a test may see it (not) overwritten."""
    p = tmp_path / "talk.wav"
    shutil.copy(librivox_clip, p)
    return p


def _no_temp_files(folder: Path) -> bool:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("flag", ["-o", "--report", "--srt"])
def test_output_equal_to_input_is_refused_before_any_work(run_cli, clip, flag):
    before = clip.read_bytes()
    args = ["translate", clip, flag, clip]
    if flag != "-o":
        args += ["-o", clip.with_name("out.wav")]
    code, _, err = run_cli(*args)
    assert code == 1 and "is also an input" in err and "Traceback" not in err
    assert "loading models" not in err  # refused before the work
    assert clip.read_bytes() == before


def test_two_equal_outputs_are_refused(run_cli, clip, tmp_path):
    out = tmp_path / "same.wav"
    code, _, err = run_cli("translate", clip, "-o", out, "--report", tmp_path / "." / "same.wav")
    assert code == 1 and "Two outputs are the same file" in err
    assert not out.exists()


def test_same_file_through_a_link_is_refused(clip, tmp_path):
    link = tmp_path / "link.wav"
    link.symlink_to(clip)
    with pytest.raises(InputError, match="also an input"):
        check_outputs([link], [clip])


def test_parent_is_a_file_is_refused_before_any_work(run_cli, clip, tmp_path):
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli("translate", clip, "-o", tmp_path / "afile" / "out.wav")
    assert code == 1 and "is a file, not a folder" in err
    assert "loading models" not in err and "Traceback" not in err


def test_output_is_a_folder_is_refused_before_any_work(run_cli, clip, tmp_path):
    (tmp_path / "adir").mkdir()
    code, _, err = run_cli("translate", clip, "-o", tmp_path / "adir")
    assert code == 1 and "it is a folder" in err and "loading models" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any folder")
def test_unwritable_folder_is_refused(clip, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(InputError, match="not writable"):
            check_outputs([ro / "out.wav"], [clip])
    finally:
        ro.chmod(0o700)


def test_unknown_audio_extension_is_refused_before_any_work(run_cli, clip, tmp_path):
    code, _, err = run_cli("translate", clip, "-o", tmp_path / "out.xyz")
    assert code == 1 and "Cannot write audio as .xyz" in err and "loading models" not in err


def test_missing_output_folders_are_fine(clip, tmp_path):
    assert check_outputs([tmp_path / "a" / "b" / "out.wav", None], [clip]) == [
        tmp_path / "a" / "b" / "out.wav"
    ]


def test_a_failing_output_leaves_every_old_file_in_place(tmp_path):
    wav, rep = tmp_path / "o.wav", tmp_path / "o.json"
    wav.write_bytes(b"old wav")
    rep.write_text("old report")

    def fail(p: Path) -> None:
        p.write_text("half a rep")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_outputs([Output(wav, lambda p: p.write_bytes(b"new wav")), Output(rep, fail)])
    assert wav.read_bytes() == b"old wav" and rep.read_text() == "old report"
    assert _no_temp_files(tmp_path)


def test_a_failing_rename_restores_the_outputs_already_replaced(tmp_path, monkeypatch):
    a, b, c = tmp_path / "a.wav", tmp_path / "b.json", tmp_path / "c.srt"
    a.write_text("old a")
    b.write_text("old b")
    real = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if Path(dst) == c:
            raise OSError(5, "I/O error")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    with pytest.raises(OSError):
        write_outputs([Output(p, lambda q, p=p: q.write_text("new")) for p in (a, b, c)])
    monkeypatch.setattr(os, "replace", real)
    assert a.read_text() == "old a" and b.read_text() == "old b" and not c.exists()
    assert _no_temp_files(tmp_path)


def test_all_outputs_appear_together(tmp_path):
    paths = [tmp_path / "x.wav", tmp_path / "sub" / "x.json"]
    write_outputs([Output(p, lambda q: q.write_text("new")) for p in paths])
    assert [p.read_text() for p in paths] == ["new", "new"]
    assert _no_temp_files(tmp_path)


@needs_apertium
def test_failed_report_keeps_the_old_wav(run_cli, clip, tmp_path, monkeypatch):
    """The report fails after the translation: the old wav is not replaced."""
    import voxlate.pipeline.dub_output as dub_output

    out, rep = tmp_path / "o.wav", tmp_path / "o.json"
    out.write_bytes(b"previous wav")

    def broken_dumps(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dub_output.json, "dumps", broken_dumps)
    with pytest.raises(OSError):
        run_cli(
            "translate",
            clip,
            "-o",
            out,
            "--report",
            rep,
            "--voice",
            "tts",
            "--enhance",
            "none",
            "-q",
        )
    assert out.read_bytes() == b"previous wav" and not rep.exists()
    assert _no_temp_files(tmp_path)


@needs_apertium
def test_ctrl_c_prints_interrupted_exits_130_and_keeps_old_outputs(clip, tmp_path):
    out = tmp_path / "o.wav"
    out.write_bytes(b"previous wav")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2] / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "voxlate", "translate", str(clip), "-o", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # interrupt it while the models load
        if "loading models" in proc.stderr.readline():
            break
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 130
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert out.read_bytes() == b"previous wav" and _no_temp_files(tmp_path)
