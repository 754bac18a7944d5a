"""The one checkpoint format of every voxlate trainer: config + weights + metadata.

A checkpoint is a plain dict saved with torch.save: the model config as nested plain data
plus the dotted name of its dataclass, the weights (raw and EMA), the optimizer state, the
step, the training config, `extra` (plain data: tokenizers, the learning curve, ...) and
`metadata` (voxlate and torch versions, UTC time written). `load_checkpoint` reads it with
``weights_only=True`` (no arbitrary pickled objects) and rebuilds the config dataclasses,
so resuming and inference need nothing but the file. Only dataclasses inside the
`voxlate` package are rebuilt.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import importlib.metadata
import os
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from voxlate.audio import atomic_path
from voxlate.errors import InputError

FORMAT = "voxlate-checkpoint-1"


def config_to_dict(config: Any) -> dict[str, Any]:
    """A (nested) dataclass as plain dicts, lists and scalars."""
    return dataclasses.asdict(config)


def _build(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return config_from_dict(tp, value)  # type: ignore[arg-type]
    if origin is tuple and isinstance(value, list | tuple):
        return tuple(value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in typing.get_args(tp):
            if dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return config_from_dict(arg, value)  # type: ignore[arg-type]
    return value


def config_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild dataclass `cls` (and nested dataclasses) from `config_to_dict` output.

    Unknown keys are ignored and missing ones take their defaults, so older checkpoints
    load after a field is added.
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    kwargs = {k: _build(hints.get(k), v) for k, v in data.items() if k in names}
    return cls(**kwargs)


def type_name(obj: Any) -> str:
    return f"{type(obj).__module__}:{type(obj).__qualname__}"


# Config classes that moved since checkpoints were written: old "module:Class" -> new.
MOVED = {
    "voxlate.tasks.speakers.model:SpeakerDiffConfig": (
        "voxlate.engines.voice.speakerdiff:SpeakerDiffConfig"
    ),
    "voxlate.tasks.enhance.model:EnhanceConfig": "voxlate.engines.enhance.score_model:EnhanceConfig",
}


def resolve_type(name: str) -> type:
    name = MOVED.get(name, name)
    module, _, qual = name.partition(":")
    if not module.startswith("voxlate."):
        raise ValueError(f"refusing to rebuild config type outside voxlate: {name}")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    if not dataclasses.is_dataclass(obj):
        raise ValueError(f"{name} is not a dataclass")
    return obj  # type: ignore[return-value]


@dataclass
class Checkpoint:
    """What `load_checkpoint` returns."""

    config: Any  # the task/model config dataclass, rebuilt
    train_config: Any  # the TrainConfig it was trained with (None if absent)
    model: dict[str, torch.Tensor]  # raw weights
    ema: dict[str, torch.Tensor] | None  # EMA weights (preferred for inference)
    optimizer: dict[str, Any] | None  # optimizer state for resuming
    step: int  # optimizer steps taken
    extra: dict[str, Any]  # anything else the trainer stored (loss history, tokenizers, ...)
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)  # versions, time written

    @property
    def inference_weights(self) -> dict[str, torch.Tensor]:
        return self.ema if self.ema is not None else self.model


def save_checkpoint(
    path: str | os.PathLike,
    *,
    config: Any,
    model: dict[str, torch.Tensor],
    ema: dict[str, torch.Tensor] | None = None,
    optimizer: dict[str, Any] | None = None,
    step: int = 0,
    train_config: Any = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (temp file, then rename).

    extra: plain data only (dicts, lists, str, int, float, bool, None, tensors), so that
    it loads with ``weights_only=True``.
    """
    blob = {
        "format": FORMAT,
        "config_type": type_name(config),
        "config": config_to_dict(config),
        "train_config_type": type_name(train_config) if train_config is not None else None,
        "train_config": config_to_dict(train_config) if train_config is not None else None,
        "model": model,
        "ema": ema,
        "optimizer": optimizer,
        "step": step,
        "extra": extra or {},
        "metadata": _metadata(),
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return Path(path)


def _metadata() -> dict[str, Any]:
    try:
        version = importlib.metadata.version("voxlate")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "voxlate": version,
        "torch": torch.__version__.split("+")[0],
        "written_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def load_checkpoint(
    path: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    expect: type | None = None,
) -> Checkpoint:
    """Read a checkpoint written by `save_checkpoint`; InputError if missing or not one.

    expect: the config class the checkpoint must hold (InputError otherwise).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"Checkpoint not found: {p}")
    try:
        blob = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise InputError(f"Cannot read {p} as a voxlate checkpoint ({type(e).__name__}).") from e
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise InputError(f"{p} is not a voxlate checkpoint.")
    config = config_from_dict(resolve_type(blob["config_type"]), blob["config"])
    if expect is not None and not isinstance(config, expect):
        raise InputError(f"{p} holds a {type(config).__name__}, not a {expect.__name__} model.")
    tc = None
    if blob.get("train_config_type"):
        tc = config_from_dict(resolve_type(blob["train_config_type"]), blob["train_config"])
    return Checkpoint(
        config,
        tc,
        blob["model"],
        blob.get("ema"),
        blob.get("optimizer"),
        int(blob.get("step", 0)),
        blob.get("extra") or {},
        blob.get("metadata") or {},
    )


def export_inference(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    half: bool = False,
    expect: type | None = None,
    edit_config: Callable[[Any], Any] | None = None,
) -> Path:
    """Write `src`'s inference weights (EMA if present) with its config, step, training
    config and `extra` to `dst`, without raw weights and optimizer state.

    half: store floating-point weights as float16 (half the bytes; modules loading them
    keep their own float32 parameters, `load_state_dict` casts). Used for the checkpoints
    shipped in the package (`voxlate.shipped`), whose figures are measured on the file.
    expect: the config class `src` must hold (`load_checkpoint`).
    edit_config: maps the config to the one written (e.g. a different default sampler).
    """
    ck = load_checkpoint(src, expect=expect)
    config = ck.config if edit_config is None else edit_config(ck.config)
    weights = {
        k: (v.half() if half and v.is_floating_point() else v).contiguous()
        for k, v in ck.inference_weights.items()
    }
    return save_checkpoint(dst, config=config, model=weights, step=ck.step,
                           train_config=ck.train_config, extra=ck.extra)  # fmt: skip
