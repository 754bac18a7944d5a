"""The converter's training features, extracted once and cached per speaker.

Each speaker of the fixed split (`data/voice_corpus.py`) becomes one ``<role>-<speaker>.npz`` in
the cache folder: the utterances' log-mel frames (`converter_model.log_mel`) and WORLD
mel-cepstra (`converter.world_frames`, c0..c39), concatenated, with their lengths. Kokoro's five
style packs are added as synthetic training speakers ('kokoro-<pack>'), speaking Fish Fillets
lines of the training levels in Spanish and English (`fillets_text.split_parallel`), since the
converter's input is Kokoro speech. A speaker whose file exists is not extracted again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, atomic_path, load_audio
from voxlate.data.voice_corpus import DEFAULT_CAP_S, voice_clips

MIN_CLIP_S = 0.4  # shorter clips are skipped
MAX_CLIP_S = 20.0  # longer clips are cut


@dataclass
class SpeakerFeatures:
    """One speaker's utterances: log-mels and mel-cepstra, frame-aligned."""

    speaker: str
    mels: list[np.ndarray]  # (T_i, N_MELS) float32
    mceps: list[np.ndarray]  # (T_i, N_MCEP) float32, c0 first

    @property
    def frames(self) -> int:
        return sum(len(m) for m in self.mels)

    def save(self, path: Path) -> None:
        lengths = np.array([len(m) for m in self.mels], dtype=np.int64)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, speaker=np.array(self.speaker), lengths=lengths,
                     mel=np.concatenate(self.mels).astype(np.float16),
                     mcep=np.concatenate(self.mceps).astype(np.float32))  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> SpeakerFeatures:
        with np.load(path) as z:
            cut = np.cumsum(z["lengths"])[:-1]
            mels = [m.astype(np.float32) for m in np.split(z["mel"], cut)]
            return cls(str(z["speaker"]), mels, list(np.split(z["mcep"], cut)))


def utterance_features(audio: Audio) -> tuple[np.ndarray, np.ndarray]:
    """(log-mel, mcep) of one clip, cut to the same number of frames."""
    from voxlate.engines.voice.converter import world_frames
    from voxlate.engines.voice.converter_model import log_mel

    mel = log_mel(audio)
    mcep = world_frames(audio, aperiodicity=False).mcep
    n = min(len(mel), len(mcep))
    return mel[:n], mcep[:n]


def extract_speaker(speaker: str, clips: Iterable[Audio]) -> SpeakerFeatures:
    mels, mceps = [], []
    for audio in clips:
        if audio.duration < MIN_CLIP_S or np.abs(audio.samples).max() < 1e-3:
            continue
        mel, mcep = utterance_features(audio.slice(0.0, MAX_CLIP_S))
        mels.append(mel)
        mceps.append(mcep)
    return SpeakerFeatures(speaker, mels, mceps)


def kokoro_sentences(n: int) -> list[tuple[str, str]]:
    """`n` (language, text) pairs, half Spanish, half English, from the game's training levels."""
    from voxlate.data.fillets_text import read_parallel, split_parallel

    lines = split_parallel(read_parallel("en", "es"), "train", limit=n)
    return [("es" if i % 2 else "en", ln.target if i % 2 else ln.source)
            for i, ln in enumerate(lines)]  # fmt: skip


def kokoro_clips(pack: str, sentences: list[tuple[str, str]]) -> Iterable[Audio]:
    from voxlate.engines.tts.kokoro import KokoroSynthesizer

    tts = KokoroSynthesizer.from_spec(pack)
    for language, text in sentences:
        chunks = list(tts.synthesize(text, language))
        if chunks:
            yield Audio(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate)


def extract_all(
    cache: Path,
    roles: tuple[str, ...] = ("train", "validation"),
    cap_s: float = DEFAULT_CAP_S,
    kokoro_per_pack: int = 40,
    log: Callable[[str], None] = print,
    max_speakers: int = 0,
) -> list[Path]:
    """Extract (or find cached) every speaker of `roles` (the first `max_speakers` of each
    role; 0: all), plus the Kokoro packs as training speakers (`kokoro_per_pack` sentences
    each; 0: none); the written files' paths."""
    cache.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for role in roles:
        found = list(voice_clips(role, cap_s).items())
        for speaker, clips in found[:max_speakers] if max_speakers > 0 else found:
            path = cache / f"{role}-{speaker}.npz"
            if not path.exists():
                feats = extract_speaker(speaker, (load_audio(c.path, SAMPLE_RATE) for c in clips))
                if not feats.mels:
                    log(f"{path.name}: no usable clip, left out")
                    continue
                feats.save(path)
                log(f"{path.name}: {len(feats.mels)} clips, {feats.frames / 100:.0f} s")
            out.append(path)
    if "train" in roles and kokoro_per_pack > 0:
        from voxlate.engines.tts.kokoro import voices

        sentences = kokoro_sentences(kokoro_per_pack * len(voices()))
        for k, pack in enumerate(voices()):
            path = cache / f"train-kokoro-{pack}.npz"
            if not path.exists():
                mine = sentences[k :: len(voices())]
                feats = extract_speaker(f"kokoro-{pack}", kokoro_clips(pack, mine))
                feats.save(path)
                log(f"{path.name}: {len(feats.mels)} clips, {feats.frames / 100:.0f} s")
            out.append(path)
    return out
