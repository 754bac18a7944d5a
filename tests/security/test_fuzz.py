"""Property tests, bounded in time: the decoder and the WebSocket message parser never crash.

Any bytes given to the decoder give finite mono samples or an InputError; any text given
to the live message parser gives a message dict or a one-sentence reason.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxlate.audio_decode import decode_file
from voxlate.errors import InputError
from voxlate.server.live_ws import parse_flag, parse_message

MAGICS = [b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC", b"OggS", b"\x1a\x45\xdf\xa3",
          b"\x00\x00\x00\x18ftypM4A ", b"ID3\x03", b"\xff\xfb", b"\xff\xf1", b"#EXTM3U\n",
          b"FORM\x00\x00\x00\x00AIFF", b"#!AMR\n", b"caff"]  # fmt: skip


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(magic=st.sampled_from(MAGICS), body=st.binary(max_size=2048))
def test_decoder_gives_audio_or_input_error(tmp_path_factory, magic, body):
    path = tmp_path_factory.mktemp("fuzz") / "x.bin"
    path.write_bytes(magic + body)
    try:
        samples, rate = decode_file(path, 16_000, max_seconds=5.0, name="the file")
    except InputError as e:
        assert str(path) not in str(e)
        return
    assert samples.ndim == 1 and rate == 16_000
    assert np.isfinite(samples).all() and len(samples) <= 5 * 16_000 + 16_000


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=300),
        json_values.map(lambda v: json.dumps(v)),
        st.dictionaries(st.sampled_from(["type", "partials", "source"]), json_values).map(
            json.dumps
        ),
        st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)).map(
            lambda s: json.dumps({"type": s})
        ),
    )
)
def test_message_parser_never_raises(text):
    out = parse_message(text)
    if isinstance(out, str):
        assert out.startswith("malformed message")
    else:
        assert isinstance(out, dict) and isinstance(out["type"], str)
        json.dumps(out, ensure_ascii=False).encode("utf-8")  # can be echoed back
        assert parse_flag(out.get("partials", False)) in (True, False, None)
