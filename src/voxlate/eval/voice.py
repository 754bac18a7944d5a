"""`voxlate eval voice`: speaker similarity, intelligibility and cost of the voice modes.

Sources are real recordings: English (pocketsphinx-testdata: 5 LibriVox sentences,
one reader; 5 card phrases, another speaker) and Czech voice actors of fillets-ng
(clips grouped into speakers by clustering their Resemblyzer embeddings). Each
group is one "input": its utterances pass, in order, through one voice stage, so
the stage's online speaker tracking and parameter cache work as in `translate`.

The speech to re-voice is Piper joe reading English text: the utterance's own
transcript for the English sources (English -> English re-voicing, so the output's
word error rate through the English ASR measures what adaptation costs in
intelligibility), and the LibriVox sentences in turn for the Czech sources.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, load_audio, save_audio
from voxlate.data.fillets import FILLETS_ROOT
from voxlate.data.pocketsphinx import POCKETSPHINX, read_transcription
from voxlate.engines.voice.base import SpeakerEncoder
from voxlate.engines.voice.world import WorldAdapter
from voxlate.pipeline.voice.stages import build_world_stage


@dataclass
class Utterance:
    """One real source utterance: audio, its speaker label and the English text to speak."""

    audio: Audio
    speaker: str
    text: str
    english: bool  # True when `text` is what `audio` says (WER is meaningful)


@dataclass
class VoiceEvalResult:
    """Similarities (cosine), WER (fractions) and real-time factors of one run."""

    same_speaker: list[float] = field(default_factory=list)  # two real utterances, one speaker
    different_speakers: list[float] = field(default_factory=list)
    similarity: dict[str, list[float]] = field(default_factory=dict)  # mode -> source->output
    consistency: dict[str, list[float]] = field(default_factory=dict)  # mode -> output<->output
    wer: dict[str, float] = field(default_factory=dict)  # mode -> English WER
    rtf_wall: list[float] = field(default_factory=list)  # voice stage, after a speaker's first fit
    rtf_cpu: list[float] = field(default_factory=list)  # same, CPU seconds per audio second
    speakers: dict[str, int] = field(default_factory=dict)  # speaker -> utterances
    clusters_found: dict[str, int] = field(default_factory=dict)  # group -> speakers tracked


def english_sources() -> dict[str, list[Utterance]]:
    """The LibriVox and cards speakers of pocketsphinx-testdata (empty if not installed)."""
    groups: dict[str, list[Utterance]] = {}
    lib, cards = POCKETSPHINX / "librivox", POCKETSPHINX / "cards"
    if (lib / "transcription").exists():
        refs = read_transcription(lib / "transcription")
        groups["librivox"] = [
            Utterance(load_audio(lib / f"{k}.wav"), "librivox", v, True)
            for k, v in sorted(refs.items())
        ]
    if (cards / "cards.transcription").exists():
        refs = read_transcription(cards / "cards.transcription")
        groups["cards"] = [
            Utterance(load_audio(cards / f"{k}.wav"), "cards", v, True)
            for k, v in sorted(refs.items())
        ]
    return groups


def czech_sources(
    encoder: SpeakerEncoder,
    texts: list[str],
    n_speakers: int = 3,
    per_speaker: int = 4,
    pool: int = 60,
    threshold: float = 0.75,
    progress: Callable[[], None] | None = None,
) -> list[Utterance]:
    """Czech voice actors of fillets-ng: `per_speaker` clips of each of `n_speakers`.

    `pool` clips of 2-8 s, spread over the game's levels, are embedded and grouped
    greedily (cosine to a group's first clip >= `threshold`); the largest groups are
    the speakers. Returns [] when fillets-ng-data-cs is not installed.
    """
    clips = sorted(FILLETS_ROOT.glob("sound/*/cs/*.ogg"))
    if not clips:
        return []
    step = max(1, len(clips) // (pool * 3))
    audios: list[Audio] = []
    for p in clips[::step]:
        a = load_audio(p, SAMPLE_RATE)
        if 2.0 <= a.duration <= 8.0:
            audios.append(a)
        if len(audios) >= pool:
            break
    embs = []
    for a in audios:
        embs.append(encoder.embed(a))
        if progress:
            progress()
    groups: list[list[int]] = []
    for i, e in enumerate(embs):
        for g in groups:
            if float(np.dot(embs[g[0]], e)) >= threshold:
                g.append(i)
                break
        else:
            groups.append([i])
    groups = sorted((g for g in groups if len(g) >= per_speaker), key=len, reverse=True)
    out = []
    t = itertools.cycle(texts)
    for s, g in enumerate(groups[:n_speakers]):
        out += [Utterance(audios[i], f"czech-{s + 1}", next(t), False) for i in g[:per_speaker]]
    return out


def _pairs(embs: list[np.ndarray]) -> list[float]:
    return [float(np.dot(a, b)) for a, b in itertools.combinations(embs, 2)]


def evaluate_voice(
    encoder: SpeakerEncoder,
    synthesize: Callable[[str], Audio],
    transcribe: Callable[[Audio], str] | None,
    modes: tuple[str, ...] = ("tts", "preserve", "reference", "anonymize"),
    czech_speakers: int = 3,
    progress: Callable[[str], None] | None = None,
    search: bool = False,
) -> VoiceEvalResult:
    """Run every mode over the English and Czech sources; see the module docstring.

    synthesize: English text -> speech (the stock voice to adapt).
    transcribe: English speech -> text, or None to skip WER.
    search: let the adapter refine each speaker's parameters by similarity search.
    modes: "tts", "preserve", "reference" (each speaker's longest utterance as the
        reference clip, scored on the others) and "anonymize".
    """
    from voxlate.metrics import wer
    from voxlate.text.normalize import normalize_text

    tick = progress or (lambda _msg: None)
    res = VoiceEvalResult()
    groups = english_sources()
    texts = [u.text for u in groups.get("librivox", [])] or ["hello there, how are you today"]
    cz = czech_sources(encoder, texts, n_speakers=czech_speakers, progress=lambda: tick("embed"))
    if cz:
        groups["czech"] = cz
    src_emb: dict[int, np.ndarray] = {}
    speech: dict[int, Audio] = {}
    all_utts = [u for g in groups.values() for u in g]
    for u in all_utts:
        src_emb[id(u)] = encoder.embed(u.audio)
        speech[id(u)] = synthesize(u.text)
        tick("synthesize")
    by_speaker: dict[str, list[Utterance]] = {}
    for u in all_utts:
        by_speaker.setdefault(u.speaker, []).append(u)
    res.speakers = {k: len(v) for k, v in by_speaker.items()}
    for utts in by_speaker.values():
        res.same_speaker += _pairs([src_emb[id(u)] for u in utts])
    for a, b in itertools.combinations(by_speaker, 2):
        res.different_speakers += [
            float(np.dot(src_emb[id(x)], src_emb[id(y)]))
            for x in by_speaker[a]
            for y in by_speaker[b]
        ]
    refs_en = [u.text for u in all_utts if u.english]
    if transcribe is not None and refs_en:
        hyps = [transcribe(speech[id(u)]) for u in all_utts if u.english]
        res.wer["tts"] = wer(
            [normalize_text(r) for r in refs_en], [normalize_text(h) for h in hyps]
        )
    adapter = WorldAdapter(encoder, search=search)
    for mode in modes:
        sims: list[float] = []
        outs: dict[str, list[np.ndarray]] = {}
        english_out: list[tuple[str, Audio]] = []
        if mode == "reference":
            for spk, utts in by_speaker.items():
                longest = max(utts, key=lambda u: u.audio.duration)
                with tempfile.TemporaryDirectory() as tmp:
                    ref = os.path.join(tmp, "ref.wav")
                    save_audio(ref, longest.audio)
                    stage = build_world_stage(ref, encoder, WorldAdapter(encoder, search=search))
                for u in (x for x in utts if x is not longest):
                    y = stage.convert(speech[id(u)], u.audio)
                    e = encoder.embed(y)
                    sims.append(float(np.dot(e, src_emb[id(u)])))
                    outs.setdefault(spk, []).append(e)
                    tick(mode)
        else:
            for gname, utts in groups.items():
                stage = build_world_stage(mode, encoder, adapter)
                stage.reset()
                for u in utts:
                    fits = adapter.n_fits
                    t0, c0 = time.perf_counter(), time.process_time()
                    y = stage.convert(speech[id(u)], u.audio)
                    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                    if mode == "preserve" and adapter.n_fits == fits:
                        res.rtf_wall.append(wall / speech[id(u)].duration)
                        res.rtf_cpu.append(cpu / speech[id(u)].duration)
                    e = encoder.embed(y)
                    sims.append(float(np.dot(e, src_emb[id(u)])))
                    outs.setdefault(u.speaker, []).append(e)
                    if u.english:
                        english_out.append((u.text, y))
                    tick(mode)
                tracker = getattr(stage, "tracker", None)
                if tracker is not None and mode == "preserve":
                    res.clusters_found[gname] = len(tracker.speakers)
        res.similarity[mode] = sims
        res.consistency[mode] = [s for embs in outs.values() for s in _pairs(embs)]
        if transcribe is not None and english_out and mode in ("preserve", "anonymize"):
            hyps = [transcribe(y) for _, y in english_out]
            refs = [normalize_text(t) for t, _ in english_out]
            res.wer[mode] = wer(refs, [normalize_text(h) for h in hyps])
    return res


def summary_table(res: VoiceEvalResult) -> str:
    """Markdown table of the figures in `res` (means; WER in percent)."""
    from voxlate.tables import markdown_table

    def m(xs: list[float]) -> float:
        return float(np.mean(xs)) if xs else float("nan")

    rows: list[list[object]] = [
        [
            "baseline: same speaker, two real utterances",
            m(res.same_speaker),
            "",
            "",
            len(res.same_speaker),
        ],
        [
            "baseline: different speakers",
            m(res.different_speakers),
            "",
            "",
            len(res.different_speakers),
        ],
    ]
    for mode, sims in res.similarity.items():
        w = res.wer.get(mode)
        rows.append(
            [
                f"{mode}: source -> output",
                m(sims),
                m(res.consistency.get(mode, [])),
                f"{100 * w:.1f}" if w is not None else "",
                len(sims),
            ]
        )
    head = ["speaker similarity (Resemblyzer cosine)", "mean", "consistency", "English WER %", "n"]
    text = markdown_table(head, rows)
    text += (
        f"\n\nStock voice (tts) English WER: {100 * res.wer['tts']:.1f} %."
        if "tts" in res.wer
        else "\n"
    )
    if res.rtf_wall:
        text += (
            f"\nVoice stage (speaker embedding + adapter) real-time factor after a "
            f"speaker's first utterance: "
            f"{np.median(res.rtf_wall):.3f} wall (median of {len(res.rtf_wall)}), "
            f"{np.median(res.rtf_cpu):.3f} CPU."
        )
    text += f"\nSpeakers (utterances): {res.speakers}; speakers tracked per input: {res.clusters_found}."
    return text


def plot_similarities(res: VoiceEvalResult, path: str | os.PathLike) -> Path:
    """Box plot of the similarity distributions (baselines and each mode) as a PNG."""
    from voxlate.plots import pyplot, save_png

    plt = pyplot()

    series = {"same speaker": res.same_speaker, "different speakers": res.different_speakers}
    series.update({f"{k} (src->out)": v for k, v in res.similarity.items()})
    series.update({f"{k} consistency": v for k, v in res.consistency.items() if k == "anonymize"})
    names = [k for k, v in series.items() if v]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.boxplot([series[k] for k in names], vert=False, showmeans=True)
    ax.set_yticks(range(1, len(names) + 1), names)
    ax.set_xlabel("Resemblyzer cosine similarity")
    ax.axvline(0.75, color="g", ls="--", lw=0.8)
    ax.axvline(0.6, color="r", ls=":", lw=0.8)
    ax.set_title("voxlate voice: speaker similarity distributions")
    return save_png(fig, path, dpi=110)
