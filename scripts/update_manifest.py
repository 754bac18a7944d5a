"""Refresh sha256 and bytes of every entry in src/voxlate/checkpoints/manifest.json.

A developer's step after replacing a shipped checkpoint: edit its entry (command, data,
figures, date) by hand, then run ``python scripts/update_manifest.py``. Exits 1 when a
listed file is missing (its entry is left as it was) or a .pt file in the folder is not
listed (nothing written).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "voxlate" / "checkpoints"
sys.path.insert(0, str(ROOT.parents[1]))

from voxlate.audio import write_text_atomic  # noqa: E402
from voxlate.parts import file_sha256  # noqa: E402
from voxlate.shipped import MANIFEST  # noqa: E402


def main() -> int:
    path = ROOT / MANIFEST
    blob = json.loads(path.read_text(encoding="utf-8"))
    listed = {e["name"] for e in blob["checkpoints"]}
    unlisted = sorted(p.name for p in ROOT.glob("*.pt") if p.name not in listed)
    if unlisted:
        print(f"not in the manifest: {', '.join(unlisted)}", file=sys.stderr)
        return 1
    missing = 0
    for e in blob["checkpoints"]:
        f = ROOT / e["name"]
        if not f.is_file():
            print(f"missing (entry left as it was): {f}", file=sys.stderr)
            missing += 1
            continue
        e["sha256"], e["bytes"] = file_sha256(f), f.stat().st_size
        print(f"{e['name']}: {e['bytes']} bytes, sha256 {e['sha256'][:12]}...")
    write_text_atomic(path, json.dumps(blob, indent=1, ensure_ascii=False) + "\n")
    total = sum(e["bytes"] for e in blob["checkpoints"]) / 1e6
    print(f"{len(blob['checkpoints'])} files, {total:.1f} MB -> {path}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
