"""Issue 16, conventions users expect: help with defaults, --version, exit codes,
- for stdin/stdout, output format by extension, transcribe's formats and folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import voxlate
from voxlate.audio import Audio, load_audio, save_audio
from voxlate.errors import InputError

SRC = str(Path(__file__).parents[1] / "src")


def _commands():
    from voxlate.cli import app
    from voxlate.cli.conventions import build_command

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    return list(walk(build_command(app), []))


def test_version(run_cli):
    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"voxlate {voxlate.__version__}"


def test_translate_help_shows_every_default(run_cli):
    code, out, _ = run_cli("translate", "--help")
    assert code == 0
    assert "Usage: voxlate translate [OPTIONS] INPUT" in out
    assert "[default: INPUT.TARGET.wav" in out  # was swallowed as Rich markup
    for d in ("[default: en]", "[default: es]", "[default: preserve]", "[default: 0.4]"):
        assert d in " ".join(out.split()), d
    assert "{input}" not in out and "<bool>" not in out and "<path>" not in out


def test_every_command_has_conventional_usage_and_defaults(run_cli):
    commands = _commands()
    assert len(commands) > 20
    for path, cmd in commands:
        code, out, _ = run_cli(*path, "--help")
        assert code == 0, path
        usage = out.split("\n\n")[0]
        assert "{" not in usage and "<" not in usage, (path, usage)
        flat = " ".join(out.split())
        for p in cmd.params:
            if p.param_type_name != "option" or getattr(p, "is_flag", False) or p.hidden:
                continue
            if p.default is not None and p.default != [] and not callable(p.default):
                # opts[0]: the last spelling may be an old one, hidden (HIDDEN_ALIASES)
                assert p.opts[0] in flat and "[default:" in flat, (path, p.name)


def test_exit_codes(run_cli, tmp_path):
    assert run_cli("translate", "--no-such-option")[0] == 2  # usage
    assert run_cli("translate")[0] == 2  # missing argument
    assert run_cli("translate", tmp_path / "missing.wav")[0] == 1  # runtime failure
    silent = tmp_path / "silent.wav"
    save_audio(silent, Audio.silence(1.0, 16_000))
    code, _, err = run_cli("transcribe", silent, "-l", "en", "-q")
    assert code == 3 and "no speech" in err.lower()


@pytest.mark.parametrize(
    "ext, magic",
    [
        ("wav", b"RIFF"),
        ("flac", b"fLaC"),
        ("ogg", b"OggS"),
        ("opus", b"OggS"),
        ("mp3", None),
        ("m4a", None),
    ],
)
def test_output_format_follows_the_extension(ext, magic, librivox_clip, tmp_path):
    if ext in ("opus", "mp3", "m4a") and shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    clip = load_audio(librivox_clip).slice(0, 3.0).resample(22_050)
    out = tmp_path / f"x.{ext}"
    save_audio(out, clip)
    head = out.read_bytes()[:12]
    if magic is not None:
        assert head.startswith(magic)
    if ext == "mp3":
        assert head[:3] == b"ID3" or head[0] == 0xFF
    if ext == "m4a":
        assert head[4:8] == b"ftyp"
    back = load_audio(out, 16_000)
    assert back.duration == pytest.approx(3.0, abs=0.1)
    a, b = clip.resample(16_000).samples, back.samples
    n = min(len(a), len(b))
    assert np.corrcoef(a[: n - 2000], b[: n - 2000])[0, 1] > 0.8 or ext in ("mp3", "m4a", "opus")
    assert float(np.sqrt(np.mean(b**2))) > 0.01  # not silent


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"Cannot write audio as \.xyz"):
        save_audio(tmp_path / "x.xyz", Audio.silence(0.1, 16_000))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_translate_reads_stdin_and_writes_stdout(librivox_clip, tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC)
    rep = tmp_path / "r.json"
    args = ["translate", "-", "--voice", "tts", "--enhance", "none", "--report", str(rep)]
    proc = subprocess.run(
        [sys.executable, "-m", "voxlate", *args],
        stdin=open(librivox_clip, "rb"),
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout[:4] == b"RIFF" and len(proc.stdout) > 100_000
    err = proc.stderr.decode()
    assert "loading models" in err and "faster-whisper" in err and "-> stdout" in err
    # one bar per pass, advanced per utterance, counted in seconds of speech
    assert "recognizing" in err and "speaking" in err and "/6.8 s of speech" in err
    assert json.loads(rep.read_text())["input"] == "-"


def test_transcribe_several_inputs_every_format(librivox, tmp_path, run_cli):
    import srt
    import webvtt

    a, b = librivox[0][0], librivox[1][0]
    out = tmp_path / "subs"
    code, _, err = run_cli(
        "transcribe", a, b, "-l", "en", "--output-format", "all", "--output-dir", out, "-q"
    )
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"{p.stem}.{f}" for p in (a, b) for f in ("txt", "srt", "vtt", "tsv", "json")
    )
    stem = a.stem
    text = (out / f"{stem}.txt").read_text().strip()
    assert "dashwood" in text.lower()
    subs = list(srt.parse((out / f"{stem}.srt").read_text()))
    vtt = webvtt.from_string((out / f"{stem}.vtt").read_text())
    assert subs and len(vtt.captions) == len(subs)
    assert vtt.captions[0].text == subs[0].content
    tsv = (out / f"{stem}.tsv").read_text().splitlines()
    assert tsv[0] == "start\tend\ttext" and int(tsv[1].split("\t")[1]) > int(tsv[1].split("\t")[0])
    assert json.loads((out / f"{stem}.json").read_text())["text"] == text


def test_transcribe_one_format_and_refusals(librivox, tmp_path, run_cli):
    a, b = librivox[0][0], librivox[1][0]
    code, _, err = run_cli("transcribe", a, "-l", "en", "-f", "vtt", "-d", tmp_path, "-q")
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == [f"{a.stem}.vtt"]
    code, _, err = run_cli("transcribe", a, "-l", "en", "-f", "docx", "-d", tmp_path)
    assert code == 1 and "--output-format takes" in err
    code, _, err = run_cli("transcribe", a, b, "-l", "en", "-o", tmp_path / "x.txt")
    assert code == 1 and "use --output-dir for several" in err
    code, _, err = run_cli("transcribe", a, a, "-l", "en", "-d", tmp_path / "d")
    assert code == 1 and "Two outputs are the same file" in err
    assert not (tmp_path / "d").exists()


def test_no_command_writes_into_docs_or_src_by_default():
    """Bench/eval write a table or figure only where told; export never targets src/."""
    for path, cmd in _commands():
        for p in cmd.params:
            d = p.default
            if isinstance(d, (str, Path)) and str(d).split("/")[0] in ("docs", "src"):
                pytest.fail(f"voxlate {' '.join(path)} {p.opts[-1]} defaults to {d}")
        names = {o for p in cmd.params for o in getattr(p, "opts", [])}
        if path[0] in ("bench", "eval") and path != ["bench", "render"]:  # render: a page
            append = [p for p in cmd.params if "--append" in getattr(p, "opts", [])]
            assert append and append[0].default is None, path
            assert "--append" in names


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_bench_prints_and_writes_only_where_told(librivox_clip, tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)
    args = ["bench", "translate", librivox_clip, "--voice", "tts", "--enhance", "none"]
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "| " in out  # the table is printed
    assert list(tmp_path.iterdir()) == []  # nothing written
    code, out, err = run_cli(*args, "--append", tmp_path / "log.md")
    assert code == 0, err
    log = (tmp_path / "log.md").read_text()
    assert "## bench translate" in log and "| " in log
    assert (
        "voxlate bench translate" in (tmp_path / "benchmarks" / "bench-translate.jsonl").read_text()
    )


def _no_sound_device() -> bool:
    try:
        import sounddevice as sd

        sd.check_input_settings(samplerate=16_000, channels=1, dtype="float32")
    except ImportError:
        return False  # another test covers the missing package
    except Exception:
        return True
    return False


@pytest.mark.skipif(not _no_sound_device(), reason="this machine has a usable microphone")
@pytest.mark.parametrize("extra", [[], ["-o", "out.wav"]])
def test_live_mic_without_a_device_fails_at_once(extra, tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC)
    proc = subprocess.run(
        [sys.executable, "-m", "voxlate", "live", "--mic", *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,  # it used to hang with -o
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: No usable microphone") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "loading models" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_dash_o_always_means_output():
    for path, cmd in _commands():
        for p in cmd.params:
            opts = getattr(p, "opts", [])
            if "-o" in opts:
                assert "--output" in opts, (path, opts)


def test_enhance_pipes_stdin_to_stdout_and_flac(librivox_clip, tmp_path):
    env = dict(os.environ, PYTHONPATH=SRC)
    cmd = [sys.executable, "-m", "voxlate", "enhance", "run", "-", "--engine", "spectral"]
    with open(librivox_clip, "rb") as f:
        proc = subprocess.run([*cmd, "-o", "-"], stdin=f, capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout[:4] == b"RIFF" and len(proc.stdout) > 200_000
    out = tmp_path / "clean.flac"
    with open(librivox_clip, "rb") as f:
        proc = subprocess.run(
            [*cmd, "-o", str(out)], stdin=f, capture_output=True, env=env, timeout=120
        )
    assert proc.returncode == 0 and out.read_bytes()[:4] == b"fLaC"
    assert load_audio(out).duration == pytest.approx(load_audio(librivox_clip).duration, abs=0.01)


def test_root_help_lists_exit_codes(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0 and "Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 no speech" in out


def test_numba_caches_into_voxlates_cache_not_site_packages(run_cli, monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("VOXLATE_CACHE", str(tmp_path))
    assert run_cli("--version")[0] == 0
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "numba")
