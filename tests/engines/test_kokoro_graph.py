"""Kokoro's edge edit (issue 26): shorter calls that keep the first and the last word."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from voxlate.engines.tts import kokoro, kokoro_graph
from voxlate.engines.tts.kokoro import SAMPLE_RATE, KokoroSynthesizer, trim
from voxlate.engines.tts.kokoro_graph import CAP_INPUT, HEAD_FRAMES, LAST_FRAMES, NO_CAP

EDGE_S = 0.15  # the start and the end of the speech that must be as loud as unedited


@pytest.fixture(scope="module")
def engine() -> KokoroSynthesizer:
    k = KokoroSynthesizer(threads=1)
    assert k.edited, "the edge edit was not made"
    return k


def generated(engine: KokoroSynthesizer, text: str, language: str, trim_edges: bool):
    (piece,) = engine.phonemizer.pieces(text, language)
    engine.trim_edges = trim_edges
    try:
        return engine.generate(piece)
    finally:
        engine.trim_edges = True


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def test_frame_caps_hold_the_edges_only():
    silent = {4, 16}  # ".", " "
    caps = kokoro_graph.frame_caps([50, 16, 51, 4], silent)  # pad a _ b . pad
    assert caps.tolist() == [[HEAD_FRAMES, NO_CAP, NO_CAP, LAST_FRAMES, 0, 0]]
    caps = kokoro_graph.frame_caps([50, 51], silent)  # no final mark: the last sound whole
    assert caps.tolist() == [[HEAD_FRAMES, NO_CAP, NO_CAP, 0]]
    caps = kokoro_graph.frame_caps([50, 4, 16], silent)  # two silent tokens at the end
    assert caps.tolist() == [[HEAD_FRAMES, LAST_FRAMES, 0, 0, 0]]
    assert kokoro_graph.frame_caps([4], silent).tolist() == [[HEAD_FRAMES, NO_CAP, 0]]


@pytest.mark.parametrize(
    ("text", "language"), [("Buenos días a todos.", "es"), ("Merci beaucoup", "fr")]
)
def test_edited_call_is_shorter_and_keeps_both_ends(engine, text, language):
    edited = generated(engine, text, language, True)
    shipped = generated(engine, text, language, False)
    assert len(edited) < 0.8 * len(shipped)  # ~1 s less of silence made (~45 % of it)
    a, b = trim(edited), trim(shipped)
    assert len(a) > 0.85 * len(b)  # the speech itself is (nearly) as long
    n = int(EDGE_S * SAMPLE_RATE)
    # the first and the last word are not faded (capping the durations themselves made
    # Whisper hear "Os días" for "Buenos días": the first word faded out)
    assert rms(a[:n]) > 0.5 * rms(b[:n])
    assert rms(a[-n:]) > 0.5 * rms(b[-n:])
    loud = np.flatnonzero(np.abs(edited) > kokoro.TRIM_THRESHOLD)
    was = np.flatnonzero(np.abs(shipped) > kokoro.TRIM_THRESHOLD)
    assert loud[0] < n < was[0]  # leading silence made: ~0.15 s, was ~0.4 s
    # trailing: ~0.35 s without a final mark (the last sound is kept whole), ~0.2 s with one
    assert len(edited) - loud[-1] < len(shipped) - was[-1] - 0.1 * SAMPLE_RATE


def test_uncapped_edited_graph_is_the_shipped_model(engine):
    import onnxruntime as ort

    (piece,) = engine.phonemizer.pieces("Hola, amigo.", "es")
    ids = piece.ids
    feeds = {
        "tokens": np.array([[0, *ids, 0]], np.int64),
        "style": engine.style_for(len(ids)).reshape(1, 256),
        "speed": np.array([1.0], np.float32),
    }
    shipped = ort.InferenceSession(str(kokoro.model_file()), providers=["CPUExecutionProvider"])
    want = shipped.run(None, feeds)[0].ravel()
    engine.trim_edges = False
    got = engine.generate(piece)
    engine.trim_edges = True
    assert len(got) == len(want)
    assert np.allclose(got, np.clip(want, -1, 1), atol=1e-4)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of the shipped model in a folder of its own, and its SHA-256."""
    folder = tmp_path_factory.mktemp("kokoro")
    path = folder / kokoro.MODEL_FILE
    shutil.copyfile(kokoro.model_file(), path)
    return path, kokoro._data("model.sha256").read_text().strip()


def test_corrupt_cached_edit_is_rebuilt(source, capsys):
    path, sha = source
    out = kokoro_graph.cached_edit(path, sha)
    assert out.parent == path.parent and out.name.startswith("kokoro-edges")
    good = out.read_bytes()
    capsys.readouterr()
    assert kokoro_graph.cached_edit(path, sha) == out  # kept: nothing said
    assert capsys.readouterr().err == ""
    with open(out, "r+b") as f:  # a flipped byte in the middle of the weights
        f.seek(len(good) // 2)
        f.write(bytes([good[len(good) // 2] ^ 0xFF]))
    assert kokoro_graph.cached_edit(path, sha) == out
    assert "rebuilding the edited Kokoro model" in capsys.readouterr().err
    assert out.read_bytes() == good
    record = out.with_name(out.name + ".json")  # a record of another edit version
    record.write_text(json.dumps({**json.loads(record.read_text()), "version": 0}))
    kokoro_graph.cached_edit(path, sha)
    assert json.loads(record.read_text())["version"] == kokoro_graph.EDIT_VERSION


def test_failed_edit_falls_back_to_the_shipped_graph(monkeypatch, capsys):
    def broken(model):  # type: ignore[no-untyped-def]
        raise kokoro_graph.GraphEditError("no durations here")

    monkeypatch.setattr(kokoro_graph, "edit", broken)
    monkeypatch.setattr(kokoro_graph, "EDIT_VERSION", 999)  # not the cached file
    monkeypatch.setattr(kokoro, "_sessions", {})
    k = KokoroSynthesizer(threads=1)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no durations here" in err
    assert not k.edited
    assert CAP_INPUT not in {i.name for i in k._session.get_inputs()}
    assert next(k.synthesize("Hola.", "es")).duration > 0.2


def test_the_edit_can_be_turned_off(monkeypatch, capsys):
    monkeypatch.setenv(kokoro.EDGES_ENV, "0")
    session = kokoro._session(1)
    assert CAP_INPUT not in {i.name for i in session.get_inputs()}
    assert capsys.readouterr().err == ""


def test_unloadable_edit_falls_back_to_the_shipped_graph(monkeypatch, tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    monkeypatch.setattr(kokoro_graph, "cached_edit", lambda source, sha: bad)
    session = kokoro._session(1)
    assert "Kokoro runs its shipped graph" in capsys.readouterr().err
    assert CAP_INPUT not in {i.name for i in session.get_inputs()}


@pytest.mark.slow
def test_whisper_hears_the_first_and_last_word(engine):
    from voxlate.audio import Audio
    from voxlate.eval.asr_bleu import judge_speech, load_judge
    from voxlate.text.normalize import normalize_text

    judge = load_judge()
    pad = np.zeros(SAMPLE_RATE // 2, np.float32)
    for text, language in [("Buenos días a todos.", "es"), ("Merci beaucoup", "fr")]:
        (chunk,) = engine.synthesize(text, language)
        heard = normalize_text(
            judge_speech(judge, Audio(np.concatenate([pad, chunk.samples, pad]), SAMPLE_RATE),
                         language)
        ).split()  # fmt: skip
        words = normalize_text(text).split()
        assert heard[:1] == words[:1] and heard[-1:] == words[-1:], heard
