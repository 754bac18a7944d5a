"""Checkpoints that ship inside the voxlate package, resolved by name and checked.

The trained models behind the default commands (`voxlate generate digits`, `voxlate
enhance`, `voxlate st translate`, `--voice anonymize`, ...) live in one folder of the
package, ``voxlate/checkpoints/``, beside ``manifest.json``. For each file the manifest
records its sha256, size in bytes, the exact command that trained it, the data it saw and
that data's licence, its measured figures and the date. `shipped_path(name)` finds a file
with importlib.resources and verifies its sha256 against the manifest (once per process
and file version), so a missing or altered checkpoint gives one clear sentence instead of
a silently different model. `voxlate models` prints the manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from voxlate.errors import EngineError
from voxlate.parts import file_sha256

MANIFEST = "manifest.json"  # file name of the manifest inside the checkpoints folder
FORMAT = "voxlate-shipped-1"  # manifest format tag

# Names of the shipped checkpoints, one constant per role (the manifest is the list).
DIGITS_DIFFUSION = "digits-diffusion.pt"
DIGITS_CLASSIFIER = "digits-classifier.pt"
ENHANCE_STORM = "enhance-storm.pt"
ST_FILLETS_CS = "st-fillets-cs.pt"
CTC_FILLETS_CS = "ctc-fillets-cs.pt"
TEXT_MT_FILLETS_CS = "text-mt-fillets-cs.pt"
SPEAKERDIFF = "speakerdiff.pt"


@dataclass(frozen=True)
class ShippedCheckpoint:
    """One manifest entry."""

    name: str  # file name inside voxlate/checkpoints/
    sha256: str  # hex digest of the file
    bytes: int  # file size
    used_by: str  # the command(s) that load it by default
    command: str  # the exact command(s) that trained and exported it
    data: str  # what it was trained on
    licence: str  # licence of that data
    figures: dict[str, Any] = field(default_factory=dict)  # measured figures, name -> value
    date: str = ""  # UTC date the file was written (YYYY-MM-DD)
    notes: str = ""  # anything else a user should know (how measured, caveats)


def checkpoints_dir() -> Path:
    """The package folder holding the shipped checkpoints and manifest.json."""
    return Path(str(resources.files("voxlate").joinpath("checkpoints")))


def manifest(folder: Path | None = None) -> dict[str, ShippedCheckpoint]:
    """The manifest's entries by file name; EngineError when it is missing or unreadable."""
    path = (folder or checkpoints_dir()) / MANIFEST
    try:
        blob = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EngineError(
            f"The shipped-model manifest {path} is missing or unreadable; reinstall voxlate."
        ) from e
    if blob.get("format") != FORMAT:
        raise EngineError(f"{path} is not a voxlate shipped-model manifest ({FORMAT}).")
    return {e["name"]: ShippedCheckpoint(**e) for e in blob["checkpoints"]}


_VERIFIED: set[tuple[str, int, int]] = set()  # (path, size, mtime_ns) already checked


def shipped_path(name: str, folder: Path | None = None) -> Path:
    """The path of shipped checkpoint `name`, its sha256 checked against the manifest.

    Raises EngineError (one sentence, non-zero exit) when the name is not in the manifest,
    or the file is missing or does not match its recorded size and sha256.
    """
    root = folder or checkpoints_dir()
    entries = manifest(root)
    entry = entries.get(name)
    if entry is None:
        known = ", ".join(sorted(entries))
        raise EngineError(f"No shipped checkpoint named {name!r}; shipped: {known}.")
    path = root / name
    if not path.is_file():
        raise EngineError(
            f"The shipped checkpoint {name} is missing from {root}; reinstall voxlate."
        )
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        if st.st_size != entry.bytes or file_sha256(path) != entry.sha256:
            raise EngineError(
                f"The shipped checkpoint {path} does not match the sha256 in its manifest "
                "(altered or corrupt); reinstall voxlate or pass --model."
            )
        _VERIFIED.add(key)
    return path


def shipped_or(path: Path | None, name: str) -> Path:
    """`path` when the user gave one, else the shipped checkpoint `name` (sha256-checked)."""
    return path if path is not None else shipped_path(name)
