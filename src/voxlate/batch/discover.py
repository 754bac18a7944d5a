"""Finding the recordings of a batch and naming their outputs."""

from __future__ import annotations

import os
import stat
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from voxlate.errors import InputError

# File name suffixes taken as audio when a folder is searched (lower case).
AUDIO_SUFFIXES = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm", ".mp4", ".mkv"}
)


class BatchUsageError(InputError):
    """A batch cannot start: no inputs, a bad folder or option (exit code 2)."""

    exit_code = 2


@dataclass(frozen=True)
class BatchItem:
    """One input recording and the files the batch writes for it."""

    input: Path  # the recording
    output: Path  # OUT_DIR/<stem>.<target>.wav (or under its relative folder)
    report: Path  # the JSON report beside it; written last, it marks the item as done
    srt: Path | None  # subtitles, when asked for

    @property
    def outputs(self) -> tuple[Path, ...]:
        return (self.output, self.report) + ((self.srt,) if self.srt else ())


def file_kind(mode: int) -> str | None:
    """What a file is when it is not a regular file ('a FIFO', ...); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or under it (both resolved)."""
    return path == folder or folder in path.parents


def _input_path(p: Path) -> Path:
    """The path an input is known by: resolved for a regular file (so that two names of one
    file are one input); a link to anything else keeps its own name for the manifest."""
    resolved = p.resolve()
    try:
        regular = stat.S_ISREG(resolved.stat().st_mode)
    except OSError:
        regular = False
    return resolved if regular or not p.is_symlink() else Path(os.path.abspath(p))


def find_audio(inputs: list[Path], exclude: Path | None = None) -> list[Path]:
    """The audio files named by `inputs`, folders searched recursively, in a stable order.

    Hidden files and folders (names starting with '.') are skipped, and so is anything
    whose real path is under `exclude` (the output folder, so that outputs never become
    inputs); an input named on the command line that lies there is a usage error. Files
    that are not regular (FIFOs, devices, sockets, links to them) are returned too: the
    run skips them with a manifest line instead of reading them.
    """
    found: list[Path] = []
    ex = exclude.resolve() if exclude is not None else None
    for given in inputs:
        if ex is not None and given.exists() and inside(given.resolve(), ex):
            raise BatchUsageError(
                f"The input {given} is inside the output folder {exclude}, so each run would "
                "translate the last run's outputs; write them to another folder with -o."
            )
        if given.is_dir():
            for root, dirs, files in os.walk(given):
                r = Path(root)
                dirs[:] = sorted(
                    d
                    for d in dirs
                    if not d.startswith(".") and (ex is None or (r / d).resolve() != ex)
                )
                found += [
                    r / f
                    for f in sorted(files)
                    if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_SUFFIXES
                ]
        elif given.exists():  # a file, or a FIFO or device named on purpose: skipped later
            found.append(given)
        else:
            raise BatchUsageError(f"No such file or folder: {given}")
    paths = (_input_path(p) for p in found)
    unique = list(dict.fromkeys(p for p in paths if ex is None or not inside(p.resolve(), ex)))
    if not unique:
        raise BatchUsageError(
            f"No audio files found in {', '.join(map(str, inputs))} "
            f"(looked for {', '.join(sorted(AUDIO_SUFFIXES))})."
        )
    return unique


def output_names(files: list[Path]) -> dict[Path, Path]:
    """Each file's output name (no extension) relative to the output folder.

    A file's stem, unless several files share it: those keep their folders relative to
    their common ancestor (a/talk.wav, b/talk.wav -> a/talk, b/talk), and if that still
    collides (talk.wav beside talk.mp3) their full file name (talk.wav, talk.mp3).
    Files whose stem is unique keep the flat name whatever else is added later.
    """
    by_stem: dict[str, list[Path]] = defaultdict(list)
    for f in files:
        by_stem[f.stem].append(f)
    names: dict[Path, Path] = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            names[group[0]] = Path(stem)
            continue
        common = Path(os.path.commonpath([str(f.parent) for f in group]))
        rel = {f: f.parent.relative_to(common) / f.stem for f in group}
        if len(set(rel.values())) < len(group):
            rel = {f: f.parent.relative_to(common) / f.name for f in group}
        names.update(rel)
    return names


def plan_items(
    inputs: list[Path], out_dir: Path, target: str, srt: bool = False
) -> list[BatchItem]:
    """The batch's items: every audio file under `inputs` with its output paths in `out_dir`."""
    if out_dir.exists() and not out_dir.is_dir():
        raise BatchUsageError(f"The output folder is a file: {out_dir}")
    files = find_audio(inputs, exclude=out_dir)
    names = output_names(files)
    items = []
    for f in files:
        base = out_dir / names[f]
        stem = f"{base.name}.{target}"
        items.append(
            BatchItem(
                f,
                base.with_name(f"{stem}.wav"),
                base.with_name(f"{stem}.json"),
                base.with_name(f"{stem}.srt") if srt else None,
            )
        )
    return items
