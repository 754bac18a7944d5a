"""What a batch run translates with, and which inputs it can skip.

An item is done when its wav and its JSON report exist and the report's ``batch`` record
holds the same input checksum (SHA-256 of the file's bytes) and the same options. The
report is written last, after the wav (and srt), each atomically: a run killed between
the two leaves a report that is missing or stale, so the item is redone.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from voxlate.batch.discover import BatchItem, file_kind
from voxlate.parts import CHUNK, file_sha256
from voxlate.pipeline.engines import EngineSpecs
from voxlate.pipeline.voice.mode import parse_voice


@dataclass(frozen=True)
class BatchOptions:
    """The translate options of a batch: the same for every input, recorded in each report."""

    source: str  # spoken language (ISO 639-1)
    target: str  # language to speak (ISO 639-1)
    specs: EngineSpecs = EngineSpecs()  # engine per stage, as for `voxlate translate`
    enhance_mode: str = "auto"  # always | never | auto
    end_silence_s: float = 0.4  # silence that ends an utterance (s)
    max_utterance_s: float = 12.0  # longest utterance (s)
    srt: bool = False  # also write <stem>.<target>.srt
    split_over_s: float = (
        0.0  # recordings longer than this (s) go in parts to several workers; 0: never
    )
    # Inputs longer than this (s) fail while decoding; None: no limit. Not in the record:
    # it changes no output, so raising it does not redo finished inputs.
    max_audio_s: float | None = None

    def record(self) -> dict[str, Any]:
        """The options as JSON data, as a report records them (a reference voice by checksum)."""
        d = asdict(self)
        del d["max_audio_s"]
        ref = parse_voice(self.specs.voice).reference
        if ref is not None and Path(ref).is_file():
            d["voice_sha256"] = file_sha256(ref)
        return json.loads(json.dumps(d))  # tuples -> lists, as they come back from a file


class NotRegularInput(Exception):
    """An input that is a FIFO, a device, a socket or a link to one: skipped, never read."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # 'a FIFO', 'a character device', ...


def input_sha256(path: str | os.PathLike, chunk: int = CHUNK) -> tuple[str, int]:
    """(SHA-256 hex, size in bytes) of an input, read only if it is a regular file.

    Its kind is checked before it is opened and again on the open descriptor, and it is
    opened without blocking (a FIFO with no writer would block the open), so a file
    swapped for a FIFO or a link to /dev/zero after the check is refused too
    (NotRegularInput); OSError when it cannot be opened.
    """
    kind = file_kind(os.stat(path).st_mode)  # a socket cannot even be opened
    if kind is not None:
        raise NotRegularInput(kind)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        kind = file_kind(st.st_mode)
        if kind is not None:
            raise NotRegularInput(kind)
        h = hashlib.sha256()
        while block := f.read(chunk):
            h.update(block)
        return h.hexdigest(), st.st_size


def batch_record(sha256: str, options: dict[str, Any]) -> dict[str, Any]:
    """The ``batch`` entry of a report: what the outputs were made from."""
    return {"input_sha256": sha256, "options": options}


def is_done(item: BatchItem, sha256: str, options: dict[str, Any]) -> bool:
    """Whether `item`'s outputs exist and were made from these bytes with these options."""
    if not (item.output.is_file() and item.report.is_file()):
        return False
    if item.srt is not None and not item.srt.is_file():
        return False
    try:
        rep = json.loads(item.report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(rep, dict) and rep.get("batch") == batch_record(sha256, options)


def remove_stale_temps(item: BatchItem) -> None:
    """Delete temp files that a killed worker left beside `item`'s outputs.

    `atomic_path` writes ``.<name>.<random><suffix>`` and renames it; a process killed
    with SIGKILL never reaches its clean-up.
    """
    for out in item.outputs:
        if out.parent.is_dir():
            for tmp in out.parent.glob(f".{out.name}.*"):
                tmp.unlink(missing_ok=True)
