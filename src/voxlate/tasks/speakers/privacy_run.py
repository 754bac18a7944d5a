"""The data and systems of `voxlate eval anonymize` (see voxlate.tasks.speakers.privacy).

Speakers: the English LibriVox reader and the cards speaker of pocketsphinx-testdata (with
transcripts, for WER) and the most frequent Fish Fillets characters (Czech, with the game's
English translation of each line; speaker verification is language-independent).

Systems, in two families:

- source re-voicing, WORLD conversion of the original utterance: ``none`` (original speech:
  the attacker's best case), ``derived`` (the voice engine's deterministic pseudo-voice) and
  ``speakerdiff`` (pseudo-voices sampled from a SpeakerDiff model);
- the product path of ``voxlate translate --voice anonymize``: the English text (Whisper's
  transcript of an English utterance; the English translation of a Czech line) spoken by
  Piper joe, then re-voiced by the voice stage given the source utterance: ``tts`` (no
  pseudo-voice: every speaker sounds like joe), ``derived-tts`` and ``speakerdiff-tts``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxlate.audio import DEFAULT_OUTPUT_RATE, SAMPLE_RATE, Audio, concatenate, load_audio
from voxlate.data.fillets import FILLETS_ROOT
from voxlate.data.pocketsphinx import POCKETSPHINX, read_transcription
from voxlate.errors import InputError
from voxlate.tasks.speakers.privacy import PrivacyRow, Utterance, evaluate_system

SOURCE_SYSTEMS = ("none", "derived", "speakerdiff")  # WORLD conversion of the source speech
PRODUCT_SYSTEMS = ("tts", "derived-tts", "speakerdiff-tts")  # text -> Piper -> voice stage
SYSTEMS = SOURCE_SYSTEMS + PRODUCT_SYSTEMS
PATHS = {"none": "original", **{s: "product (text -> TTS)" for s in PRODUCT_SYSTEMS}}
DEFAULT_SYSTEMS = ("none", "derived", "speakerdiff", "tts", "speakerdiff-tts")


def english_utterances() -> list[Utterance]:
    """LibriVox (5 clips) and cards (5 clips) of pocketsphinx-testdata, with transcripts."""
    out = []
    for name, tfile in (("librivox", "transcription"), ("cards", "cards.transcription")):
        d = POCKETSPHINX / name
        if not (d / tfile).is_file():
            continue
        for k, text in sorted(read_transcription(d / tfile).items()):
            if (d / f"{k}.wav").is_file():
                out.append(Utterance(load_audio(d / f"{k}.wav", SAMPLE_RATE), name, text))
    return out


def fillets_utterances(
    speakers: int, per_speaker: int, min_seconds: float = 1.5
) -> list[Utterance]:
    """`per_speaker` clips (>= min_seconds) of each of the `speakers` commonest characters,
    each with the English translation the game's script gives for it."""
    from voxlate.data.fillets import read_fillets
    from voxlate.tasks.speakers.embed import speaker_label

    files = sorted(FILLETS_ROOT.glob("sound/*/cs/*.ogg"))
    if not files:
        return []
    english = {Path(e.audio).stem: e.translation for e in read_fillets(FILLETS_ROOT)}
    by: dict[str, list[Path]] = {}
    for f in files:
        by.setdefault(speaker_label(f), []).append(f)
    counts = Counter({k: len(v) for k, v in by.items() if len(v) >= per_speaker})
    out = []
    for name, _ in counts.most_common(speakers):
        got = 0
        for f in by[name][:: max(1, len(by[name]) // (3 * per_speaker))]:
            if not english.get(f.stem):
                continue
            a = load_audio(f, SAMPLE_RATE)
            if a.duration >= min_seconds:
                out.append(Utterance(a, name, translation=english[f.stem] or ""))
                got += 1
            if got == per_speaker:
                break
    return out


def spoken_texts(utterances: Sequence[Utterance], transcribe: Callable[[Audio], str]) -> list[str]:
    """The English text the product speaks for each utterance: the translation of a
    non-English line, else the recognizer's transcript of the (English) utterance."""
    return [u.translation or transcribe(u.audio) for u in utterances]


def synthesize_all(texts: Sequence[str], synthesizer) -> list[Audio]:
    """Each text spoken by `synthesizer` (an English `Synthesizer`), sentences joined."""
    out = []
    for t in tqdm(texts, unit="utt", desc="synthesizing", leave=False):
        chunks = list(synthesizer.synthesize(t, "en")) if t.strip() else []
        out.append(
            concatenate(chunks, chunks[0].sample_rate)
            if chunks
            else Audio.silence(0.5, DEFAULT_OUTPUT_RATE)
        )
    return out


def anonymize_all(
    stage_factory, utterances: Sequence[Utterance], speech: Sequence[Audio] | None = None
) -> list[Audio]:
    """Re-voice each utterance with one voice stage per source speaker.

    speech: what the stage converts, one clip per utterance (the product path: the
        synthesized text); None converts the source utterance itself.
    """
    stages: dict[str, object] = {}
    out = []
    for i, u in enumerate(tqdm(utterances, unit="utt", desc="anonymizing", leave=False)):
        if u.speaker not in stages:
            stages[u.speaker] = stage_factory()
        x = u.audio if speech is None else speech[i]
        out.append(stages[u.speaker].convert(x, u.audio))  # type: ignore[attr-defined]
    return out


def system_speech(
    name: str,
    utterances: Sequence[Utterance],
    encoder,
    tts_speech: Callable[[], list[Audio]],
    model: str | os.PathLike | None = None,
    min_distance: float = 0.3,
) -> list[Audio]:
    """The anonymized speech of system `name` (see the module docstring), one per utterance.

    tts_speech: returns the synthesized English speech of every utterance (called only by
        the product-path systems; the caller may cache it).
    """
    from voxlate.engines.voice.pseudo import (
        SOURCE_WARPS,
        SPEECH_WARPS,
        DerivedPseudoSpeaker,
        SpeakerDiffPseudoSpeaker,
    )
    from voxlate.engines.voice.world import WorldAdapter
    from voxlate.pipeline.voice.stages import AnonymousVoice

    if name == "none":
        return [u.audio for u in utterances]
    if name == "tts":
        return tts_speech()
    base = name.removesuffix("-tts")
    speech = tts_speech() if name in PRODUCT_SYSTEMS else None
    adapter = WorldAdapter(encoder, search=False)
    warps = SPEECH_WARPS if speech is not None else SOURCE_WARPS
    if base == "derived":
        derived = DerivedPseudoSpeaker(encoder, warps)
        return anonymize_all(lambda: AnonymousVoice(encoder, adapter, derived), utterances, speech)
    if base == "speakerdiff":
        pseudo = SpeakerDiffPseudoSpeaker(encoder, model, min_distance, 0, warps)
        return anonymize_all(lambda: AnonymousVoice(encoder, adapter, pseudo), utterances, speech)
    raise InputError(f"Unknown system '{name}'; use {', '.join(SYSTEMS)}.")


def run_privacy_eval(
    model: str | os.PathLike | None,
    speakers: int = 6,
    per_speaker: int = 5,
    min_distance: float = 0.3,
    systems: Sequence[str] = DEFAULT_SYSTEMS,
) -> str:
    """Evaluate each system; returns a markdown table with a short description."""
    from voxlate.engines.asr import REGISTRY as ASR
    from voxlate.engines.tts import REGISTRY as TTS
    from voxlate.engines.voice import ENCODERS

    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        raise InputError(f"Unknown system(s) {sorted(unknown)}; use {', '.join(SYSTEMS)}.")
    utts = english_utterances() + fillets_utterances(speakers, per_speaker)
    if len({u.speaker for u in utts}) < 2:
        raise InputError(
            "Need recordings of at least two speakers (install pocketsphinx-testdata "
            "and fillets-ng-data-cs)."
        )
    encoder = ENCODERS.create("resemblyzer")
    asr = ASR.create("faster-whisper")
    original = np.stack([encoder.embed(u.audio) for u in utts])

    def transcribe(a: Audio) -> str:
        return asr.transcribe(a, "en").text

    cache: list[list[Audio]] = []

    def tts_speech() -> list[Audio]:
        if not cache:
            cache.append(synthesize_all(spoken_texts(utts, transcribe), TTS.create("piper")))
        return cache[0]

    rows: list[PrivacyRow] = []
    for name in systems:
        anon = system_speech(name, utts, encoder, tts_speech, model, min_distance)
        rows.append(evaluate_system(name, utts, anon, encoder.embed, transcribe, original))
    n_eng = sum(1 for u in utts if u.text)
    header = (
        f"{len(utts)} utterances of {len({u.speaker for u in utts})} speakers "
        f"({n_eng} English with transcripts for WER: LibriVox, cards; the rest Fish Fillets "
        f"Czech characters). Attacker: Resemblyzer cosine scoring, speaker model = mean "
        f"embedding. Ignorant: enroll original, test anonymized. Lazy-informed: enroll and "
        f"test anonymized (leave-one-out). Min pseudo-speaker distance {min_distance}. "
        f"Source re-voicing (none, derived, speakerdiff): WORLD conversion of the original "
        f"utterance. Product path (*-tts, what `translate --voice anonymize` outputs): "
        f"Whisper transcript (English) or the game's English translation (Czech) spoken by "
        f"Piper joe, then the voice stage; `tts` is joe unchanged. WER scoring spells numerals "
        f"out (10 = ten).\n\n"
    )
    table = markdown_table_of(rows)
    return header + table


def markdown_table_of(rows: Sequence[PrivacyRow]) -> str:
    """The eval's table: one row per system."""
    from voxlate.tables import markdown_table

    return markdown_table(
        ["system", "path", "EER ignorant", "EER lazy-informed", "WER (en)", "cos to source"],
        [
            [
                r.system,
                PATHS.get(r.system, "source re-voicing"),
                r.eer_ignorant,
                r.eer_lazy_informed,
                r.wer if r.wer is not None else "-",
                r.mean_cos_to_source,
            ]
            for r in rows
        ],
    )
