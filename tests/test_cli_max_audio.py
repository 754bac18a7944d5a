"""`--max-audio-minutes`: one option, one default, on every command that decodes audio.

A tiny cap (0.01 min = 0.6 s) on the 7 s LibriVox clip must stop each command with one
sentence, exit 1 (an input the command cannot use, as for a missing file), and write
nothing; the cap is checked while decoding, before any model loads.
"""

from __future__ import annotations

import click
import pytest

from voxlate.cli.conventions import MAX_AUDIO_MINUTES, build_command, max_seconds

# Every command that decodes a user's audio file.
DECODING_COMMANDS = [
    ("translate",),
    ("transcribe",),
    ("enhance", "run"),
    ("voice", "anonymize"),
    ("voice", "similarity"),
    ("voice", "embed"),
    ("speakers", "embed"),
    ("live",),
    ("batch",),
    ("asr", "transcribe"),
    ("st", "translate"),
]
TOO_LONG = "longer than the limit of 0.01 minutes"


def _command(path: tuple[str, ...]) -> click.Command:
    from voxlate.cli import app

    cmd = build_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize("path", DECODING_COMMANDS, ids=" ".join)
def test_every_decoding_command_has_the_same_cap(path):
    opts = {o: p for p in _command(path).params for o in getattr(p, "opts", [])}
    assert "--max-audio-minutes" in opts, path
    p = opts["--max-audio-minutes"]
    assert p.default == MAX_AUDIO_MINUTES == 240.0
    assert "0: no limit" in p.help


def test_max_seconds():
    assert max_seconds(0.0) is None  # 0: no limit
    assert max_seconds(1.5) == 90.0


def test_the_default_and_the_cap_show_in_help(run_cli):
    code, out, _ = run_cli("translate", "--help")
    assert code == 0 and "--max-audio-minutes MINUTES" in out and "[default: 240.0" in out


def test_a_negative_cap_is_a_usage_error(run_cli, librivox_clip, tmp_path):
    code, _, err = run_cli("transcribe", librivox_clip, "--max-audio-minutes", "-1")
    assert code == 2 and "--max-audio-minutes" in err


@pytest.mark.parametrize(
    "args, written",
    [
        (("translate", "{clip}", "-o", "{tmp}/out.wav", "--report", "{tmp}/r.json"), True),
        (("transcribe", "{clip}", "-l", "en", "-d", "{tmp}"), True),
        (("enhance", "run", "{clip}", "-o", "{tmp}/out.wav", "--engine", "spectral"), True),
        (("enhance", "{clip}", "-o", "{tmp}/out.flac"), True),
        (("voice", "anonymize", "{clip}", "-o", "{tmp}/out.wav"), True),
        (("voice", "similarity", "{clip}", "{clip}"), False),
        (("voice", "embed", "{dir}", "-o", "{tmp}/e.npz"), True),
        (("speakers", "embed", "{dir}", "-o", "{tmp}/e.npz"), True),
        (("live", "--input", "{clip}", "-o", "{tmp}/out.wav"), True),
        (("asr", "transcribe", "{clip}", "-m", "{tmp}/none.pt"), False),
        (("st", "translate", "{clip}", "-m", "{tmp}/none.pt"), False),
    ],
    ids=lambda a: " ".join(x for x in a if x.isalpha()) if isinstance(a, tuple) else "",
)
def test_over_the_cap_one_sentence_exit_1_nothing_written(
    args, written, run_cli, librivox_clip, tmp_path
):
    out = tmp_path / "out"
    out.mkdir()
    folder = librivox_clip.parent
    argv = [a.format(clip=librivox_clip, tmp=out, dir=folder) for a in args]
    code, stdout, err = run_cli(*argv, "--max-audio-minutes", "0.01")
    assert code == 1, err
    assert err.strip().splitlines()[-1].startswith(f"error: {librivox_clip}")
    assert TOO_LONG in err and "Traceback" not in err
    assert list(out.iterdir()) == []  # nothing written
    assert stdout == ""


def test_under_the_cap_the_command_runs(run_cli, librivox_clip, tmp_path):
    out = tmp_path / "out.wav"
    code, _, err = run_cli(
        "enhance", librivox_clip, "-o", out, "--engine", "spectral", "--max-audio-minutes", "0.2"
    )
    assert code == 0, err
    assert out.stat().st_size > 100_000  # 7 s of 16-bit audio at 16 kHz and more
    code, _, err = run_cli(
        "enhance", librivox_clip, "-o", out, "--engine", "spectral", "--max-audio-minutes", "0"
    )
    assert code == 0, err


def test_batch_passes_the_cap_to_its_workers(run_cli, librivox_clip, tmp_path, monkeypatch):
    import voxlate.batch.runner as runner
    from voxlate.batch.discover import BatchItem
    from voxlate.batch.plan import BatchOptions
    from voxlate.batch.worker import BatchWorker, Job

    seen = []
    monkeypatch.setattr(
        runner, "run_batch", lambda inputs, out, options, *a, **k: seen.append(options)
    )
    with pytest.raises(AttributeError):  # the stub returns no summary
        run_cli("batch", librivox_clip, "-o", tmp_path / "b", "--max-audio-minutes", "0.01")
    assert seen and seen[0].max_audio_s == pytest.approx(0.6)
    assert "max_audio_s" not in seen[0].record()  # raising the cap redoes nothing

    # The worker: the input fails while decoding, before any engine runs; nothing written.
    worker = BatchWorker(BatchOptions("en", "es", max_audio_s=0.6))
    worker.translator = object()  # never reached
    item = BatchItem(librivox_clip, tmp_path / "o.es.wav", tmp_path / "o.es.json", None)
    outcome = worker.run(Job(item, "0" * 64))
    assert not outcome.ok and TOO_LONG in outcome.error
    assert not item.output.exists() and not item.report.exists()
