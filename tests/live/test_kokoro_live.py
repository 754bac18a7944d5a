"""`--tts kokoro` in the live pipeline: clause by clause, 24 kHz audio out, in order."""

from __future__ import annotations

import asyncio

import pytest

from voxlate.pipeline.engines import Engines, EngineSpecs, default_tts
from voxlate.pipeline.stream import StreamTranslator
from voxlate.pipeline.stream_events import AudioOut, Latency, Translation
from voxlate.pipeline.stream_io import file_frames

from .conftest import VOICE


def test_live_and_file_defaults():
    assert default_tts("es") == default_tts("es", live=True) == "kokoro"
    assert default_tts("de") == default_tts("de", live=True) == "espeak-ng"
    assert default_tts("en") == default_tts("en", live=True) == "piper"


@pytest.mark.slow
def test_kokoro_speaks_live(two_clips):
    engines = Engines.load(EngineSpecs(voice=VOICE, tts="kokoro", live=True), "en", "es")
    assert engines.names["tts"] == "kokoro:jf_gongitsune"

    async def go():
        s = StreamTranslator(engines)
        return [ev async for ev in s.run(file_frames(two_clips, realtime=False))]

    events = asyncio.run(go())
    tr = [e for e in events if isinstance(e, Translation)]
    out = [e for e in events if isinstance(e, AudioOut)]
    lat = [e for e in events if isinstance(e, Latency)]
    assert len(tr) == 2 and "hombre" in tr[0].text.lower()
    assert {e.index for e in out} == {0, 1}
    assert all(e.audio.sample_rate == 24_000 for e in out)
    assert sum(e.audio.duration for e in out if e.index == 0) > 1.0
    assert [e.index for e in lat] == [0, 1] and all(x.first_audio_s for x in lat)
