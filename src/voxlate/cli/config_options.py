"""A trainer's options generated from its frozen config dataclass: each field declared once.

A field made with `voxlate.training.setting(default, help, *flags)` carries its help and,
where the flag is not the field's name in kebab case, its spellings; `config_command(Cls)`
then replaces the command's ``config: Cls`` parameter by one typer option per field (same
default, same help), and calls the command with the instance those options build:

    @app.command("train")
    @config_command(EnhanceTrainOptions)
    def train_cmd(out: Path = typer.Option(...), config: EnhanceTrainOptions = ...) -> None:
        ...

Typer reads the command's ``__signature__``, so `--help`, defaults, hidden aliases and
parsing are those of hand-written options.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def config_parameters(cls: type) -> list[inspect.Parameter]:
    """One keyword parameter per field of the dataclass `cls`: ``Annotated[type, Option]``."""
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if "help" not in meta:
            raise TypeError(f"{cls.__name__}.{f.name} has no help: declare it with setting().")
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            raise TypeError(f"{cls.__name__}.{f.name} has no default.")
        option = typer.Option(*meta.get("flags", ()), help=meta["help"], **meta.get("option", {}))
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                annotation=Annotated[hints[f.name], option],
            )
        )
    return params


def config_command(cls: type, param: str = "config") -> Callable[[F], F]:
    """Decorator: the command's parameter `param` (a `cls`) becomes `cls`'s options, in its
    place; the command receives ``cls(**values)``."""
    names = [f.name for f in dataclasses.fields(cls)]

    def decorate(fn: F) -> F:
        hints = typing.get_type_hints(fn, include_extras=True)
        sig = inspect.signature(fn)
        before: list[inspect.Parameter] = []
        after: list[inspect.Parameter] = []
        found = False
        for p in sig.parameters.values():
            if p.name == param:
                found = True
                continue
            p = p.replace(annotation=hints.get(p.name, p.annotation), kind=p.KEYWORD_ONLY)
            (after if found else before).append(p)
        if not found:
            raise TypeError(f"{fn.__name__} has no parameter {param!r}.")
        clash = {p.name for p in before + after} & set(names)
        if clash:
            raise TypeError(f"{fn.__name__}: {sorted(clash)} are both parameters and fields.")

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            config = cls(**{n: kwargs.pop(n) for n in names})
            return fn(**kwargs, **{param: config})

        params = [*before, *config_parameters(cls), *after]
        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__  # typer reads __signature__, not the wrapped function's
        return command  # type: ignore[return-value]

    return decorate
