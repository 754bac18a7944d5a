"""A command's output files: checked before the work, written as one transaction.

`check_outputs` runs before any model loads: it refuses an output that is one of
the inputs or another output, a folder, anything but a regular file (a device, FIFO,
socket or symbolic link: the rename would replace it), or under a parent that is a
file or not writable. `output_path` reads a path as typed: a trailing slash names a
folder, given the file name the command would choose, or refused. `write_outputs` then writes every file to a temporary name beside its
destination and renames them all only when every one was written; if a rename
fails, the files it replaced are put back. Either all new outputs appear, or the
old ones stay. The path `-` means standard output (written last, after the files).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voxlate.audio import check_replaceable, new_temp_file, temp_beside
from voxlate.errors import InputError

if TYPE_CHECKING:
    from voxlate.audio import Audio

STDIO = "-"  # the path that means standard input or output


def is_stdio(path: str | os.PathLike | None) -> bool:
    """Whether `path` is `-`, standard input or output."""
    return path is not None and str(path) == STDIO


def names_folder(path: str | os.PathLike) -> bool:
    """Whether `path` as typed ends with a slash (`out/` names the folder out)."""
    text = os.fspath(path)
    return isinstance(text, str) and text.endswith(("/", os.sep)) and not is_stdio(text)


def output_path(given: str | os.PathLike | None, name: str | None = None) -> Path | None:
    """An output option as the user typed it, as a path; None stays None and `-` stays `-`.

    A trailing slash (`-o out/`) names a folder: the output is `name` inside it when the
    command names its outputs itself (translate's INPUT.TARGET.wav, transcribe's STEM.txt);
    with no `name` it raises InputError ("... is a folder; give a file name").
    """
    if given is None:
        return None
    if names_folder(given):
        if name is None:
            raise InputError(f"Cannot write {os.fspath(given)}: it is a folder; give a file name.")
        return Path(given) / name
    return Path(given)


def _same(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _writable_parent(p: Path) -> None:
    """Raise InputError unless a file can be created at `p` (its parent made if missing)."""
    parent = p.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"Cannot write {p}: {parent} is a file, not a folder.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"Cannot write {p}: the folder {parent} is not writable.")


def check_outputs(
    outputs: Sequence[str | os.PathLike | None], inputs: Sequence[str | os.PathLike] = ()
) -> list[Path]:
    """Check that every given output can be written without harming an input or another output.

    None entries (an output not asked for) are skipped; `-` (stdout) is allowed once.
    Returns the outputs as paths. Raises InputError with one sentence otherwise.
    """
    ins = [Path(i) for i in inputs if not is_stdio(i)]
    seen: list[Path] = []
    n_stdout = 0
    for o in outputs:
        if o is None:
            continue
        if is_stdio(o):
            n_stdout += 1
            if n_stdout > 1:
                raise InputError("Only one output can go to standard output (-).")
            seen.append(Path(STDIO))
            continue
        if names_folder(o):
            raise InputError(f"Cannot write {os.fspath(o)}: it is a folder; give a file name.")
        p = Path(o)
        for i in ins:
            if _same(p, i):
                raise InputError(f"The output {p} is also an input; choose another output path.")
        for q in seen:
            if str(q) != STDIO and _same(p, q):
                raise InputError(f"Two outputs are the same file: {p}.")
        check_replaceable(p)  # a folder, device, FIFO, socket or symbolic link
        if p.exists() and not os.access(p, os.W_OK):
            raise InputError(f"Cannot write {p}: the file is read-only.")
        _writable_parent(p)
        seen.append(p)
    return seen


@dataclass(frozen=True)
class Output:
    """One file to write: its destination and a function that writes it to a given path."""

    path: Path  # destination; `-` for standard output
    write: Callable[[Path], object]  # writes the whole file at the path it is given


def write_outputs(outputs: Sequence[Output]) -> None:
    """Write all `outputs` as one transaction (temp files, then renames).

    If writing any of them fails, nothing is renamed and the temp files are removed;
    if a rename fails, the destinations already replaced get their old files back.
    """
    temps: list[tuple[Output, Path]] = []
    try:
        for o in outputs:
            tmp = _temp_beside(o.path)
            temps.append((o, tmp))
            o.write(tmp)
        _rename_all([(tmp, o.path) for o, tmp in temps if not is_stdio(o.path)])
        for o, tmp in temps:
            if is_stdio(o.path):
                sys.stdout.flush()
                sys.stdout.buffer.write(tmp.read_bytes())
                sys.stdout.buffer.flush()
    finally:
        for _, tmp in temps:
            if tmp.exists():
                tmp.unlink()


def _temp_beside(dest: Path) -> Path:
    """An empty temp file in `dest`'s folder (made if missing), or for stdout in the temp dir."""
    if is_stdio(dest):
        return new_temp_file(".voxlate-stdout.")
    return temp_beside(dest)


def _rename_all(moves: list[tuple[Path, Path]]) -> None:
    """Rename each temp onto its destination; on failure, restore what was replaced."""
    backups: list[tuple[Path, Path | None]] = []  # (destination, its old file's backup)
    for _, dest in moves:  # checked again before any rename: the work took a while
        check_replaceable(dest)
    try:
        for tmp, dest in moves:
            backup = None
            if dest.exists():
                backup = _temp_beside(dest)
                os.replace(dest, backup)
            backups.append((dest, backup))
            os.replace(tmp, dest)
    except BaseException:
        for dest, backup in reversed(backups):
            if backup is not None:
                os.replace(backup, dest)
            elif dest.exists():
                dest.unlink()
        raise
    for _, backup in backups:
        if backup is not None:
            backup.unlink()


def write_audio(path: str | os.PathLike, audio: Audio) -> None:
    """Write `audio` to a file (format from its extension) or to stdout for `-` (WAV)."""
    from voxlate.audio_encode import audio_format, encode_audio

    data = encode_audio(audio.samples, audio.sample_rate, audio_format(path))
    write_outputs([Output(Path(path), lambda p: p.write_bytes(data))])
