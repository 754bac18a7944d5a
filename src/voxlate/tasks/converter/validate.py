"""Quick checks of a converter on the VALIDATION speakers (choices are made on these; the
held-out benchmark is `voxlate bench voice`).

Per validation speaker: the converter is adapted on their first lines (up to `fit_s`
seconds), Kokoro's default voice speaks a few Spanish sentences (the game's test levels),
and each sentence is scored unconverted, through WORLD (`world`, no search) and through the
converter: Resemblyzer cosine to the speaker's *other* lines, and the chrF of Whisper base's
transcript against its transcript of the unconverted sentence. CPU seconds of adaptation and
of conversion per second of speech are timed too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio
from voxlate.data.voice_corpus import VALIDATION, voice_clips
from voxlate.engines.voice.base import VoiceAdapter


@dataclass
class ValidationResult:
    """Means over speakers and sentences, per variant."""

    similarity: dict[str, float] = field(default_factory=dict)  # variant -> mean cosine
    chrf: dict[str, float] = field(default_factory=dict)  # variant -> chrF vs unconverted
    per_speaker: dict[str, dict[str, float]] = field(default_factory=dict)  # speaker -> variant
    fit_cpu_s: float = 0.0  # mean CPU seconds of one adaptation
    convert_cpu_per_s: float = 0.0  # CPU seconds per second of speech (converter)
    fit_cpu: dict[str, float] = field(default_factory=dict)  # variant -> CPU s per adaptation
    convert_cpu: dict[str, float] = field(default_factory=dict)  # variant -> CPU s per s


def speaker_refs(speaker: str, fit_s: float, judge_s: float) -> tuple[Audio, Audio]:
    """(adaptation speech, judge reference): the speaker's lines split, never shared."""
    clips = voice_clips("validation", cap_s=0)[speaker]
    clips = [c for c in clips if c.language == "cs"]
    fit: list[Audio] = []
    ref: list[Audio] = []
    acc = 0.0
    for i, c in enumerate(clips):
        a = load_audio(c.path, SAMPLE_RATE)
        if i % 2 == 0 and acc < fit_s:
            fit.append(a)
            acc += a.duration
        elif sum(x.duration for x in ref) < judge_s:
            ref.append(a)
    return concatenate(fit, SAMPLE_RATE), concatenate(ref, SAMPLE_RATE)


def validate(
    adapters: dict[str, VoiceAdapter],
    n_sentences: int = 4,
    fit_s: float = 30.0,
    judge_s: float = 20.0,
    speakers: tuple[str, ...] = VALIDATION,
    log=print,
) -> ValidationResult:
    import sacrebleu

    from voxlate.engines.tts.kokoro import KokoroSynthesizer
    from voxlate.engines.voice import ENCODERS
    from voxlate.eval.asr_bleu import load_judge, reference_lines, synthesize_line
    from voxlate.text.normalize import normalize_text

    tts = KokoroSynthesizer.from_spec(None)
    lines = reference_lines("en", "es", n_sentences, split="test")
    speech = [synthesize_line(tts, x.reference, "es") for x in lines]
    enc = ENCODERS.create("resemblyzer")
    asr = load_judge()
    plain = [normalize_text(asr.transcribe(s, "es").text) for s in speech]
    sims: dict[str, list[float]] = {"unconverted": []}
    heard: dict[str, list[str]] = {}
    res = ValidationResult()
    fit_cpu, conv_cpu, conv_s = [], 0.0, 0.0
    fits: dict[str, list[float]] = {}
    convs: dict[str, list[float]] = {}  # variant -> [CPU s, speech s]
    for spk in speakers:
        fit_a, ref_a = speaker_refs(spk, fit_s, judge_s)
        e_ref = enc.embed(ref_a)
        row = {"unconverted": float(np.mean([enc.embed(s) @ e_ref for s in speech]))}
        sims["unconverted"].append(row["unconverted"])
        for name, adapter in adapters.items():
            t = time.process_time()
            params = adapter.fit(speech[0], fit_a)
            fits.setdefault(name, []).append(time.process_time() - t)
            if name == "converter":
                fit_cpu.append(time.process_time() - t)
            outs = []
            for s in speech:
                t = time.process_time()
                outs.append(adapter.convert(s, params))
                c = convs.setdefault(name, [0.0, 0.0])
                c[0] += time.process_time() - t
                c[1] += s.duration
                if name == "converter":
                    conv_cpu += time.process_time() - t
                    conv_s += s.duration
            row[name] = float(np.mean([enc.embed(o) @ e_ref for o in outs]))
            sims.setdefault(name, []).append(row[name])
            heard.setdefault(name, []).extend(
                normalize_text(asr.transcribe(o, "es").text) for o in outs
            )
        res.per_speaker[spk] = row
        log(f"{spk}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))
    res.similarity = {k: float(np.mean(v)) for k, v in sims.items()}
    refs = plain * len(speakers)
    res.chrf = {k: float(sacrebleu.corpus_chrf(h, [refs]).score) for k, h in heard.items()}
    res.fit_cpu_s = float(np.mean(fit_cpu)) if fit_cpu else 0.0
    res.convert_cpu_per_s = conv_cpu / max(conv_s, 1e-9)
    res.fit_cpu = {k: float(np.mean(v)) for k, v in fits.items()}
    res.convert_cpu = {k: v[0] / max(v[1], 1e-9) for k, v in convs.items()}
    return res
