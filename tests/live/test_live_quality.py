"""`voxlate bench live --asr-bleu N`: the live output's ASR-BLEU against the file output's."""

from __future__ import annotations

import asyncio
import re
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from voxlate.audio import Audio
from voxlate.bench.live_quality import (
    Output,
    collect,
    compare,
    comparison_table,
    examples,
    join_chunks,
    reference_lines_for,
)
from voxlate.bench.report import voice_counts
from voxlate.errors import InputError, UnsupportedLanguageError
from voxlate.eval.asr_bleu import RefLine
from voxlate.pipeline.stream_events import (
    AudioOut,
    ErrorEvent,
    Latency,
    SpeechEnded,
    Transcript,
    Translation,
)


def tone(seconds: float, rate: int, value: float) -> Audio:
    return Audio(np.full(int(seconds * rate), value, np.float32), rate)


async def fake_stream():
    """A live stream's events for two utterances, the second spoken by a 24 kHz voice."""
    yield SpeechEnded(0, 0.5, 1.5)
    yield Transcript(0, "Look at that.", "en")
    yield Translation(0, "Mira eso.", "es")
    yield AudioOut(0, tone(0.5, 16_000, 0.1))
    yield AudioOut(0, tone(0.25, 16_000, 0.2))
    yield Latency(0, 0.4, 0.3, voice="pack")
    yield ErrorEvent("the synthesizer failed", 1)
    yield Translation(1, "  ", "es")  # nothing to say: not in the text
    yield Translation(2, "Adiós.", "es")
    yield AudioOut(2, tone(0.5, 24_000, 0.3))
    yield Latency(2, 0.5, 0.3, voice="style")
    yield Latency(3, None, 0.3, voice="style")  # nothing said: no voice


def test_collect_joins_every_chunk_in_order_at_one_rate_and_the_translations():
    out = asyncio.run(collect(fake_stream()))
    assert out.text == "Mira eso. Adiós."
    assert out.errors == 1
    assert out.voices == ("pack", "style")
    assert out.speech is not None and out.speech.sample_rate == 24_000
    assert out.speech.duration == pytest.approx(1.25, abs=0.01)
    x = out.speech.samples
    # in order: the two 16 kHz chunks (resampled), then the 24 kHz one
    assert x[len(x) // 4] == pytest.approx(0.1, abs=0.02)
    assert x[int(len(x) * 0.5)] == pytest.approx(0.2, abs=0.02)
    assert x[-len(x) // 8] == pytest.approx(0.3, abs=0.02)


def test_voice_counts_most_first():
    assert voice_counts(["pack", "style", "pack"]) == "pack 2, style 1"
    assert voice_counts([]) == "none"


def test_join_chunks_of_nothing_is_no_speech():
    assert join_chunks([]) is None
    assert join_chunks([Audio(np.zeros(0, np.float32), 16_000)]) is None


class EarJudge:
    """A judge that hears the reference in speech louder than 0.15, else a wrong line."""

    def __init__(self, refs: dict[float, str]) -> None:
        self.refs = refs
        self.calls = 0

    def transcribe(self, audio: Audio, language: str):
        self.calls += 1
        assert language == "es"
        level = float(np.abs(audio.samples).max())
        return SimpleNamespace(text=self.refs[round(level, 1)] if level > 0.15 else "otra cosa")


def test_compare_scores_both_sides_and_the_table_has_live_file_and_difference():
    lines = [
        RefLine("a", "Look at that thing.", "Mira esa cosa."),
        RefLine("b", "We must get out of here now.", "Tenemos que salir de aquí ahora."),
    ]
    judge = EarJudge({0.2: "mira esa cosa", 0.3: "tenemos que salir de aquí ahora"})
    live = [
        Output("Mira esa cosa.", tone(1.0, 16_000, 0.2)),
        Output("Tenemos que salir de aquí ahora.", tone(1.0, 24_000, 0.1)),  # heard wrong
    ]
    file = [
        Output("Mira esa cosa.", tone(1.0, 22_050, 0.2)),
        Output("Tenemos que salir de aquí ahora.", tone(1.0, 16_000, 0.3)),
    ]
    c = compare(lines, live, file, judge, "es")
    assert judge.calls == 4
    assert c.file.asr_bleu == pytest.approx(100.0)
    assert c.live.asr_bleu < 50.0
    assert c.live.text_bleu == c.file.text_bleu == pytest.approx(100.0)
    table = comparison_table(c)
    rows = {r.split("|")[1].strip(): r.split("|")[2:-1] for r in table.splitlines()[2:]}
    assert list(rows) == ["live", "file", "live - file"]
    live_row, file_row, diff = ([float(v) for v in rows[k]] for k in rows)
    assert live_row[0] == file_row[0] == 2
    for i in (1, 2, 3):  # text BLEU, ASR-BLEU, ASR-chrF
        assert diff[i] == pytest.approx(live_row[i] - file_row[i], abs=0.02)
    assert diff[2] < 0
    # the line heard differently comes first among the examples
    shown = examples(c)
    assert shown[0] == "- Tenemos que salir de aquí ahora. | *otra cosa* | " + (
        "*tenemos que salir de aquí ahora*"
    )
    assert len(shown) == 2


def test_no_speech_is_heard_as_nothing():
    lines = [RefLine("a", "Look.", "Mira.")]
    judge = EarJudge({})
    c = compare(lines, [Output("", None)], [Output("", None)], judge, "es")
    assert judge.calls == 0 and c.live.hyps == c.file.hyps == ("",)
    assert c.live.asr_bleu == c.file.asr_bleu == 0.0


def test_pairs_and_splits_without_lines_are_one_sentence():
    with pytest.raises(UnsupportedLanguageError, match="not es->fr"):
        reference_lines_for("es", "fr", 2, "test")
    with pytest.raises(UnsupportedLanguageError):
        reference_lines_for("fr", "en", 2, "test")  # no input voice for French
    with pytest.raises(InputError, match="--split must be test or dev"):
        reference_lines_for("en", "es", 2, "train")


def test_cli_refuses_a_bad_asr_bleu_before_loading_models(run_cli):
    code, _, err = run_cli(
        "bench", "live", "--asr-bleu", "2", "-s", "es", "-t", "fr", "--rounds", "0",
        "--clients", "0",
    )  # fmt: skip
    assert code == 1 and err.startswith("error: ASR-BLEU pairs English"), err
    code, _, err = run_cli("bench", "live", "--asr-bleu", "-1", "--rounds", "0", "--clients", "0")
    assert code == 1 and "--asr-bleu must be 0" in err, err
    code, _, err = run_cli("bench", "live", "--stagger", "-1", "--rounds", "0", "--clients", "0")
    assert code == 1 and "--stagger must be between 0 and 60" in err, err


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium is not installed")
def test_bench_live_asr_bleu_through_the_cli(run_cli, tmp_path):
    """Two lines streamed live and through the file pipeline: both rows with numbers, and
    --append records it apart from the latency tables."""
    log = tmp_path / "docs" / "benchmarks.md"
    log.parent.mkdir()
    code, out, err = run_cli(
        "bench", "live", "--asr-bleu", "2", "--rounds", "0", "--clients", "0", "--voice",
        "tts", "--append", log,
    )  # fmt: skip
    assert code == 0, err
    number = r"\|\s*(-?[0-9.]+)\s*"
    for row in ("live", "file", "live - file"):
        assert re.search(rf"^\| {row} \| 2 {number}{number}{number}\|$", out, re.M), out
    assert "live vs file" not in out  # the progress bar went to stderr
    assert out.count("\n- ") == 2  # the examples
    assert re.search(r"live utterances by voice \(first chunk\): tts [0-9]+ ·", out)  # --voice tts
    assert "## bench live: ASR-BLEU" in log.read_text()
    assert (tmp_path / "benchmarks" / "bench-live.jsonl").is_file()
