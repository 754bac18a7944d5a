"""CoVoST 2 / CVSS-style speech-translation tables read into manifests.

CoVoST 2 ships ``covost_v2.<src>_<tgt>.tsv`` with a header row and the columns
``path``, ``sentence`` (transcript), ``translation``, ``client_id`` and ``split``;
the clips live in Common Voice's ``clips/`` folder. CVSS ships headerless
``<split>.tsv`` files of ``path<TAB>translation``; pass the Common Voice
transcripts separately as `transcripts` ({clip path: sentence}).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from voxlate.data.manifest import ManifestEntry, audio_duration
from voxlate.errors import InputError


def read_covost_tsv(
    tsv: str | os.PathLike,
    clips: str | os.PathLike,
    source_language: str,
    target_language: str,
    split: str | None = None,
    transcripts: dict[str, str] | None = None,
) -> Iterator[ManifestEntry]:
    """Entries of a CoVoST 2 table (header) or a CVSS table (no header).

    split: keep only rows whose ``split`` column equals it (CoVoST 2 only).
    Rows whose clip is missing are skipped.
    """
    t = Path(tsv)
    if not t.is_file():
        raise InputError(f"Table not found: {t}")
    with t.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        return
    header = rows[0] if "path" in rows[0] else None
    body = rows[1:] if header else rows
    for row in body:
        if header:
            rec = dict(zip(header, row, strict=False))
        else:
            rec = {"path": row[0], "translation": row[1] if len(row) > 1 else ""}
        if split is not None and rec.get("split", split) != split:
            continue
        name = rec["path"]
        audio = Path(clips) / name
        if not audio.exists():
            continue
        sentence = rec.get("sentence") or (transcripts or {}).get(name, "")
        yield ManifestEntry(
            audio=str(audio),
            text=sentence,
            duration=audio_duration(audio),
            id=Path(name).stem,
            language=source_language,
            translation=rec.get("translation", ""),
            translation_language=target_language,
            speaker=rec.get("client_id", ""),
        )
