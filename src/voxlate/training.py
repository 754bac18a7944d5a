"""What every trainer shares: the settings family root, the time budget, Ctrl-C, the ETA.

Each trainer (`diffusion/training.py: train` for the diffusion tasks, `tasks/ctc/epochs.py:
run_epochs` for the CTC and speech-translation models, the digit classifier) runs its
steps inside a `TrainRun`:

- a time budget (``--minutes``; 0 = none): the run stops after the step that passes it;
- the first Ctrl-C (SIGINT) asks the run to stop after the current step; the trainer
  then saves a checkpoint and raises `TrainingInterrupted`, whose one sentence says
  where it is (the CLI exits with 130). A second Ctrl-C aborts at once;
- a tqdm bar on stderr whose ETA is the sooner of the step count's and the budget's end.

The checkpoint format is `voxlate/checkpoint.py`.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tqdm import tqdm

from voxlate.errors import VoxlateError


def setting(default: Any, help: str, *flags: str, **option: Any) -> Any:
    """A config field that is also a command-line option (`voxlate.cli.config_options`):
    its default, its help, its flags (default: ``--field-name``) and any other typer.Option
    keyword (``min=``, ``metavar=``...)."""
    meta: dict[str, Any] = {"help": help, "flags": flags, "option": option}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class TrainSettings:
    """Settings shared by every trainer's config (the root of the TrainConfig family:
    `diffusion.training.TrainConfig` for step-based, `tasks.ctc.epochs.EpochTrainConfig` for
    epoch-based training); saved in the checkpoint next to the model config."""

    lr: float = 1e-4  # peak learning rate (AdamW)
    warmup_steps: int = 100  # linear learning-rate warm-up, in optimizer steps
    weight_decay: float = 0.0  # AdamW weight decay
    grad_clip: float = 1.0  # max gradient norm; 0 disables clipping
    seed: int = 0  # random seed
    max_minutes: float = 0.0  # wall-clock budget (--minutes): stop and save after it; 0 = none


class TrainingInterrupted(VoxlateError):
    """Training stopped on Ctrl-C after saving a checkpoint."""

    exit_code = 130

    def __init__(self, checkpoint: str | Path | None, step: int) -> None:
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.step = step
        where = (
            f"checkpoint saved to {checkpoint}"
            if checkpoint is not None
            else "no checkpoint was written"
        )
        super().__init__(f"Training interrupted at step {step}; {where}.")


def format_eta(seconds: float) -> str:
    """'1:02:03', '4:05' or '0:07' for a duration in seconds."""
    s = max(0, int(round(seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainRun:
    """The clock, the Ctrl-C flag and the progress bar of one training run.

    >>> with TrainRun(minutes=5, total=1000) as run:
    ...     while step < 1000 and not run.stop:
    ...         ...  # one optimizer step
    ...         run.advance(loss=f"{loss:.3f}")

    minutes: time budget (0: none); total: steps planned (the bar's length, may be
    refined with `set_total`); initial: steps already done (a resumed run);
    progress: show the bar; desc: its label.
    """

    def __init__(
        self,
        minutes: float,
        total: int,
        initial: int = 0,
        progress: bool = True,
        desc: str | None = None,
    ) -> None:
        self.minutes = minutes
        self.total = total
        self.initial = initial
        self.step = initial
        self.progress = progress
        self.desc = desc
        self.interrupted = False
        self._start = time.monotonic()
        self._bar: tqdm | None = None
        self._previous: Any = None
        self._installed = False
        self._postfix: dict[str, Any] = {}

    # -- lifetime ------------------------------------------------------------------
    def start(self) -> TrainRun:
        """Start the clock, show the bar and catch Ctrl-C (in the main thread only)."""
        self._start = time.monotonic()
        self._bar = tqdm(
            total=self.total,
            initial=self.initial,
            disable=not self.progress,
            unit="step",
            desc=self.desc,
            dynamic_ncols=True,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
        )
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            self._installed = True
        return self

    def close(self) -> None:
        """Close the bar and give Ctrl-C back to what handled it before."""
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> TrainRun:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.interrupted:  # a second Ctrl-C: abort now
            self.close()
            raise KeyboardInterrupt
        self.interrupted = True
        print(
            "\nCtrl-C: stopping after this step to save a checkpoint (press again to abort).",
            file=sys.stderr,
            flush=True,
        )

    # -- state ---------------------------------------------------------------------
    @property
    def elapsed_s(self) -> float:
        """Wall seconds since `start`."""
        return time.monotonic() - self._start

    @property
    def out_of_time(self) -> bool:
        """Whether the time budget is spent."""
        return self.minutes > 0 and self.elapsed_s >= 60.0 * self.minutes

    @property
    def stop(self) -> bool:
        """Whether the trainer should stop now (Ctrl-C or budget spent) and save."""
        return self.interrupted or self.out_of_time

    def eta_s(self) -> float | None:
        """Seconds left: the sooner of the planned steps' end and the budget's end."""
        done = self.step - self.initial
        left: list[float] = []
        if done > 0 and self.total > self.step:
            left.append(self.elapsed_s / done * (self.total - self.step))
        elif self.total <= self.step:
            left.append(0.0)
        if self.minutes > 0:
            left.append(60.0 * self.minutes - self.elapsed_s)
        return max(0.0, min(left)) if left else None

    # -- progress ------------------------------------------------------------------
    def set_total(self, total: int) -> None:
        """Refine the planned number of steps (e.g. once an epoch's length is known)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def advance(self, n: int = 1, **postfix: Any) -> None:
        """Count `n` steps done; `postfix` (e.g. loss='0.123') is shown on the bar."""
        self.step += n
        self._postfix.update(postfix)
        if self._bar is not None and not self._bar.disable:
            eta = self.eta_s()
            shown = dict(self._postfix)
            if eta is not None:
                shown["ETA"] = format_eta(eta)
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(n)

    def write(self, line: str) -> None:
        """Print a line above the bar (stderr)."""
        tqdm.write(line, file=sys.stderr)
