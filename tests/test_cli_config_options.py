"""Trainers generated from their config dataclass: each field is one option, with its help, and
no flags give the dataclass's defaults."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from voxlate.cli.conventions import build_command
from voxlate.tasks.options import (
    CTCTrainOptions,
    DigitsTrainOptions,
    EnhanceTrainOptions,
    SpeakersTrainOptions,
    STTrainOptions,
)

TRAINERS = [
    (("enhance", "train"), EnhanceTrainOptions),
    (("asr", "train"), CTCTrainOptions),
    (("st", "train"), STTrainOptions),
    (("digits", "train"), DigitsTrainOptions),
    (("speakers", "train"), SpeakersTrainOptions),
]


def _command(path):
    from voxlate.cli import app

    cmd = build_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize(("path", "cls"), TRAINERS, ids=lambda x: getattr(x, "__name__", x))
def test_each_field_is_one_option_with_help(path, cls):
    cmd = _command(path)
    options = [p for p in cmd.params if p.param_type_name == "option"]
    for f in dataclasses.fields(cls):
        (param,) = [p for p in options if p.name == f.name]
        assert param.help and param.help == f.metadata["help"], f.name
        flags = f.metadata["flags"] or ("--" + f.name.replace("_", "-"),)
        assert set(flags) <= set(param.opts + param.secondary_opts), f.name
    every = [o for p in options for o in p.opts + p.secondary_opts]
    assert len(every) == len(set(every))  # no flag twice


@pytest.mark.parametrize(("path", "cls"), TRAINERS, ids=lambda x: getattr(x, "__name__", x))
def test_no_flags_give_the_dataclass_defaults(path, cls):
    """The command receives `cls()` when no option is given (its data arguments aside)."""
    cmd = _command(path)
    required = [p for p in cmd.params if p.required]
    args = [a for p in required for a in (p.opts[0], "x") if p.param_type_name == "option"]
    args += ["x" for p in required if p.param_type_name == "argument"]
    ctx = cmd.make_context(path[-1], args)
    values = {f.name: ctx.params[f.name] for f in dataclasses.fields(cls)}
    assert cls(**values) == cls()


def test_command_receives_the_config(monkeypatch):
    """`enhance train --minutes 3 --kind storm` calls train_cmd with those settings."""
    import voxlate.cli.enhance as enhance

    seen = []
    monkeypatch.setattr(
        "voxlate.tasks.enhance.train.train_enhancer", lambda *a, **k: seen.append((a, k)) or "m"
    )
    cmd = _command(("enhance", "train"))
    ctx = cmd.make_context("train", ["--pairs", "p", "--minutes", "3", "--kind", "storm"])
    assert ctx.params["minutes"] == 3.0
    with pytest.MonkeyPatch.context() as m:
        m.setattr("voxlate.data.voicebank.find_pairs", lambda *a: [])
        m.setattr("voxlate.engines.enhance.score_model.storm_config", lambda c, p: c)
        with ctx:
            cmd.invoke(ctx)
    ((args, kwargs),) = seen
    assert args[1].max_minutes == 3.0 and args[2] == Path("models/enhance.pt")
    assert kwargs["stage"] == "joint"
    assert enhance.train_cmd.__name__ == "train_cmd"
    with pytest.raises(Exception, match="valid number") as bad:
        cmd.make_context("train", ["--minutes", "x"])
    assert bad.value.exit_code == 2  # type: ignore[attr-defined]
