"""Kokoro's ONNX graph with one more input: a per-token cap on the predicted durations.

Kokoro predicts how many frames (25 ms each) every token lasts, then decodes that many
frames. The pad tokens at both ends of a piece get ~0.45 s each and the final
punctuation more: about 1 s of silence per call that the decoder pays for in full and
`kokoro.trim` then cuts. A live clause of 1-2 s of speech spends a third of its cost there.

`capped_model(path)` returns the model's bytes with a ``Min(durations, dur_cap)`` node
inserted before the durations are rounded, and ``dur_cap`` (float32, [1, tokens]) added
to the graph's inputs; a cap of `NO_CAP` keeps the model's own duration. The edit is made
on the protobuf wire format (no `onnx` package needed): the node list and the inputs of
the graph are rewritten, every other byte (weights included) is copied as it is.
"""

from __future__ import annotations

DURATIONS = "/encoder/Div_output_0"  # predicted frames per token, / speed, before Round
ROUND_NODE = "/encoder/Round"  # the node that reads them
CAP_INPUT = "dur_cap"  # the added input
CAPPED = "voxlate/capped_durations"  # the added node's output
NO_CAP = 1.0e4  # frames: larger than any predicted duration

# ModelProto.graph, GraphProto.node / .input, NodeProto.input / .output / .name / .op_type
_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_INPUT = 7, 1, 11
_NODE_INPUT, _NODE_OUTPUT, _NODE_NAME, _NODE_OP = 1, 2, 3, 4


class GraphPatchError(ValueError):
    """The model is not the Kokoro graph this patch knows (a node or field is missing)."""


def _varint(buf: bytes | memoryview, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _enc_varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf: bytes | memoryview) -> list[tuple[int, int, int, int, int]]:
    """Top-level fields of a message: (number, wire type, start, payload start, end)."""
    out = []
    i, n = 0, len(buf)
    while i < n:
        start = i
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(buf, i)
            payload = start
        elif wire == 1:
            payload, i = i, i + 8
        elif wire == 5:
            payload, i = i, i + 4
        elif wire == 2:
            size, payload = _varint(buf, i)
            i = payload + size
        else:
            raise GraphPatchError(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, start, payload, i))
    return out


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _enc_varint(number << 3 | 2) + _enc_varint(len(payload)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return _enc_varint(number << 3) + _enc_varint(value)


def _strings(buf: bytes | memoryview, number: int) -> list[str]:
    return [bytes(buf[p:e]).decode() for f, w, _, p, e in _fields(buf) if f == number and w == 2]


def _cap_node() -> bytes:
    return (
        _bytes_field(_NODE_INPUT, DURATIONS.encode())
        + _bytes_field(_NODE_INPUT, CAP_INPUT.encode())
        + _bytes_field(_NODE_OUTPUT, CAPPED.encode())
        + _bytes_field(_NODE_NAME, b"voxlate/cap_durations")
        + _bytes_field(_NODE_OP, b"Min")
    )


def _cap_input() -> bytes:
    """ValueInfoProto: dur_cap, float32 tensor of shape [1, sequence_length]."""
    dims = _bytes_field(1, _varint_field(1, 1)) + _bytes_field(
        1, _bytes_field(2, b"sequence_length")
    )
    tensor = _varint_field(1, 1) + _bytes_field(2, dims)  # elem_type FLOAT, shape
    return _bytes_field(1, CAP_INPUT.encode()) + _bytes_field(2, _bytes_field(1, tensor))


def _round_reading_cap(node: memoryview) -> bytes:
    """The Round node with its input `DURATIONS` replaced by `CAPPED`."""
    out = bytearray()
    for f, w, s, p, e in _fields(node):
        if f == _NODE_INPUT and w == 2 and bytes(node[p:e]) == DURATIONS.encode():
            out += _bytes_field(_NODE_INPUT, CAPPED.encode())
        else:
            out += node[s:e]
    return bytes(out)


def _patch_graph(graph: memoryview) -> bytes:
    out = bytearray()
    found = False
    for f, w, s, p, e in _fields(graph):
        if f == _GRAPH_NODE and w == 2:
            node = graph[p:e]
            if _strings(node, _NODE_NAME) == [ROUND_NODE]:
                if DURATIONS not in _strings(node, _NODE_INPUT):
                    raise GraphPatchError(f"{ROUND_NODE} does not read {DURATIONS}")
                out += _bytes_field(_GRAPH_NODE, _cap_node())
                out += _bytes_field(_GRAPH_NODE, _round_reading_cap(node))
                found = True
                continue
        elif f == _GRAPH_INPUT and w == 2 and _strings(graph[p:e], 1) == [CAP_INPUT]:
            raise GraphPatchError("the model already has a duration cap")
        out += graph[s:e]
    if not found:
        raise GraphPatchError(f"no node {ROUND_NODE} in the model")
    out += _bytes_field(_GRAPH_INPUT, _cap_input())
    return bytes(out)


def capped_model(data: bytes) -> bytes:
    """The serialized Kokoro model `data` with the ``dur_cap`` input (see the module doc)."""
    buf = memoryview(data)
    out = bytearray()
    patched = False
    for f, w, s, p, e in _fields(buf):
        if f == _MODEL_GRAPH and w == 2:
            out += _bytes_field(_MODEL_GRAPH, _patch_graph(buf[p:e]))
            patched = True
        else:
            out += buf[s:e]
    if not patched:
        raise GraphPatchError("no graph in the model")
    return bytes(out)
