"""What the OpenAI audio API's clients expect: response formats, voices, audio encodings.

- `text_response`: ``response_format`` json, text, srt, vtt or verbose_json (with
  segments) for transcriptions and translations, and ``stream=true`` as server-sent
  events (``transcript.text.delta`` per segment, then ``transcript.text.done``).
- `tts_spec`: the ``voice`` of ``/v1/audio/speech`` -> a TTS spec: OpenAI's voice
  names pick the default voice of the language; ``piper``, ``espeak-ng`` and the Kokoro
  style packs (``jf_alpha`` ... ``jm_kumo`` -> ``kokoro:NAME``) pick that engine. No
  other spec (no path) can be named by a request.
- `encode`: speech as mp3, opus, aac, flac, wav or pcm (16-bit little-endian), all at
  24 kHz as OpenAI's, through ffmpeg for the compressed ones.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence

import soundfile as sf
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from voxlate.audio import Audio
from voxlate.errors import InputError, MissingDependencyError
from voxlate.subtitles import to_srt, to_vtt

TEXT_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
SPEECH_RATE = 24_000  # Hz; OpenAI's speech output rate (pcm is documented as 24 kHz)
OPENAI_VOICES = frozenset(
    "alloy ash ballad coral echo fable onyx nova sage shimmer verse marin cedar".split()
)
KOKORO_VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
ENGINE_VOICES = {"piper": "piper", "espeak-ng": "espeak-ng", "espeak": "espeak-ng"}
# format -> (ffmpeg muxer and codec arguments, media type); None: written here.
AUDIO_FORMATS: dict[str, tuple[list[str] | None, str]] = {
    "mp3": (["-f", "mp3", "-c:a", "libmp3lame", "-b:a", "64k"], "audio/mpeg"),
    "opus": (["-f", "ogg", "-c:a", "libopus", "-b:a", "32k"], "audio/ogg"),
    "aac": (["-f", "adts", "-c:a", "aac", "-b:a", "64k"], "audio/aac"),
    "flac": (["-f", "flac", "-c:a", "flac"], "audio/flac"),
    "wav": (None, "audio/wav"),
    "pcm": (None, "audio/pcm"),
}

Segment = tuple[float, float, str]


def segments_json(segments: Sequence[Segment]) -> list[dict]:
    """Segments in the shape of OpenAI's verbose_json (fields we do not have are neutral)."""
    return [
        {
            "id": i,
            "seek": 0,
            "start": round(a, 3),
            "end": round(b, 3),
            "text": t,
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": 0.0,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.0,
        }
        for i, (a, b, t) in enumerate(segments)
    ]


def text_response(
    text: str,
    segments: Sequence[Segment],
    fmt: str,
    task: str,
    language: str,
    duration: float,
    stream: bool = False,
) -> Response:
    """The answer of a transcription or translation in the requested `fmt`."""
    if fmt not in TEXT_FORMATS:
        raise InputError(f"response_format must be one of: {', '.join(TEXT_FORMATS)}")
    if stream:
        return StreamingResponse(_sse(text, segments), media_type="text/event-stream")
    if fmt == "text":
        return PlainTextResponse(text)
    if fmt == "srt":
        return PlainTextResponse(to_srt(segments), media_type="application/x-subrip")
    if fmt == "vtt":
        return PlainTextResponse(to_vtt(segments), media_type="text/vtt")
    if fmt == "verbose_json":
        return JSONResponse(
            {
                "task": task,
                "language": language,
                "duration": round(duration, 3),
                "text": text,
                "segments": segments_json(segments),
                "usage": {"type": "duration", "seconds": round(duration, 3)},
            }
        )
    return JSONResponse({"text": text})


def _sse(text: str, segments: Sequence[Segment]) -> Iterator[str]:
    parts = [t for _, _, t in segments] or ([text] if text else [])
    for i, part in enumerate(parts):
        delta = part if i == 0 else " " + part
        yield f"data: {json.dumps({'type': 'transcript.text.delta', 'delta': delta})}\n\n"
    yield f"data: {json.dumps({'type': 'transcript.text.done', 'text': text})}\n\n"


def parse_bool(value: object, name: str) -> bool:
    """A strict boolean: true/false (JSON or form text) or 1/0; anything else is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise InputError(f"'{name}' must be true or false")


def tts_spec(voice: str | None, default: str) -> str:
    """The TTS spec for OpenAI's `voice` field; `default` is the language's own voice."""
    if voice is None or voice.lower() in OPENAI_VOICES or voice.lower() == "default":
        return default
    v = voice.lower()
    if v in ENGINE_VOICES:
        return ENGINE_VOICES[v]
    if v in KOKORO_VOICES:
        return f"kokoro:{v}"
    names = ", ".join([*sorted(ENGINE_VOICES), *KOKORO_VOICES])
    raise InputError(f"unknown voice '{voice}'; use an OpenAI voice name or one of: {names}")


def voices() -> list[str]:
    """Voice names `/v1/audio/speech` takes besides OpenAI's (which map to the default)."""
    return ["piper", "espeak-ng", *KOKORO_VOICES]


def wav_bytes(audio: Audio) -> bytes:
    """16-bit PCM WAV bytes of `audio` at its own rate."""
    buf = io.BytesIO()
    sf.write(buf, audio.samples.clip(-1, 1), audio.sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


def encode(audio: Audio, fmt: str) -> tuple[bytes, str]:
    """`audio` at 24 kHz in `fmt` (see AUDIO_FORMATS); returns (bytes, media type)."""
    if fmt not in AUDIO_FORMATS:
        raise InputError(f"response_format must be one of: {', '.join(AUDIO_FORMATS)}")
    args, media = AUDIO_FORMATS[fmt]
    audio = audio.resample(SPEECH_RATE)
    pcm = audio.to_pcm16()
    if fmt == "pcm":
        return pcm, media
    if fmt == "wav":
        return wav_bytes(audio), media
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise MissingDependencyError(f"ffmpeg (needed to encode {fmt})", apt="ffmpeg")
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-f", "s16le"]
    cmd += ["-ar", str(SPEECH_RATE), "-ac", "1", "-i", "pipe:0", *(args or []), "pipe:1"]
    proc = subprocess.run(cmd, input=pcm, capture_output=True, timeout=120)
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"ffmpeg could not encode {fmt}: {proc.stderr.decode()[-200:]}")
    return proc.stdout, media
