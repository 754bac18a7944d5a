"""The voice route (issue 23): every accepted ``--voice`` spelling reaches the pipeline as the
one `parse_voice` reads it, through each entry (CLI, REST, WebSocket, batch manifest); the
shared engine options have one help text in every command."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest

from voxlate.errors import InputError, VoxlateError
from voxlate.pipeline.voice.mode import VoiceMode, parse_voice

REF = "<ref>"  # replaced by a real clip's path


def spellings(ref: str) -> dict[str, VoiceMode]:
    """Every spelling the CLI accepts today, and what it means."""
    return {
        "preserve": VoiceMode("preserve"),
        "PRESERVE": VoiceMode("preserve"),
        " Preserve ": VoiceMode("preserve"),
        "tts": VoiceMode("tts"),
        "TTS": VoiceMode("tts"),
        "none": VoiceMode("tts"),
        "off": VoiceMode("tts"),
        "anonymize": VoiceMode("anonymize"),
        "Anonymize": VoiceMode("anonymize"),
        "preserve+world": VoiceMode("preserve", post="world"),
        "anonymize+WORLD": VoiceMode("anonymize", post="world"),
        "preserve+none": VoiceMode("preserve", post="none"),  # Kokoro's style alone (issue 24)
        ref: VoiceMode("reference", ref),
        f"{ref}+world": VoiceMode("reference", ref, "world"),
    }


REFUSED = ("robotic", "", "preserve+robot", "world")
SERVER_NAMES = ("preserve", "tts", "anonymize")  # the server takes these exactly, no files


def test_parse_voice_reads_each_spelling_once(librivox_clip):
    ref = str(librivox_clip)
    for text, mode in spellings(ref).items():
        assert parse_voice(text) == mode, text
        assert parse_voice(str(mode)) == mode  # the canonical spelling reads back the same
    for text in REFUSED:
        with pytest.raises(InputError, match="Unknown voice"):
            parse_voice(text)
    assert str(VoiceMode("reference", "a b.wav", "world")) == "a b.wav+world"


class Stop(VoxlateError):
    """Raised by the stubs once the entry has handed over its voice."""


@pytest.fixture
def seen(monkeypatch):
    """Engines.load, batch's run_batch and serve's first load record what they were given."""
    got: list[str] = []

    def load(specs, source, target, create=None):
        got.append(specs.voice)
        raise Stop("stub: no engines")

    def run_batch(inputs, out_dir, options, pool, progress=True):
        options.record()  # the manifest's record of the options parses the voice too
        got.append(options.specs.voice)
        raise Stop("stub: no batch")

    def load_now(self, source, target):
        got.append(self.specs.voice)
        raise Stop("stub: no server")

    monkeypatch.setattr("voxlate.pipeline.engines.Engines.load", load)
    monkeypatch.setattr("voxlate.batch.runner.run_batch", run_batch)
    monkeypatch.setattr("voxlate.server.pool.EnginePool.load_now", load_now)
    return got


def test_cli_entries_hand_over_the_one_parse(run_cli, seen, librivox_clip, tmp_path):
    ref = str(librivox_clip)
    out = str(tmp_path / "o.wav")
    commands = {
        "translate": ["translate", ref, "-o", out, "-q"],
        "live": ["live", "--input", ref, "-o", out],
        "batch": ["batch", ref, "-d", str(tmp_path / "b"), "-q"],
    }
    for name, args in commands.items():
        for text, mode in spellings(ref).items():
            seen.clear()
            code, _, err = run_cli(*args, "--voice", text)
            assert code == 1 and "stub" in err, (name, text, err)
            assert [parse_voice(v) for v in seen] == [mode], (name, text)
        for text in REFUSED:
            code, _, err = run_cli(*args, "--voice", text)
            assert code != 0 and err.startswith("error: Unknown voice"), (name, text, err)
    # serve: the named modes only, exactly as spelled
    for text, mode in spellings(ref).items():
        seen.clear()
        code, _, err = run_cli("serve", "--voice", text)
        if text in SERVER_NAMES:
            assert code == 1 and [parse_voice(v) for v in seen] == [mode], (text, err)
        else:
            assert code != 0 and "--voice must be one of: preserve, tts, anonymize" in err, text


def test_batch_manifest_records_a_reference_by_checksum(librivox_clip):
    from voxlate.batch.plan import BatchOptions
    from voxlate.pipeline.engines import EngineSpecs

    for voice in (str(librivox_clip), f"{librivox_clip}+world"):
        rec = BatchOptions("en", "es", EngineSpecs(voice=voice)).record()
        assert rec["specs"]["voice"] == voice and len(rec["voice_sha256"]) == 64
    assert "voice_sha256" not in BatchOptions("en", "es", EngineSpecs(voice="preserve")).record()


class StubPool:
    """What the REST and WebSocket entries call, up to the voice stage (then refused)."""

    max_pairs = 1

    def __init__(self) -> None:
        self.modes: list[VoiceMode] = []

    async def acquire(self, source: str, target: str) -> object:
        return SimpleNamespace(engines=SimpleNamespace(synthesizer=None))

    def release(self, pair: object) -> None:
        pass

    @asynccontextmanager
    async def using(self, source: str, target: str):  # type: ignore[no-untyped-def]
        yield object()

    def new_vad(self) -> None:
        return None

    async def acquire_voice(self, mode: VoiceMode, synthesizer: object = None) -> None:
        self.modes.append(mode)
        raise ImportError("stub: no voice stages")

    def release_voice(self, mode: VoiceMode, stage: object) -> None:
        pass

    def loaded_pairs(self) -> list:
        return []


def server_client(pool: StubPool):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from voxlate.server.app import create_app
    from voxlate.server.config import ServerConfig

    config = ServerConfig(voice="tts", preload=(), allow_hosts=("testserver",))
    return TestClient(create_app(config, pool))  # type: ignore[arg-type]


def test_rest_and_websocket_hand_over_the_one_parse(librivox, librivox_clip):
    clip = librivox[1][0].read_bytes()  # 3 s
    pool = StubPool()
    with server_client(pool) as client:
        for text, mode in spellings(str(librivox_clip)).items():
            pool.modes.clear()
            r = client.post(
                "/v1/translate", files={"file": ("a.wav", clip, "audio/wav")}, data={"voice": text}
            )
            assert r.status_code == 400
            if text in SERVER_NAMES:
                assert "not available" in r.json()["error"]["message"], text
                assert pool.modes == [mode], text
            else:
                assert "voice must be one of: preserve, tts, anonymize" in r.text, text
                assert pool.modes == [], text
        for text, mode in spellings(str(librivox_clip)).items():
            pool.modes.clear()
            with client.websocket_connect("/v1/live") as ws:
                assert ws.receive_json()["type"] == "ready"
                start = {"type": "start", "source": "en", "target": "es", "voice": text}
                ws.send_text(json.dumps(start))
                ev = ws.receive_json()
            assert ev["type"] == "error", text
            if text in SERVER_NAMES:
                assert "not available" in ev["message"] and pool.modes == [mode], (text, ev)
            else:
                assert "voice must be one of" in ev["message"] and pool.modes == [], (text, ev)


# -- one option set -------------------------------------------------------------------
def option_helps(name: str) -> dict[str, str]:
    """--flag -> help of every option of `voxlate NAME` (NAME may be 'bench translate')."""
    import typer

    from voxlate.cli import app

    cmd = typer.main.get_command(app)  # typer's click: duck-typed
    for part in name.split():
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    return {
        flag: p.help or ""
        for p in cmd.params
        if p.param_type_name == "option"
        for flag in p.opts
        if flag.startswith("--")
    }


MAIN = ("translate", "live", "serve", "batch")
SHARED = ("--source", "--target", "--voice", "--vad", "--enhance", "--enhance-mode", "--asr",
          "--mt", "--tts", "--end-silence", "--max-utterance")  # fmt: skip


def test_the_four_commands_show_the_same_help_for_each_shared_option():
    helps = {c: option_helps(c) for c in MAIN}
    for flag in SHARED:
        texts = {c: h[flag] for c, h in helps.items() if flag in h}
        assert len(texts) >= 3, (flag, texts)  # shared by most of them
        assert len(set(texts.values())) == 1, (flag, texts)
    # and the bench commands that take them (bench translate's --mt keeps apertium: its own)
    for bench in ("bench translate", "bench live", "bench batch"):
        h = option_helps(bench)
        for flag in set(SHARED) & set(h) - ({"--mt"} if bench == "bench translate" else set()):
            assert h[flag] == helps["translate"][flag], (bench, flag)


def test_help_text_shows_the_same_option_lines(run_cli):
    """The rendered --help: each shared option's text (defaults aside) is the same."""
    import re

    def lines(cmd: str) -> dict[str, str]:
        code, out, _ = run_cli(*cmd.split(), "--help")
        assert code == 0
        found: dict[str, str] = {}
        flag = None
        for ln in out.splitlines():
            m = re.match(r"\s+(?:-\w, )?(--[\w-]+)", ln)
            if m:
                flag = m.group(1)
                found[flag] = ""
            if flag:
                found[flag] += " " + ln.strip()
        return {
            f: re.sub(r"-\s+", "-", " ".join(re.sub(r"\[default: [^\]]*\]$", "", t).split()[2:]))
            for f, t in found.items()
        }

    texts = {c: lines(c) for c in MAIN}
    for flag in ("--voice", "--enhance", "--enhance-mode", "--asr", "--mt", "--tts"):
        assert len({texts[c][flag] for c in MAIN if flag in texts[c]}) == 1, flag
