"""`voxlate render`: re-creating a dub from its edited report re-synthesises only what changed.

A two-speaker English recording (a LibriVox reader and the cards speaker of
pocketsphinx-testdata) is translated to Spanish once per module, in each speaker's own
voice, with a synthesizer that counts its calls; each test edits a copy of the report.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio, save_audio
from voxlate.pipeline.clip_cache import CACHE_FOLDER, ClipCache


class SpySynthesizer:
    """A synthesizer that counts `synthesize` calls (and the texts) of the one it wraps."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts: list[str] = []

    def languages(self):
        return self.inner.languages()

    def synthesize(self, text: str, language: str, **kw):
        self.texts.append(text)
        return self.inner.synthesize(text, language, **kw)


@pytest.fixture(scope="module")
def dubbed(tmp_path_factory, librivox, cards):
    """(folder, report dict, spy) after `translate_file` with a report and subtitles."""
    from voxlate.pipeline.engines import Engines, EngineSpecs
    from voxlate.pipeline.file import FileTranslator, translate_file

    pytest.importorskip("resemblyzer")
    folder = tmp_path_factory.mktemp("render")
    pause = Audio.silence(1.2, SAMPLE_RATE)
    parts = [pause]
    for path in (librivox[1][0], cards[0][0], librivox[4][0], cards[2][0]):
        parts += [load_audio(path, SAMPLE_RATE), pause]
    save_audio(folder / "talk.wav", concatenate(parts, SAMPLE_RATE))
    specs = EngineSpecs(voice="preserve", enhance="none", tts="espeak-ng", mt="apertium")
    engines = Engines.load(specs, "en", "es")
    spy = SpySynthesizer(engines.synthesizer)
    engines = replace(engines, synthesizer=spy)
    t = FileTranslator(
        engines, progress=False, speakers=2, cache=ClipCache(folder / "cache" / CACHE_FOLDER)
    )
    rep = translate_file(
        t, folder / "talk.wav", folder / "talk.es.wav", folder / "talk.es.json", folder / "t.srt"
    )
    return folder, rep, spy


@pytest.fixture
def render_env(dubbed, monkeypatch):
    """Render with the module's cache, counting the synthesizer's calls."""
    import voxlate.pipeline.engines as eng

    folder, rep, _ = dubbed
    monkeypatch.setenv("VOXLATE_CACHE", str(folder / "cache"))
    made: list[SpySynthesizer] = []
    real = eng.create_engine

    def create(kind: str, spec: str):
        e = real(kind, spec)
        if kind == "tts":
            e = SpySynthesizer(e)
            made.append(e)
        return e

    monkeypatch.setattr(eng, "create_engine", create)

    def calls() -> int:
        return sum(len(s.texts) for s in made)

    return folder, rep, calls


def _write(path: Path, rep: dict) -> Path:
    path.write_text(json.dumps(rep, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_report_has_speakers_timing_and_what_render_needs(dubbed) -> None:
    _, rep, spy = dubbed
    assert rep["report_version"] == 2
    assert rep["specs"] == {"tts": "espeak-ng", "voice": "preserve"}
    segs = rep["segments"]
    assert len(segs) == 4
    assert [s["speaker"] for s in segs] == ["S1", "S2", "S1", "S2"]
    table = {s["label"]: s for s in rep["speakers"]}
    assert set(table) == {"S1", "S2"} and table["S1"]["segments"] == 2
    assert table["S1"]["speech_s"] > table["S2"]["speech_s"] > 0
    assert "world fitted on" in table["S1"]["voice"]
    assert table["S1"]["utterances"] == [0, 2]
    for s in segs:
        assert 1.0 <= s["speed"] <= 1.25
        assert s["shift_s"] == pytest.approx(s["output_start"] - s["start"], abs=0.002)
        assert s["shortened"] is False  # Apertium cannot shorten
    assert rep["synthesized"] == 4 and len(spy.texts) == 4


def test_render_unchanged_synthesises_nothing_and_one_edit_one_segment(render_env, run_cli) -> None:
    folder, rep, calls = render_env
    report = _write(folder / "same.json", rep)
    code, _, err = run_cli(
        "render", report, "-o", folder / "same.wav", "--report", folder / "s2.json"
    )
    assert code == 0, err
    assert calls() == 0
    assert json.loads((folder / "s2.json").read_text())["synthesized"] == 0
    a = load_audio(folder / "same.wav")
    b = load_audio(folder / "talk.es.wav")
    assert a.duration == pytest.approx(b.duration, abs=0.01)

    edited = json.loads(json.dumps(rep))
    edited["segments"][1]["translation"] = "Diez de tréboles, por favor."
    code, _, err = run_cli("render", _write(folder / "one.json", edited), "-o", folder / "one.wav")
    assert code == 0, err
    assert calls() == 1
    assert "1 synthesised again" in err

    moved = json.loads(json.dumps(rep))
    moved["segments"][0]["speaker"] = "S2"  # the first line in the other speaker's voice
    code, _, err = run_cli("render", _write(folder / "moved.json", moved), "-o", folder / "m.wav")
    assert code == 0, err
    assert calls() == 2


def test_render_takes_edits_from_the_translated_srt(render_env, run_cli) -> None:
    import srt

    folder, rep, calls = render_env
    cues = list(srt.parse((folder / "t.srt").read_text(encoding="utf-8")))
    assert len(cues) == 4
    cues[2].content = "Podría incluso haber sido amable."
    (folder / "edit.srt").write_text(srt.compose(cues), encoding="utf-8")
    report = _write(folder / "srt.json", rep)
    code, _, err = run_cli(
        "render", report, "-o", folder / "srt.wav", "--srt-edits", folder / "edit.srt"
    )
    assert code == 0, err
    assert calls() == 1


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda r: r["segments"][2].update(speaker="S9"), "Segment 3 (at "),
        (lambda r: r["segments"][1].pop("translation"), "Segment 2 (at "),
        (lambda r: r["segments"][3].update(translation=["hola"]), "Segment 4 (at "),
        (lambda r: r["segments"][0].update(voice="nonsense-voice"), "Segment 1 (at "),
        (lambda r: r["segments"][1].update(voice="/nonexistent/ref.wav"), "Segment 2 (at "),
        (lambda r: r.update(report_version=1), "version 2"),
    ],
)
def test_a_bad_edit_is_one_sentence_exit_2_and_nothing_written(
    render_env, run_cli, edit, says
) -> None:
    folder, rep, calls = render_env
    bad = json.loads(json.dumps(rep))
    edit(bad)
    out = folder / "bad.wav"
    code, _, err = run_cli("render", _write(folder / "bad.json", bad), "-o", out)
    assert code == 2
    assert says in err and err.startswith("error:")
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and calls() == 0


def test_a_json_syntax_error_names_the_line(render_env, run_cli) -> None:
    folder, rep, _ = render_env
    text = json.dumps(rep, indent=2).replace('"speaker": "S2"', '"speaker": S2', 1)
    (folder / "syntax.json").write_text(text, encoding="utf-8")
    code, _, err = run_cli("render", folder / "syntax.json", "-o", folder / "x.wav")
    assert code == 2 and "line" in err and len(err.strip().splitlines()) == 1
    assert not (folder / "x.wav").exists()


def test_the_report_cannot_name_a_model_path(render_env, run_cli) -> None:
    folder, rep, _ = render_env
    bad = json.loads(json.dumps(rep))
    bad["specs"]["tts"] = "piper:/tmp/evil.onnx"
    code, _, err = run_cli("render", _write(folder / "evil.json", bad), "-o", folder / "e.wav")
    assert code == 2 and "--tts" in err
    assert not (folder / "e.wav").exists()


def test_cache_refuses_a_damaged_clip(tmp_path) -> None:
    import numpy as np

    from voxlate.pipeline.clip_cache import clip_key

    cache = ClipCache(tmp_path)
    k = clip_key("hola", "es", "espeak-ng", "tts", "")
    cache.put(k, Audio(np.ones(100, np.float32) * 0.1, 22_050))
    assert cache.get(k) is not None
    other = clip_key("adiós", "es", "espeak-ng", "tts", "")
    (tmp_path / f"{other}.npz").write_bytes((tmp_path / f"{k}.npz").read_bytes())
    assert cache.get(other) is None  # names another key
    (tmp_path / f"{k}.npz").write_bytes(b"junk")
    assert cache.get(k) is None


@pytest.mark.slow
def test_kokoro_styles_render_from_the_cache_with_two_speakers(run_cli, dubbed, monkeypatch):
    """The default Spanish synthesizer (Kokoro) speaks each speaker in a style fitted on
    all their speech; an immediate render re-synthesises nothing."""
    folder, _, _ = dubbed
    monkeypatch.setenv("VOXLATE_CACHE", str(folder / "kcache"))
    rep = folder / "k.json"
    code, _, err = run_cli(
        "translate", folder / "talk.wav", "-o", folder / "k.wav", "--report", rep,
        "--speakers", "2", "--enhance", "none", "--mt", "apertium", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    r = json.loads(rep.read_text())
    assert [s["speaker"] for s in r["segments"]] == ["S1", "S2", "S1", "S2"]
    assert all(s["voice"].startswith("kokoro style") for s in r["speakers"])
    # Two voices: each speaker's two lines are more alike than lines of different speakers.
    from voxlate.engines.voice import ENCODERS

    enc = ENCODERS.create("resemblyzer")
    out = load_audio(folder / "k.wav")
    e = [enc.embed(out.slice(s["output_start"], s["output_end"])) for s in r["segments"]]
    same = min(float(e[0] @ e[2]), float(e[1] @ e[3]))
    other = max(float(e[0] @ e[1]), float(e[2] @ e[3]), float(e[0] @ e[3]), float(e[1] @ e[2]))
    assert same > other, (same, other)
    code, _, err = run_cli("render", rep, "-o", folder / "k2.wav")
    assert code == 0, err
    assert "0 synthesised again" in err
