"""`voxlate bench voice`: a voice adapter (WORLD, the converter) after Kokoro, on held-out speakers.

Per test speaker (`eval/voice_convert.py`: the split, the judges, the tables), the file
pipeline's ``--voice REF.wav+ADAPTER`` is replayed on the speaker's reference lines:
Kokoro speaks `n` Spanish sentences (the Spanish side of the Fish Fillets ASR-BLEU test
lines, `eval/asr_bleu.py`) in the style fitted to the reference (`StyledVoiceStage`, as
the pipeline does), then each adapter adapts once on (the first sentence, the reference)
and converts every sentence. Conditions: the unconverted styled Kokoro speech, ``+NAME``
for each adapter, and the ceiling (real lines of the speaker the judges did not see).

Costs are this process's CPU time (`time.process_time`, all threads): conversion CPU-s
per second of speech converted, and adaptation CPU-s per speaker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from voxlate.audio import Audio, concatenate, save_audio
from voxlate.bench.report import append_benchmark
from voxlate.engines.voice.base import VoiceAdapter
from voxlate.eval.voice_convert import (
    TEST_SPEAKERS,
    VALIDATION_SPEAKERS,
    ConditionResult,
    ConverterJudges,
    HeldOutSpeaker,
    load_test_speakers,
    load_validation_clips,
    speaker_table,
    table,
)

UNCONVERTED = "Kokoro styled (unconverted)"
CEILING = "ceiling: another real line"
LANGUAGE = "es"


def default_adapters() -> list[str]:
    """WORLD, and the converter when it loads (its shipped checkpoint)."""
    from voxlate.pipeline.voice.post import CONVERTER, converter_unavailable

    return ["world"] + ([] if converter_unavailable() else [CONVERTER])


def run_conditions(
    speakers: Sequence[HeldOutSpeaker],
    sentences: Sequence[str],
    adapters: Mapping[str, VoiceAdapter],
    judges: ConverterJudges,
    speak: Callable[[HeldOutSpeaker, str], Audio],
    transcribe: Callable[[Audio], str] | None,
    progress: Callable[[str], None] = lambda _s: None,
    examples: Path | None = None,
) -> dict[str, ConditionResult]:
    """Every condition on every speaker, judged (see the module docstring).

    adapters: name -> a `VoiceAdapter`; speak: (speaker, text) -> Kokoro's styled speech.
    """
    rows: dict[str, ConditionResult] = {UNCONVERTED: ConditionResult()}
    rows.update({f"+{name}": ConditionResult() for name in adapters})
    for s in speakers:
        progress(f"{s.name}: Kokoro speaks {len(sentences)} sentences")
        speech = [speak(s, text) for text in sentences]
        outputs = {UNCONVERTED: speech}
        reference = s.reference_audio
        embedding = judges.encoder.embed(reference)
        for name, adapter in adapters.items():
            progress(f"{s.name}: +{name}")
            row = rows[f"+{name}"]
            c0 = time.process_time()
            params = adapter.fit(speech[0], reference, embedding)
            row.adapt_cpu_s[s.name] = time.process_time() - c0
            converted = []
            for a in speech:
                c0 = time.process_time()
                converted.append(adapter.convert(a, params))
                row.convert_cpu_s += time.process_time() - c0
                row.speech_s += a.duration
            outputs[f"+{name}"] = converted
        progress(f"{s.name}: judging")
        for cond, outs in outputs.items():
            for i, (a, text) in enumerate(zip(outs, sentences)):
                rows[cond].add(judges, s.name, a, transcribe, text)
                if examples is not None:
                    slug = cond.split(" ")[0].replace("+", "plus-").lower()
                    save_audio(examples / f"{s.name}-{i}-{slug}.wav", a)
    rows[CEILING] = ConditionResult()
    for s in speakers:
        for a in s.ceiling:
            rows[CEILING].add(judges, s.name, a, None, None)
    return rows


def run_voice_bench(
    adapters: Sequence[str] | None = None,
    n: int = 6,
    speakers: Sequence[str] = TEST_SPEAKERS,  # or validation speakers, for choices
    log: str | os.PathLike | None = None,
    examples: Path | None = None,
    progress: Callable[[str], None] = lambda _s: None,
) -> str:
    """The markdown report of `run_conditions` with the real engines (Kokoro, Resemblyzer,
    Whisper base as the ASR-BLEU judge); recorded with `append_benchmark` when `log` is given."""
    from voxlate.engines.tts.kokoro import KokoroSynthesizer
    from voxlate.engines.voice import ADAPTERS, ENCODERS
    from voxlate.engines.voice.style_fit import FitConfig, StyleFitter
    from voxlate.engines.voice.style_probe import ProbeSpeaker
    from voxlate.engines.voice.style_space import default_space
    from voxlate.engines.voice.style_tuner import default_tuner
    from voxlate.errors import InputError
    from voxlate.eval.asr_bleu import judge_speech, load_judge, reference_lines
    from voxlate.pipeline.voice.styled import StyledVoiceStage

    trained = [n for n in speakers if n not in (*TEST_SPEAKERS, *VALIDATION_SPEAKERS)]
    if trained:
        raise InputError(
            f"'{trained[0]}' is not a held-out or validation speaker (the converter may have "
            f"trained on it); choose from {', '.join((*TEST_SPEAKERS, *VALIDATION_SPEAKERS))}."
        )
    names = list(adapters) if adapters else default_adapters()
    progress("loading the speakers' lines")
    test = load_test_speakers(speakers)
    if not test:
        raise InputError(
            "No test speaker's lines are installed (fillets-ng-data-cs, pocketsphinx-testdata)."
        )
    encoder = ENCODERS.create("resemblyzer")
    judges = ConverterJudges(encoder, test, load_validation_clips())
    synth = KokoroSynthesizer()
    fitter = StyleFitter(
        default_space(), default_tuner(), ProbeSpeaker(synth, encoder), FitConfig()
    )
    packs = {}
    for s in test:  # the style the file pipeline speaks REF.wav's voice with
        stage = StyledVoiceStage("reference", fitter, encoder, reference=s.reference_audio)
        packs[s.name] = stage.style_for(s.reference_audio)

    def speak(s: HeldOutSpeaker, text: str) -> Audio:
        chunks = list(synth.synthesize(text, LANGUAGE, style=packs[s.name]))
        return concatenate(chunks, chunks[0].sample_rate)

    asr = load_judge()

    def transcribe(a: Audio) -> str:
        return judge_speech(asr, a, LANGUAGE)

    sentences = [x.reference for x in reference_lines("en", LANGUAGE, n, "test")]
    built = {name: ADAPTERS.create(name) for name in names}
    if examples is not None:
        examples.mkdir(parents=True, exist_ok=True)
    rows = run_conditions(test, sentences, built, judges, speak, transcribe, progress, examples)
    load = os.getloadavg()
    body = (
        f"{len(test)} held-out speakers ({', '.join(s.name for s in test)}; chance "
        f"{100 / len(test):.1f} %), {len(sentences)} Spanish sentences each (Fish Fillets "
        f"ASR-BLEU test lines) spoken by Kokoro in the style fitted to the speaker's reference "
        f"lines; adapters adapt on the reference ({min(s.reference_s for s in test):.0f}-"
        f"{max(s.reference_s for s in test):.0f} s). Similarity: Resemblyzer cosine to the "
        f"centroid of the speaker's judge lines; ID: forced choice among the held-out speakers "
        f"(MFCC judge trained on their judge lines and the validation speakers'); ASR-BLEU: "
        f"Whisper base vs the Spanish text; costs in CPU seconds (process time). Load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.\n\n"
        f"{table(rows, UNCONVERTED)}\n"
    )
    if log is not None:  # the summary (docs/benchmarks.md stays short); per speaker: printed
        append_benchmark("bench voice: voice adapters after Kokoro on held-out speakers", body, log)
    return f"{body}\nMedian similarity per speaker:\n\n{speaker_table(rows, test)}\n"
