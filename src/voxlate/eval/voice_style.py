"""`voxlate eval voice-style`: Kokoro voice identity by style, judged twice.

Speakers are real: Czech voice actors of fillets-ng (told apart by the dialogue font
their lines are shown in) and the LibriVox reader of pocketsphinx-testdata. They are
split once: `VALIDATION` speakers decide every choice (fitting method, penalty,
budget); `HELD_OUT` speakers are only ever reported. Per speaker, disjoint lines:

- A, the *fit* lines: at least `FIT_SECONDS` of speech, the reference clip of
  ``REF.wav`` mode;
- B, the *test* lines: the source utterances; their English text (the game's own
  translation, or the transcript) is what Kokoro speaks in each condition;
- C, the *judge* lines: what the judges know the speaker by (Resemblyzer centroid,
  MFCC-statistics classifier, `speaker_judge.py`). No fit sees them.

Each condition yields one output per test line; every output is scored the same way:
similarity to the speaker (cosine to the C centroid) and to its source line,
identification among the set's speakers by both judges (forced choice), consistency
(outputs of one speaker to each other), WER and BLEU of Whisper tiny.en against the
text, and the fit's wall and CPU seconds.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio
from voxlate.engines.voice.base import SpeakerEncoder
from voxlate.engines.voice.style_fit import FitConfig, StyleFitter
from voxlate.eval.speaker_judge import MfccJudge

VALIDATION = ("statue", "lightgrey", "white", "viking3")  # choices are made on these
HELD_OUT = ("m", "v", "c", "cyan", "parrot", "linuxer1", "robodog", "librivox")  # reported
FIT_SECONDS = 5.0  # speech in a speaker's fit lines (A)
MIN_LINE_S, MAX_LINE_S = 1.5, 8.0  # line durations used


@dataclass
class SpeakerLines:
    """One speaker's disjoint line sets (see the module docstring)."""

    name: str
    fit: list[Audio]  # A
    test: list[tuple[Audio, str]]  # B: (source audio, English text to speak)
    judge: list[Audio]  # C

    @property
    def reference(self) -> Audio:
        return concatenate(self.fit, SAMPLE_RATE)


def load_speakers(names: tuple[str, ...], n_test: int = 3, n_judge: int = 8) -> list[SpeakerLines]:
    """The line sets of `names` (fillets fonts, or 'librivox'); missing data is skipped."""
    out = []
    fillets = [n for n in names if n != "librivox"]
    if fillets:
        out += _fillets_speakers(fillets, n_test, n_judge)
    if "librivox" in names:
        from voxlate.data.pocketsphinx import LIBRIVOX, read_transcription

        if (LIBRIVOX / "transcription").exists():
            refs = sorted(read_transcription(LIBRIVOX / "transcription").items())
            audio = [(load_audio(LIBRIVOX / f"{k}.wav", SAMPLE_RATE), v) for k, v in refs]
            out.append(
                SpeakerLines("librivox", [audio[0][0]], audio[1:3], [a for a, _ in audio[3:]])
            )
    return out


def _fillets_speakers(names: list[str], n_test: int, n_judge: int) -> list[SpeakerLines]:
    from pathlib import Path

    from voxlate.data.fillets import dialog_fonts, read_fillets, speaker_of
    from voxlate.errors import InputError

    try:
        entries = list(read_fillets())
    except InputError:
        return []
    fonts = dialog_fonts()
    by: dict[str, list] = {n: [] for n in names}
    for e in sorted(entries, key=lambda e: e.audio):
        s = speaker_of(Path(e.audio), fonts)
        words = [w for w in (e.translation or "").split() if any(ch.isalpha() for ch in w)]
        if s in by and MIN_LINE_S <= e.duration <= MAX_LINE_S and len(words) >= 3:
            by[s].append(e)
    out = []
    for n in names:
        lines, fit, secs = by[n], [], 0.0
        while lines and secs < FIT_SECONDS:
            e = lines.pop(0)
            fit.append(load_audio(e.audio, SAMPLE_RATE))
            secs += fit[-1].duration
        test = [(load_audio(e.audio, SAMPLE_RATE), e.translation or "") for e in lines[:n_test]]
        judge = [load_audio(e.audio, SAMPLE_RATE) for e in lines[n_test : n_test + n_judge]]
        if fit and test and len(judge) >= 2:
            out.append(SpeakerLines(n, fit, test, judge))
    return out


@dataclass
class Condition:
    """The outputs of one condition (method or mode) over a speaker set."""

    outputs: dict[str, list[Audio]] = field(default_factory=dict)  # speaker -> per test line
    fit_wall: list[float] = field(default_factory=list)  # seconds per fit
    fit_cpu: list[float] = field(default_factory=list)


@dataclass
class Scores:
    """What the judges and the recognizer make of one condition."""

    similarity: list[float]  # cosine to the speaker's judge-line centroid, per output
    to_source: list[float]  # cosine to the source line, per output
    id_resemblyzer: float  # forced-choice identification accuracy (fraction)
    id_mfcc: float
    consistency: list[float]  # cosine between two outputs of one speaker
    wer: float | None  # fraction
    bleu: float | None  # 0-100
    fit_wall: float | None  # median seconds
    fit_cpu: float | None


def centroids(encoder: SpeakerEncoder, lines: Sequence[Sequence[Audio]]) -> np.ndarray:
    """(n, dim): per speaker, the unit-norm mean of the embeddings of their `lines`."""
    cents = []
    for clips in lines:
        c = np.mean([encoder.embed(a) for a in clips], axis=0)
        cents.append(c / np.linalg.norm(c))
    return np.stack(cents)


class Judges:
    """Both judges, set up on the speakers' judge lines."""

    def __init__(self, encoder: SpeakerEncoder, speakers: list[SpeakerLines]) -> None:
        self.encoder = encoder
        self.names = [s.name for s in speakers]
        self.centroids = centroids(encoder, [s.judge for s in speakers])
        self.mfcc = MfccJudge.fit({s.name: s.judge for s in speakers})

    def score(
        self,
        speakers: list[SpeakerLines],
        cond: Condition,
        transcribe: Callable[[Audio], str] | None,
    ) -> Scores:
        from voxlate.metrics import bleu, wer
        from voxlate.text.normalize import normalize_text

        sim, src, cons, hits1, hits2, refs, hyps = [], [], [], [], [], [], []
        for s in speakers:
            embs = []
            for (source, text), out in zip(s.test, cond.outputs[s.name]):
                e = self.encoder.embed(out)
                embs.append(e)
                i = self.names.index(s.name)
                sim.append(float(self.centroids[i] @ e))
                src.append(float(self.encoder.embed(source) @ e))
                hits1.append(int(np.argmax(self.centroids @ e)) == i)
                hits2.append(self.mfcc.identify(out) == s.name)
                if transcribe is not None:
                    refs.append(normalize_text(text))
                    hyps.append(normalize_text(transcribe(out)))
            cons += [float(a @ b) for a, b in itertools.combinations(embs, 2)]
        return Scores(
            sim,
            src,
            float(np.mean(hits1)),
            float(np.mean(hits2)),
            cons,
            wer(refs, hyps) if refs else None,
            bleu(refs, hyps) if refs else None,
            float(np.median(cond.fit_wall)) if cond.fit_wall else None,
            float(np.median(cond.fit_cpu)) if cond.fit_cpu else None,
        )

    def real(self, speakers: list[SpeakerLines]) -> Scores:
        """The ceiling: the real test lines themselves, judged like outputs."""
        cond = Condition({s.name: [a for a, _ in s.test] for s in speakers})
        return self.score(speakers, cond, None)


def speak_all(synth, speakers: list[SpeakerLines], style_of) -> Condition:  # type: ignore[no-untyped-def]
    """Kokoro speaks each test line's text with `style_of(speaker, source)` (None: its own)."""
    cond = Condition()
    for s in speakers:
        outs = []
        for source, text in s.test:
            style = style_of(s, source)
            chunks = list(synth.synthesize(text, "en", style=style))
            outs.append(concatenate(chunks, chunks[0].sample_rate))
        cond.outputs[s.name] = outs
    return cond


def timed_fit(cond: Condition, fit: Callable[[], np.ndarray]) -> np.ndarray:
    """Run a fit, recording its wall and CPU seconds in `cond`."""
    t0, c0 = time.perf_counter(), time.process_time()
    pack = fit()
    cond.fit_wall.append(time.perf_counter() - t0)
    cond.fit_cpu.append(time.process_time() - c0)
    return pack


def table(rows: dict[str, Scores], stock: str = "stock pack") -> str:
    """A markdown table, one row per condition; BLEU cost is against `stock`."""
    from voxlate.tables import markdown_table

    base = rows.get(stock)

    def f(x: float | None, fmt: str = "{:.3f}") -> str:
        return "" if x is None else fmt.format(x)

    body = []
    for name, r in rows.items():
        cost = None
        if base is not None and base.bleu is not None and r.bleu is not None:
            cost = base.bleu - r.bleu
        body.append(
            [
                name,
                f(float(np.mean(r.similarity))),
                f(float(np.mean(r.to_source))),
                f(100 * r.id_resemblyzer, "{:.0f}"),
                f(100 * r.id_mfcc, "{:.0f}"),
                f(float(np.mean(r.consistency)) if r.consistency else None),
                f(None if r.wer is None else 100 * r.wer, "{:.1f}"),
                f(r.bleu, "{:.1f}"),
                f(cost, "{:+.1f}"),
                f(r.fit_wall, "{:.1f}"),
                f(r.fit_cpu, "{:.1f}"),
                str(len(r.similarity)),
            ]
        )
    return markdown_table(
        [
            "condition",
            "sim. to speaker",
            "sim. to source line",
            "ID Resemblyzer %",
            "ID MFCC %",
            "consistency",
            "WER %",
            "ASR-BLEU",
            "BLEU cost",
            "fit s (wall)",
            "fit s (CPU)",
            "n",
        ],
        body,
    )


@dataclass(frozen=True)
class Setup:
    """The engines one evaluation uses."""

    encoder: SpeakerEncoder
    synth: object  # a KokoroSynthesizer (style= per call)
    transcribe: Callable[[Audio], str] | None  # English ASR for WER/BLEU (None: skip)
    fitter_for: Callable[[FitConfig], StyleFitter]  # a fitter for a FitConfig


def validate(
    setup: Setup, variants: dict[str, tuple[str, FitConfig]], progress: Callable[[str], None]
) -> dict[str, Scores]:
    """Fitting variants (name -> (method, FitConfig)) on the `VALIDATION` speakers:
    each fits a style to the speaker's fit lines, then speaks the test lines with it."""
    speakers = load_speakers(VALIDATION, n_test=2)
    judges = Judges(setup.encoder, speakers)
    rows = {"real lines": judges.real(speakers)}
    progress("stock pack")
    rows["stock pack"] = judges.score(
        speakers, speak_all(setup.synth, speakers, lambda s, a: None), setup.transcribe
    )
    for name, (method, cfg) in variants.items():
        progress(name)
        fitter = setup.fitter_for(cfg)
        cond = Condition()
        packs = {}
        for s in speakers:
            target = setup.encoder.embed(s.reference)
            packs[s.name] = timed_fit(cond, lambda f=fitter, t=target, m=method: f.fit(t, m).pack)  # type: ignore[attr-defined, misc]
        out = speak_all(setup.synth, speakers, lambda s, a, p=packs: p[s.name])
        cond.outputs = out.outputs
        rows[name] = judges.score(speakers, cond, setup.transcribe)
    return rows


def held_out(
    setup: Setup,
    config: FitConfig,
    progress: Callable[[str], None],
    world: bool = True,
    examples: dict[str, dict[str, list[Audio]]] | None = None,
) -> dict[str, Scores]:
    """Every mode on the `HELD_OUT` speakers with the chosen fitting `config`, with and
    without the WORLD post-step; `examples` (if given) receives condition -> outputs."""
    from voxlate.engines.voice.world import WorldAdapter
    from voxlate.pipeline.voice.stages import PreserveVoice, ReferenceVoice
    from voxlate.pipeline.voice.styled import StyledVoiceStage

    enc = setup.encoder
    speakers = load_speakers(HELD_OUT, n_test=3)
    judges = Judges(enc, speakers)
    fitter = setup.fitter_for(config)
    conds: dict[str, Condition] = {}
    progress("stock pack")
    conds["stock pack"] = speak_all(setup.synth, speakers, lambda s, a: None)
    for mode in ("preserve", "anonymize"):
        progress(mode)
        cond = Condition()
        stages = {s.name: StyledVoiceStage(mode, fitter, enc) for s in speakers}  # type: ignore[arg-type]
        cond.outputs = speak_all(
            setup.synth, speakers, lambda s, a, st=stages: st[s.name].style_for(a)
        ).outputs
        for st in stages.values():
            cond.fit_wall += [f.seconds for f in st.fits]
            cond.fit_cpu += [f.cpu_seconds for f in st.fits]
        conds[mode] = cond
    progress("reference")
    cond = Condition()
    packs = {}
    for s in speakers:
        target = enc.embed(s.reference)
        packs[s.name] = timed_fit(cond, lambda t=target: fitter.fit(t).pack)  # type: ignore[attr-defined, misc]
    cond.outputs = speak_all(setup.synth, speakers, lambda s, a, p=packs: p[s.name]).outputs
    conds["reference"] = cond
    if world:
        progress("WORLD post-step")
        for base, name in (
            ("stock pack", "stock pack + WORLD preserve"),
            ("preserve", "preserve + WORLD"),
            ("reference", "reference + WORLD"),
        ):
            cond = Condition()
            for s in speakers:
                stage = (
                    ReferenceVoice(s.reference, "fit lines", WorldAdapter(enc), enc)
                    if base == "reference"
                    else PreserveVoice(enc, WorldAdapter(enc))
                )
                cond.outputs[s.name] = [
                    stage.convert(out, src)
                    for out, (src, _) in zip(conds[base].outputs[s.name], s.test)
                ]
            conds[name] = cond
    rows = {"real lines": judges.real(speakers)}
    for name, cond in conds.items():
        progress(f"scoring {name}")
        rows[name] = judges.score(speakers, cond, setup.transcribe)
        if examples is not None:
            examples[name] = cond.outputs
    return rows


def plot_similarity(rows: dict[str, Scores], path) -> object:  # type: ignore[no-untyped-def]
    """Box plot of per-output similarity to the speaker, per condition (PNG at `path`)."""
    from voxlate.plots import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    names = list(rows)[::-1]
    ax.boxplot([rows[n].similarity for n in names], vert=False, tick_labels=names)
    ax.set_xlabel("Resemblyzer cosine to the speaker's other lines (held-out speakers)")
    ax.axvline(0.70, color="grey", linestyle=":", linewidth=1)
    fig.tight_layout()
    return save_png(fig, path)
