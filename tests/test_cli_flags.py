"""One meaning per flag: `--steps` trains, `--sampling-steps` samples, `--model` is read,
`-d` is `--output-dir`; the old spellings with another meaning still parse, unseen in help."""

from __future__ import annotations

import pytest

from voxlate.cli.conventions import HIDDEN_ALIASES, build_command


def _commands():
    from voxlate.cli import app

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, (*path, name))
        else:
            yield path, cmd

    return list(walk(build_command(app), ()))


def _ctx(cmd):
    import click

    return click.Context(cmd)


def _shown(cmd):
    """{flag as the help shows it: its option} for the command's visible options."""
    shown = {}
    for p in cmd.params:
        if getattr(p, "hidden", False) or p.param_type_name != "option":
            continue
        record = p.get_help_record(_ctx(cmd))
        for part in record[0].replace(",", " ").split() if record else []:
            if part.startswith("-"):
                shown[part] = p
    return shown


COMMANDS = _commands()
SAMPLERS = [
    ("enhance", "run"),
    ("enhance", "export"),
    ("eval", "enhance"),
    ("bench", "enhance"),
    ("digits", "eval"),
    ("generate", "digits"),
    ("speakers", "sample"),
    ("speakers", "eval"),
]


def test_steps_is_training_and_sampling_steps_is_sampling():
    trainers = []
    for path, cmd in COMMANDS:
        shown = _shown(cmd)
        if "--steps" in shown:
            assert shown["--steps"].help.startswith("Optimizer steps"), path
            trainers.append(path)
        if "--sampling-steps" in shown:
            assert "--steps" not in shown, path
    assert {("enhance", "train"), ("digits", "train"), ("speakers", "train")} <= set(trainers)
    for path in SAMPLERS:
        cmd = dict(COMMANDS)[path]
        assert "--sampling-steps" in _shown(cmd), path


@pytest.mark.parametrize("path", SAMPLERS, ids=" ".join)
def test_old_steps_spelling_still_parses(path):
    cmd = dict(COMMANDS)[path]
    (param,) = [p for p in cmd.params if "--sampling-steps" in getattr(p, "opts", [])]
    assert "--steps" in param.opts  # the hidden alias: the same parameter
    parser = cmd.make_parser(_ctx(cmd))
    new, _, _ = parser.parse_args(["--sampling-steps", "7"])
    old, _, _ = parser.parse_args(["--steps", "7"])
    assert new[param.name] == old[param.name] == "7"


def test_model_and_d_have_one_meaning():
    for path, cmd in COMMANDS:
        shown = _shown(cmd)
        if "--model" in shown:
            assert "--output" not in shown["--model"].opts, path  # a checkpoint read
        if "-d" in shown:
            assert "--output-dir" in shown["-d"].opts, path
        if "--out" in shown:
            pytest.fail(f"{' '.join(path)} shows --out")
    # The hidden spellings still parse where they were.
    gen = dict(COMMANDS)[("generate", "digits")]
    values, _, _ = gen.make_parser(_ctx(gen)).parse_args(["-d", "3", "--steps", "5"])
    assert values["digit"] == "3" and values["steps"] == "5"
    train = dict(COMMANDS)[("digits", "train")]
    values, _, _ = train.make_parser(_ctx(train)).parse_args(["--model", "x.pt"])
    assert values["model"] == "x.pt"  # the checkpoint written


def test_help_hides_only_the_aliases(run_cli):
    code, out, _ = run_cli("generate", "digits", "--help")
    assert code == 0
    assert "--sampling-steps" in out and "--steps" not in out and "-d," not in out
    assert "--digit" in out
    code, out, _ = run_cli("transcribe", "--help")
    assert "-d, --output-dir" in out
    code, out, _ = run_cli("batch", "--help")
    assert "-d, -o, --output-dir PATH" in out
    code, out, _ = run_cli("bench", "batch", "--help")
    flat = " ".join(out.split())
    assert "--append, --log PATH" in flat and "[default: print the table only]" in flat
    assert set(HIDDEN_ALIASES) == {"--steps", "--model", "--out", "-d", "--output"}
