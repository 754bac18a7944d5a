"""Kokoro's ONNX graph edited to skip the edge silence it would make (issue 26).

Kokoro (StyleTTS 2) predicts a duration in frames for every token; the decoder (the
iSTFTNet generator, ~90 % of the work) then makes 600 samples (25 ms) per frame. For the
leading pad token it predicts ~20 frames, for a final mark ~8 and for the last sound ~17,
mostly silent before a final mark: ~1 s of audio per call that `kokoro.trim` cuts again, 40-50 % of a short
clause's work. Capping the durations themselves loses first words (the prosody predictor
needs the leading silence to start the first word loud), so `edit` leaves the predictor
alone and cuts the frames over a per-token cap from the decoder's inputs instead. The caps
come with each call (`frame_caps`); everything else is the shipped graph, not optimised
for this host.

`cached_edit` keeps the edited file beside the source, named by the source's SHA-256 and
`EDIT_VERSION`, with a record of its own SHA-256 (checked on every load: a bad file is
rebuilt). The caller falls back to the shipped model if anything here fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voxlate.parts import verified_file

EDIT_VERSION = 1  # bump when `edit` changes: names a new cached file
DURATIONS = "/encoder/Gather_output_0"  # per-token frames, int64 (T,): Clip -> Cast -> Gather
ASR = "/encoder/MatMul_1_output_0"  # text features aligned to frames (1, C, frames)
F0 = "/encoder/F0_proj/Conv_output_0"  # pitch, 2 per frame (1, 1, 2 * frames)
ENERGY = "/encoder/N_proj/Conv_output_0"  # energy, 2 per frame (1, 1, 2 * frames)
PREFIX = "voxlate_edge_cap"  # names of the inserted nodes and tensors
CAP_INPUT = "max_frames"  # the new input: per-token cap on the frames decoded
NO_CAP = 1 << 20  # a cap that never binds
HEAD_FRAMES = 8  # leading pad: frames decoded (predicted ~20; the speech starts ~2 early)
LAST_FRAMES = 6  # the last sound before a final mark (predicted ~17; 2 lost a final "s")


def frame_caps(ids: Sequence[int], silent: Collection[int]) -> np.ndarray:
    """`CAP_INPUT` for ``[0, *ids, 0]``: the leading pad keeps `HEAD_FRAMES`, the trailing
    pad and final marks none, and the last sound before a final mark `LAST_FRAMES`. Without
    a final mark (a clause cut mid-sentence) the last sound keeps all its frames: capped, a
    final "s" was lost ("estás" -> "está")."""
    caps = np.full((1, len(ids) + 2), NO_CAP, np.int64)
    caps[0, 0] = HEAD_FRAMES
    k = len(ids) + 1
    caps[0, k] = 0  # trailing pad
    while k > 2 and ids[k - 2] in silent:  # ids[k - 2] is at position k - 1
        k -= 1
        caps[0, k] = 0
    if k <= len(ids):  # a final mark was cut: cap the sound before it
        caps[0, k - 1] = LAST_FRAMES
    return caps


class GraphEditError(Exception):
    """The graph is not the one `edit` knows how to change."""


def _durations_node(graph):  # type: ignore[no-untyped-def]
    """The node that outputs the per-token durations, checked by its producers' kinds."""
    producer = {o: n for n in graph.node for o in n.output}
    node = producer.get(DURATIONS)
    chain = []
    n = node
    for _ in range(4):
        if n is None:
            break
        chain.append(n.op_type)
        n = producer.get(n.input[0])
    if chain != ["Gather", "Cast", "Clip", "Round"]:
        raise GraphEditError(f"no Round -> Clip -> Cast -> Gather durations at {DURATIONS}")
    return node


def edit(model):  # type: ignore[no-untyped-def]
    """`model` (an onnx ModelProto, changed in place and returned) with one more input,
    `CAP_INPUT` (int64, shape (1, T) like ``tokens``): at most that many frames of each
    edge token reach the decoder.

    The prosody predictor still sees every predicted frame (it needs the leading silence:
    capping the durations themselves makes the first word fade out); the frames over the
    cap are cut from the decoder's three inputs (aligned text features, F0, energy).
    Frames are cut from the start for the first token and from the end for all the others,
    so only edge tokens may be capped. A cap of `NO_CAP` cuts nothing.
    """
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    if any(i.name == CAP_INPUT for i in g.input):
        raise GraphEditError("the graph is already edited")
    _durations_node(g)
    tokens = next((i for i in g.input if i.name == "tokens"), None)
    if tokens is None:
        raise GraphEditError("the graph has no 'tokens' input")
    targets = (ASR, F0, ENERGY)
    users = {t: [n for n in g.node if t in n.input] for t in targets}
    if not all(users.values()):
        raise GraphEditError("the decoder's inputs are not where they were")
    cap = helper.make_tensor_value_info(CAP_INPUT, TensorProto.INT64, None)
    cap.type.tensor_type.shape.CopyFrom(tokens.type.tensor_type.shape)
    g.input.append(cap)

    def name(s: str) -> str:
        return f"{PREFIX}/{s}"

    def const(s: str, values: list[int]) -> str:
        g.initializer.append(numpy_helper.from_array(np.array(values, np.int64), name(s)))
        return name(s)

    def node(op: str, inputs: list[str], out: str, **attrs: Any):  # type: ignore[no-untyped-def]
        return helper.make_node(op, inputs, [name(out)], name=name(op + "_" + out), **attrs)

    axis2 = const("axis2", [2])
    nodes = [
        node("Reshape", [CAP_INPUT, const("minus_one", [-1])], "cap"),
        node("Sub", [DURATIONS, name("cap")], "over"),
        node("Max", [name("over"), const("zero", [0])], "drop"),  # frames cut per token
        node("Slice", [name("drop"), const("first", [0]), const("one", [1])], "head"),
        node("ReduceSum", [name("drop")], "total", keepdims=1),
        node("Sub", [name("total"), name("head")], "tail"),
        node("Shape", [ASR], "asr_shape"),
        node("Slice", [name("asr_shape"), axis2, const("three", [3])], "frames"),
        node("Sub", [name("frames"), name("tail")], "end"),
        node("Mul", [name("head"), const("two", [2])], "head2"),  # F0 and energy: 2 per frame
        node("Mul", [name("end"), name("two")], "end2"),
        node("Slice", [ASR, name("head"), name("end"), axis2], "asr"),
        node("Slice", [F0, name("head2"), name("end2"), axis2], "f0"),
        node("Slice", [ENERGY, name("head2"), name("end2"), axis2], "energy"),
    ]
    for target, out in zip(targets, ("asr", "f0", "energy"), strict=True):
        for user in users[target]:
            for k, x in enumerate(user.input):
                if x == target:
                    user.input[k] = name(out)
    g.node.extend(nodes)
    _sort(g)
    return model


def _sort(graph) -> None:  # type: ignore[no-untyped-def]
    """Put `graph`'s nodes in topological order (ONNX requires it), keeping their order
    where it already is one."""
    known = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending = list(graph.node)
    done = []
    while pending:
        rest = []
        for n in pending:
            if all(x in known for x in n.input):
                done.append(n)
                known.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise GraphEditError("the edited graph has a cycle or a missing input")
        pending = rest
    del graph.node[:]
    graph.node.extend(done)


def edited_path(folder: Path, source_sha256: str) -> Path:
    """Where the edited model of the source with `source_sha256` is kept."""
    return folder / f"kokoro-edges{EDIT_VERSION}-{source_sha256[:16]}.onnx"


def cached_edit(source: Path, source_sha256: str) -> Path:
    """The edited model of `source`, built and cached beside it when missing or bad.

    Call it under the folder's file lock, with `source` verified. Raises on any failure.
    """
    out = edited_path(source.parent, source_sha256)
    record_file = out.with_name(f"{out.name}.json")
    if os.path.lexists(out):
        record = _read_record(record_file)
        if (
            record.get("source") == source_sha256
            and record.get("version") == EDIT_VERSION
            and verified_file(out, str(record.get("sha256")))
        ):
            return out
        print(f"voxlate: rebuilding the edited Kokoro model {out.name}: it did not match "
              "its checksum", file=sys.stderr)  # fmt: skip
    import onnx

    data = edit(onnx.load(str(source))).SerializeToString()
    digest = hashlib.sha256(data).hexdigest()
    _write_atomic(out, data)
    record = {"source": source_sha256, "version": EDIT_VERSION, "sha256": digest}
    _write_atomic(record_file, json.dumps(record).encode())
    if not verified_file(out, digest):
        raise GraphEditError("the edited model changed while it was written")
    return out


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, 0o644)  # like the other cached models: readable, written by the owner
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)  # a link at `path` is replaced, never written through
    except BaseException:
        os.unlink(tmp)
        raise


def _read_record(path: Path) -> dict:
    if path.is_symlink():
        return {}
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
