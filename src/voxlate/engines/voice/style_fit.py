"""Fitting a Kokoro style to a speaker: find coordinates z whose voice sounds like them.

The score of a candidate z (`StyleFitter.score`) is

    J(z) = cos(e(probe spoken with pack(z)), e_target) - lambda * WER(probe)

with e the Resemblyzer embedding and WER the word error rate of the probe through
Whisper (when a recognizer is given). Methods (`METHODS`), compared in
docs/voice.md on validation speakers (`lookup` is the default):

- ``pack``: the shipped pack whose probe embedding is closest (no synthesis);
- ``lookup``: the mean coordinates of the tuner's training styles that sound closest;
- ``tuner``: the MLP's prediction (`style_tuner.py`), no synthesis;
- ``search``: an evolution strategy from the nearest pack's coordinates;
- ``tuner+search``: the same search started from the tuner's prediction.

The search is a (1, lambda)-ES with the best-so-far kept (elitist) and a global step
size adapted by the 1/5th success rule (Rechenberg 1973; Beyer & Schwefel 2002,
"Evolution strategies: a comprehensive introduction", Sec. 4.1): each generation
draws `population` offspring z' = z + sigma * N(0, I); sigma grows by `STEP_UP` when
one beats the parent, else shrinks by `STEP_DOWN`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from voxlate.engines.voice.style_probe import PROBES, ProbeSpeaker
from voxlate.engines.voice.style_space import StyleSpace
from voxlate.engines.voice.style_tuner import StyleTuner

METHODS = ("pack", "lookup", "tuner", "search", "tuner+search")
STEP_UP = 1.5  # sigma multiplier after a generation that improved
STEP_DOWN = 0.7  # sigma multiplier after one that did not


@dataclass(frozen=True)
class FitConfig:
    """How a style is fitted."""

    # One of METHODS. `lookup` won on the validation speakers (docs/voice.md): the best
    # similarity and WER there, with no synthesis at fit time (tuner+search: -0.02, 14 s CPU).
    method: str = "lookup"
    evaluations: int = 5  # probe syntheses the search may spend (each ~2.5 s of speech)
    population: int = 2  # offspring per generation
    sigma: float = 0.5  # initial step size, in units of the space's coordinates
    wer_penalty: float = 0.5  # lambda: similarity points lost per unit of probe WER
    max_radius: float = 3.0  # |z| beyond which candidates are pulled back (intelligibility)
    lookup_k: int = 3  # neighbours averaged by `lookup`
    probe: tuple[str, ...] = (PROBES[0],)  # what the search hears each candidate say
    seed: int = 0  # the search's random numbers


@dataclass
class FitResult:
    """A fitted style and how it was found."""

    z: np.ndarray  # (dim,) coordinates
    pack: np.ndarray  # (510, 256) the style to synthesize with
    score: float | None  # J(z) of the kept style (None when nothing was synthesized)
    similarity: float | None  # its probe's cosine to the target
    evaluations: int  # probe syntheses spent
    seconds: float  # wall time of the fit
    cpu_seconds: float = 0.0  # CPU time of the fitting process meanwhile (all threads)
    history: list[float] = field(default_factory=list)  # best score after each evaluation


class FitCancelled(Exception):
    """The fit's owner no longer wants it (a session ended)."""


class StyleFitter:
    """Fits styles to speaker embeddings.

    space: the coordinate system; tuner: the learned tuner (needed by lookup and tuner
    methods; its file also holds the packs' probe embeddings); prober: speaks and embeds
    candidates (needed by the search methods).
    """

    def __init__(
        self,
        space: StyleSpace,
        tuner: StyleTuner | None,
        prober: ProbeSpeaker | None,
        config: FitConfig | None = None,
    ) -> None:
        self.space = space
        self.tuner = tuner
        self.prober = prober
        self.config = config or FitConfig()

    # -- zero-synthesis guesses -------------------------------------------------
    def nearest_pack(self, target: np.ndarray) -> str:
        """The shipped pack whose probes sound most like `target` (by the tuner's pairs)."""
        if self.tuner is None or self.tuner.pack_embeddings is None:
            return self.space.names[-1]
        sims = self.tuner.pack_embeddings @ np.asarray(target, np.float32)
        return self.space.names[int(np.argmax(sims))]

    def guess(self, target: np.ndarray, method: str) -> np.ndarray:
        """Starting coordinates for `target` by `method` (no synthesis)."""
        if method in ("pack", "search"):
            return self.space.pack_z[self.space.names.index(self.nearest_pack(target))].copy()
        if self.tuner is None:
            raise ValueError(f"style fitting method '{method}' needs the tuner")
        if method == "lookup":
            return self.tuner.lookup(target, self.config.lookup_k)
        return self.tuner(target)

    # -- scoring and search -----------------------------------------------------
    def score(self, z: np.ndarray, target: np.ndarray) -> tuple[float, float]:
        """(J(z), cosine) for coordinates `z` against the target embedding."""
        if self.prober is None:
            raise ValueError("scoring a style needs a ProbeSpeaker")
        c = self.config
        heard = self.prober.hear(self.space.pack(z), c.probe, wer=c.wer_penalty > 0)
        sim = float(np.dot(heard.embedding, target))
        return sim - c.wer_penalty * (heard.wer or 0.0), sim

    def _clip(self, z: np.ndarray) -> np.ndarray:
        r = float(np.linalg.norm(z))
        return z if r <= self.config.max_radius else z * (self.config.max_radius / r)

    def fit(
        self,
        target: np.ndarray,
        method: str | None = None,
        cancel: threading.Event | None = None,
    ) -> FitResult:
        """Fit a style to the speaker embedding `target` (unit vector).

        cancel: set it to stop a search between evaluations (raises FitCancelled).
        """
        t0, c0 = time.perf_counter(), time.process_time()
        c = self.config
        m = method or c.method
        if m not in METHODS:
            raise ValueError(f"unknown style fitting method '{m}'; one of {METHODS}")
        target = np.asarray(target, np.float32)
        if m == "pack":
            name = self.nearest_pack(target)
            from voxlate.engines.tts.kokoro import load_pack

            z = self.space.pack_z[self.space.names.index(name)]
            return FitResult(z, load_pack(name), None, None, 0, time.perf_counter() - t0)
        z = self._clip(self.guess(target, m))
        if m in ("lookup", "tuner") or c.evaluations <= 0:
            return FitResult(z, self.space.pack(z), None, None, 0, time.perf_counter() - t0)
        rng = np.random.default_rng(c.seed)
        best, best_sim = self.score(z, target)
        history, used, sigma = [best], 1, c.sigma
        while used < c.evaluations:
            improved = False
            for _ in range(min(c.population, c.evaluations - used)):
                if cancel is not None and cancel.is_set():
                    raise FitCancelled
                cand = self._clip(
                    z + sigma * rng.standard_normal(self.space.dim).astype(np.float32)
                )
                s, sim = self.score(cand, target)
                used += 1
                if s > best:
                    z, best, best_sim, improved = cand, s, sim, True
                history.append(best)
            sigma *= STEP_UP if improved else STEP_DOWN
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        return FitResult(z, self.space.pack(z), best, best_sim, used, wall, cpu, history)

    # -- anonymization ------------------------------------------------------------
    def far_style(
        self, source: np.ndarray, avoid: list[np.ndarray] | None = None, radius: float = 1.5
    ) -> np.ndarray:
        """Coordinates of a voice far from `source`: among the tuner's training styles
        within `radius` (the intelligible region), the one whose probe is least like
        the source speaker, skipping those within 0.5 of a style in `avoid` (voices
        already given to other speakers). Deterministic for a given source."""
        if self.tuner is None:  # the far side of the pack mixture
            zs = -self.guess(source, "pack")
            return self._clip(zs * (radius / max(float(np.linalg.norm(zs)), 1e-6)))
        p = self.tuner.pairs
        ok = np.linalg.norm(p.z, axis=1) <= radius
        for a in avoid or []:
            ok &= np.linalg.norm(p.z - a, axis=1) > 0.5
        if not ok.any():
            ok[:] = True
        sims = np.where(ok, p.embeddings @ np.asarray(source, np.float32), np.inf)
        return p.z[int(np.argmin(sims))].copy()
