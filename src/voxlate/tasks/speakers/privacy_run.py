"""The data and systems of `voxlate eval anonymize` (see voxlate.tasks.speakers.privacy).

Speakers: the English LibriVox reader and the cards speaker of pocketsphinx-testdata (with
transcripts, for WER) and the most frequent Fish Fillets characters (Czech; speaker
verification is language-independent). Systems: ``none`` (original speech: the attacker's
best case), ``derived`` (the voice engine's deterministic pseudo-voice) and ``speakerdiff``
(pseudo-voices sampled from a SpeakerDiff model), each through the WORLD voice adapter.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxlate.audio import Audio, load_audio
from voxlate.data.pocketsphinx import POCKETSPHINX, read_transcription
from voxlate.errors import InputError
from voxlate.tasks.speakers.privacy import PrivacyRow, Utterance, evaluate_system

FILLETS = Path("/usr/share/games/fillets-ng")


def english_utterances() -> list[Utterance]:
    """LibriVox (5 clips) and cards (5 clips) of pocketsphinx-testdata, with transcripts."""
    out = []
    for name, tfile in (("librivox", "transcription"), ("cards", "cards.transcription")):
        d = POCKETSPHINX / name
        if not (d / tfile).is_file():
            continue
        for k, text in sorted(read_transcription(d / tfile).items()):
            if (d / f"{k}.wav").is_file():
                out.append(Utterance(load_audio(d / f"{k}.wav", 16000), name, text))
    return out


def fillets_utterances(
    speakers: int, per_speaker: int, min_seconds: float = 1.5
) -> list[Utterance]:
    """`per_speaker` clips (>= min_seconds) of each of the `speakers` commonest characters."""
    from voxlate.tasks.speakers.embed import speaker_of

    files = sorted(FILLETS.glob("sound/*/cs/*.ogg"))
    by: dict[str, list[Path]] = {}
    for f in files:
        by.setdefault(speaker_of(f), []).append(f)
    counts = Counter({k: len(v) for k, v in by.items() if len(v) >= per_speaker})
    out = []
    for name, _ in counts.most_common(speakers):
        got = 0
        for f in by[name][:: max(1, len(by[name]) // (3 * per_speaker))]:
            a = load_audio(f, 16000)
            if a.duration >= min_seconds:
                out.append(Utterance(a, name))
                got += 1
            if got == per_speaker:
                break
    return out


def anonymize_all(stage_factory, utterances: Sequence[Utterance]) -> list[Audio]:
    """Re-voice each utterance with one voice stage per source speaker."""
    stages: dict[str, object] = {}
    out = []
    for u in tqdm(utterances, unit="utt", desc="anonymizing", leave=False):
        if u.speaker not in stages:
            stages[u.speaker] = stage_factory()
        out.append(stages[u.speaker].convert(u.audio, u.audio))  # type: ignore[attr-defined]
    return out


def run_privacy_eval(
    model: str | os.PathLike | None,
    speakers: int = 6,
    per_speaker: int = 5,
    min_distance: float = 0.3,
    systems: Sequence[str] = ("none", "derived", "speakerdiff"),
) -> str:
    """Evaluate each system; returns a markdown table with a short description."""
    from voxlate.engines.asr import REGISTRY as ASR
    from voxlate.engines.voice import ENCODERS
    from voxlate.engines.voice.modes import AnonymousVoice
    from voxlate.engines.voice.world import WorldAdapter
    from voxlate.eval.report import markdown_table
    from voxlate.tasks.speakers.anonymize import SpeakerDiffPseudoSpeaker

    unknown = set(systems) - {"none", "derived", "speakerdiff"}
    if unknown:
        raise InputError(f"Unknown system(s) {sorted(unknown)}; use none, derived, speakerdiff.")
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

    rows: list[PrivacyRow] = []
    for name in systems:
        if name == "none":
            anon = [u.audio for u in utts]
        elif name == "derived":
            adapter = WorldAdapter(encoder)
            anon = anonymize_all(lambda a=adapter: AnonymousVoice(encoder, a), utts)
        else:
            adapter = WorldAdapter(encoder)
            pseudo = SpeakerDiffPseudoSpeaker(adapter, model, min_distance, seed=0)
            anon = anonymize_all(lambda a=adapter, p=pseudo: AnonymousVoice(encoder, a, p), utts)
        rows.append(evaluate_system(name, utts, anon, encoder.embed, transcribe, original))
    n_eng = sum(1 for u in utts if u.text)
    header = (
        f"{len(utts)} utterances of {len({u.speaker for u in utts})} speakers "
        f"({n_eng} English with transcripts for WER: LibriVox, cards; the rest Fish Fillets "
        f"Czech characters). Attacker: Resemblyzer cosine scoring, speaker model = mean "
        f"embedding. Ignorant: enroll original, test anonymized. Lazy-informed: enroll and "
        f"test anonymized (leave-one-out). Min pseudo-speaker distance {min_distance}.\n\n"
    )
    table = markdown_table(
        ["system", "EER ignorant", "EER lazy-informed", "WER (en)", "cos to source"],
        [
            [
                r.system,
                r.eer_ignorant,
                r.eer_lazy_informed,
                r.wer if r.wer is not None else "-",
                r.mean_cos_to_source,
            ]
            for r in rows
        ],
    )
    return header + table
