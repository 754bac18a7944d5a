"""Dataset layouts read into JSONL manifests (see `voxlate.data.manifest`)."""

from voxlate.data.manifest import ManifestEntry, read_manifest, write_manifest

__all__ = ["ManifestEntry", "read_manifest", "write_manifest"]
