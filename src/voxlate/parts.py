"""Models shipped in pieces across PyPI packages, assembled into a local cache and checked on load.

PyPI caps the size of one wheel, so some embedded models (Whisper base, a GGUF
LLM) ship as several "part" packages whose data files concatenate, in order, to
the model file. `assemble` finds the parts with importlib.resources, writes the
concatenation to a temporary file in the cache, checks its SHA-256 and renames
it into place, under a file lock so that two processes using the model for the
first time at once do not collide. Nothing here touches the network.

Every load checks the cached files again (`assemble` is called by every load):
a stamp of each file (size, mtime_ns, ctime_ns, inode, device) is kept beside it,
taken when its SHA-256 was last verified; while the stamp holds the check is a few
`stat` calls, and when it changed the whole file is hashed again. A file that no
longer matches (overwritten, truncated, replaced by a link) is re-assembled from
the packages, with one line on stderr. The cache folders must be private to their
owner (`private_folder`) and lock files are opened without following links and
never truncated (`file_lock`).

The cache is ``$VOXLATE_CACHE``, else ``$XDG_CACHE_HOME/voxlate``, else
``~/.cache/voxlate``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from voxlate.errors import EngineError, MissingDependencyError

CHUNK = 1 << 22  # bytes copied and hashed at a time (4 MiB)
FOLDER_MODE = 0o755  # folders the cache makes: readable by all, writable by the owner only
LOCK_NAME = ".lock"
STAMP_SUFFIX = ".verified"  # `.NAME.verified` beside a cached file: its stamps (JSON)


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
    """Hex SHA-256 of a file's bytes, read in `CHUNK` blocks (a symbolic link is not followed)."""
    h = hashlib.sha256()
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as f:
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


# -- folders and locks ---------------------------------------------------------------


def private_folder(folder: Path, root: Path | None = None) -> Path:
    """`folder`, made if missing (mode 0755), once it is safe to keep models in.

    Refused with EngineError (one sentence naming the folder and the fix): a folder from
    `root` (default: `folder` itself) down to `folder` that belongs to another user (root
    excepted) or that group or others may write, and any folder above it that everyone
    may write without the sticky bit (/tmp is fine). Anyone who can write there could
    swap the model voxlate loads, or plant links for it to follow.
    """
    top = root if root is not None else folder
    missing = []
    p = folder
    while not os.path.lexists(p) and p != p.parent:
        missing.append(p)
        p = p.parent
    for p in reversed(missing):
        try:
            os.mkdir(p, FOLDER_MODE)  # the mode is masked by the umask, never widened
        except FileExistsError:
            pass  # made by a process running beside this one
        except OSError as e:
            raise EngineError(f"Cannot make the model cache folder {p}: {e.strerror}.") from e
    chain = [folder, *folder.parents]
    own = chain[: chain.index(top) + 1] if top in chain else [folder]
    for p in own:
        _check_private(p)
    for p in Path(os.path.realpath(own[-1])).parents:
        st = os.stat(p)
        if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
            raise EngineError(
                f"The folder {p} above the model cache is writable by everyone; "
                f"fix it with: chmod o-w {p} (or set VOXLATE_CACHE to a private folder)."
            )
    return folder


def _check_private(p: Path) -> None:
    try:
        st = os.stat(p)
    except OSError as e:
        raise EngineError(f"Cannot use the model cache folder {p}: {e.strerror}.") from e
    if not stat.S_ISDIR(st.st_mode):
        raise EngineError(f"The model cache folder {p} is not a folder; remove it or move it.")
    if st.st_uid not in (os.geteuid(), 0):
        raise EngineError(
            f"The model cache folder {p} belongs to another user (uid {st.st_uid}); "
            f"fix it with: chown -R {os.geteuid()} {p} (or set VOXLATE_CACHE to a folder of yours)."
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise EngineError(
            f"The model cache folder {p} is writable by other users; fix it with: chmod go-w {p}"
        )


def open_lock(path: Path) -> int:
    """A descriptor of the lock file `path`: created if missing (0600), never truncated,
    and refused (EngineError) when it is a symbolic link or not a regular file."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise EngineError(
                f"The lock file {path} is a symbolic link; remove it (rm {path}) and run again."
            ) from e
        raise EngineError(f"Cannot open the lock file {path}: {e.strerror}.") from e
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise EngineError(
            f"The lock file {path} is not a regular file; remove it (rm {path}) and run again."
        )
    return fd


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on the lock file `path` (see `open_lock`)."""
    fd = open_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a second process waits here
        yield
    finally:
        os.close(fd)  # releases the lock


# -- verified files --------------------------------------------------------------------


def file_stamp(path: Path) -> str | None:
    """Size, mtime_ns, ctime_ns, inode and device of the regular file `path` (not followed
    through a link); None when it is missing or not a regular file. ctime cannot be set
    back by a user, so a rewrite that restores size and mtime still changes the stamp."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}:{st.st_dev}"


def _read_marker(path: Path) -> dict:
    """A stamp file's JSON object, or {} if it is missing, a link or unreadable."""
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as f:
            data = json.loads(f.read(1 << 16))
    except (OSError, ValueError):
        return {}  # missing, a link, or not JSON: verify by hashing
    return data if isinstance(data, dict) else {}


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """`data` to a temp file beside `path`, renamed onto it (a link at `path` is replaced)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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


def _trusted(folder: Path, marker: dict, sources: str, names: list[str]) -> bool:
    """Whether every file was verified for these sources and has not changed since."""
    verified = marker.get("verified")
    return (
        marker.get("sources") == sources
        and isinstance(verified, dict)
        and all((s := file_stamp(folder / n)) is not None and verified.get(n) == s for n in names)
    )


def assemble(model: PartedModel) -> Path:
    """The folder holding `model.filename` (and its extra files), assembled and verified.

    Called on every load: a cached file whose stamp changed since it was verified is
    hashed again, and one that fails (or is missing, truncated, or a link) is written
    again from the packages, temp file then rename; a file that was there and had to be
    rewritten is reported with one line on stderr.

    Raises `MissingDependencyError` when a part package is not installed,
    `EngineError` when the assembled file's checksum is wrong (the cache then holds no
    partial file) or when the cache folder is not private (`private_folder`).
    """
    sources = [_resource(pkg, path, model.pip) for pkg, path in model.parts]
    extras = [_resource(pkg, path, model.pip) for pkg, path in model.extra_files]
    root = cache_dir()
    folder = private_folder(root / model.name, root)
    marker_path = folder / f".{model.filename}{STAMP_SUFFIX}"
    src_stamp = f"{model.sha256}\n{_stamp(sources)}"
    names = [model.filename, *(src.name for src in extras)]
    if _trusted(folder, _read_marker(marker_path), src_stamp, names):
        return folder  # the usual load: a few stat calls
    with file_lock(folder / LOCK_NAME):
        marker = _read_marker(marker_path)  # another process may have just verified it
        if _trusted(folder, marker, src_stamp, names):
            return folder
        old = marker.get("verified") if marker.get("sources") == src_stamp else None
        old = old if isinstance(old, dict) else {}
        # each cached file: the SHA-256 it must have and the installed files it is made of
        plan = {src.name: (file_sha256(src), [src]) for src in extras}
        plan[model.filename] = (model.sha256, sources)  # last: the big one
        verified: dict[str, str] = {}
        repaired: list[str] = []
        for name, (want, parts) in plan.items():
            path = folder / name
            stamp = file_stamp(path)
            if stamp is not None and (old.get(name) == stamp or file_sha256(path) == want):
                verified[name] = stamp  # unchanged, or changed but still the right bytes
                continue
            if os.path.lexists(path):
                repaired.append(name)
            _write_checked(path, want, parts, model)
            verified[name] = file_stamp(path) or ""
        _write_atomic(
            marker_path, json.dumps({"sources": src_stamp, "verified": verified}).encode()
        )
    if repaired:
        say_repaired(repaired, folder)
    return folder


def say_repaired(names: list[str], folder: Path) -> None:
    """The one stderr line that says cached files were bad and were written again."""
    print(
        f"voxlate: repaired the model cache: {', '.join(names)} in {folder} did not "
        "match its checksum and was rebuilt from the installed packages",
        file=sys.stderr,
    )


def verified_file(path: Path, sha256: str) -> bool:
    """Whether `path` is a regular file (not a link) whose SHA-256 is `sha256`.

    Its stamp is kept beside it (``.NAME.verified``) when the hash was verified; while the
    stamp holds this is one `stat`, else the file is hashed again. Call it under the
    folder's `file_lock`: it may write the stamp.
    """
    stamp = file_stamp(path)
    if stamp is None:
        return False
    marker = path.with_name(f".{path.name}{STAMP_SUFFIX}")
    seen = _read_marker(marker)
    if seen.get("sha256") == sha256 and seen.get("stamp") == stamp:
        return True
    if file_sha256(path) != sha256:
        return False
    _write_atomic(marker, json.dumps({"sha256": sha256, "stamp": stamp}).encode())
    return True


def _write_checked(dest: Path, want: str, parts: list[Path], model: PartedModel) -> None:
    """Concatenate `parts` into a temp file beside `dest`; rename it onto `dest` (replacing
    whatever is there, a link included) only if its SHA-256 is `want`."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for src in parts:
                with open(src, "rb") as f:
                    while block := f.read(CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != want:
            raise EngineError(
                f"The assembled {model.name} model has the wrong checksum; "
                f"reinstall its parts with: pip install --force-reinstall {model.pip}"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
