"""OpenAI-compatible REST endpoints, plus `POST /v1/translate` (the file pipeline).

- ``POST /v1/audio/transcriptions`` (multipart ``file``, ``language``, ``response_format``)
- ``POST /v1/audio/translations`` (multipart ``file``, ``language``): speech -> English text
- ``POST /v1/audio/speech`` (JSON ``input``, ``language``; ``voice``/``model`` accepted): wav
- ``POST /v1/translate`` (multipart ``file``, ``source``, ``target``, ``voice``,
  ``response_format`` json|wav): translated speech and the JSON report

Errors come back in OpenAI's shape: ``{"error": {"message", "type", "code"}}``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import os
import tempfile
from pathlib import Path

import soundfile as sf
from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio
from voxlate.engines.voice.base import VOICE_MODES
from voxlate.errors import NoSpeechError, VoxlateError
from voxlate.pipeline.file import report

router = APIRouter(prefix="/v1")


class HTTPError(Exception):
    """An error answered with `status` and OpenAI's error body."""

    def __init__(self, status: int, message: str, code: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def error_response(status: int, message: str, code: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": code, "code": status}}, status)


def wav_bytes(audio: Audio) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio.samples.clip(-1, 1), audio.sample_rate, subtype="PCM_16", format="WAV")
    return buf.getvalue()


async def read_upload(request: Request, field: str = "file") -> tuple[Audio, str]:
    """Parse the multipart form, check the size limit, and decode `field` as audio (16 kHz)."""
    limit = request.app.state.config.max_upload_bytes
    try:
        form = await request.form()
    except Exception as e:  # a malformed multipart body
        raise HTTPError(400, f"could not parse the form: {e}") from e
    request.state.form = form
    upload = form.get(field)
    if not isinstance(upload, UploadFile) and not hasattr(upload, "read"):
        raise HTTPError(400, f"missing the '{field}' field (an audio file, multipart/form-data)")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPError(413, f"the upload is larger than {limit // 2**20} MiB")
    if not data:
        raise HTTPError(400, "the uploaded file is empty")
    suffix = Path(upload.filename or "upload").suffix[:10] or ".bin"
    fd, tmp = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        audio = await asyncio.to_thread(load_audio, tmp, SAMPLE_RATE)
    except VoxlateError as e:
        raise HTTPError(400, f"the uploaded file is not audio voxlate can read ({e})") from e
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if len(audio.samples) == 0:
        raise HTTPError(400, "the uploaded audio is empty")
    return audio, upload.filename or "upload"


def form_str(request: Request, name: str, default: str | None = None) -> str | None:
    value = request.state.form.get(name)
    return str(value).strip() if isinstance(value, str) and value.strip() else default


async def _transcribe(request: Request, audio: Audio, language: str) -> str:
    pool = request.app.state.pool
    recognizer, lock = await pool.recognizer(language)

    def run() -> str:
        with lock:
            return recognizer.transcribe(audio, language).text.strip()

    return await asyncio.to_thread(run)


def _text_response(text: str, fmt: str, language: str, duration: float) -> Response:
    if fmt == "text":
        return PlainTextResponse(text)
    if fmt == "verbose_json":
        return JSONResponse(
            {
                "task": "transcribe",
                "language": language,
                "duration": round(duration, 3),
                "text": text,
            }
        )
    if fmt != "json":
        raise HTTPError(400, "response_format must be json, text or verbose_json")
    return JSONResponse({"text": text})


@router.post("/audio/transcriptions")
async def transcriptions(request: Request) -> Response:
    """Speech to text in the spoken language (OpenAI `audio.transcriptions`)."""
    audio, _ = await read_upload(request)
    language = (form_str(request, "language") or request.app.state.config.source).lower()
    text = await _transcribe(request, audio, language)
    return _text_response(
        text, form_str(request, "response_format", "json"), language, audio.duration
    )


@router.post("/audio/translations")
async def translations(request: Request) -> Response:
    """Speech in any served language to English text (OpenAI `audio.translations`)."""
    audio, _ = await read_upload(request)
    language = (form_str(request, "language") or request.app.state.config.source).lower()
    text = await _transcribe(request, audio, language)
    if language != "en" and text:
        pair = await request.app.state.pool.pair(language, "en")

        def run() -> str:
            with pair.locks.mt:
                return pair.engines.translator.translate(text, language, "en").strip()

        text = await asyncio.to_thread(run)
    return _text_response(
        text, form_str(request, "response_format", "json"), language, audio.duration
    )


@router.post("/audio/speech")
async def speech(request: Request) -> Response:
    """Text to speech as a wav (OpenAI `audio.speech`; `language` picks the voice)."""
    try:
        body = await request.json()
    except Exception as e:
        raise HTTPError(400, "the body must be JSON with an 'input' text") from e
    if not isinstance(body, dict) or not isinstance(body.get("input"), str):
        raise HTTPError(400, "the body must be JSON with an 'input' text")
    text = body["input"].strip()
    if not text:
        raise HTTPError(400, "'input' is empty")
    if len(text) > 4096:
        raise HTTPError(400, "'input' is longer than 4096 characters")
    fmt = body.get("response_format", "wav")
    if fmt not in ("wav", "pcm"):
        raise HTTPError(400, "response_format must be wav or pcm (16-bit, 22050 Hz or the voice's)")
    language = str(body.get("language", "en")).lower()
    synthesizer, lock = await request.app.state.pool.synthesizer(language)

    def run() -> Audio:
        with lock:
            chunks = list(synthesizer.synthesize(text, language))
        if not chunks:
            raise NoSpeechError("nothing to say")
        return concatenate(chunks, chunks[0].sample_rate)

    audio = await asyncio.to_thread(run)
    if fmt == "pcm":
        return Response(
            audio.to_pcm16(),
            media_type="audio/pcm",
            headers={"X-Sample-Rate": str(audio.sample_rate)},
        )
    return Response(wav_bytes(audio), media_type="audio/wav")


@router.post("/translate")
async def translate(request: Request) -> Response:
    """A recording in, translated speech and the JSON report out (the file pipeline)."""
    audio, name = await read_upload(request)
    cfg = request.app.state.config
    source = (form_str(request, "source") or cfg.source).lower()
    target = (form_str(request, "target") or cfg.target).lower()
    voice = form_str(request, "voice") or cfg.voice
    fmt = form_str(request, "response_format", "json")
    if voice not in VOICE_MODES:  # no server-side reference paths
        raise HTTPError(400, "voice must be preserve, tts or anonymize")
    if fmt not in ("json", "wav"):
        raise HTTPError(400, "response_format must be json or wav")
    pool = request.app.state.pool
    pair = await pool.pair(source, target)
    try:
        stage = await pool.acquire_voice(voice)
    except ImportError as e:
        raise HTTPError(400, f"voice mode '{voice}' is not available on this server") from e
    try:
        translator = pair.file_translator(pool.new_vad(), stage, voice, progress=False)

        def run() -> dict:
            # Each engine call holds only that engine's lock, so live sessions interleave.
            result = translator.translate(audio, name=name)
            return {"result": result, "report": report(result, translator.engines, name, "")}

        out = await asyncio.to_thread(run)
    finally:
        pool.release_voice(voice, stage)
    result, rep = out["result"], out["report"]
    data = wav_bytes(result.audio)
    if fmt == "wav":
        return Response(data, media_type="audio/wav")
    rep["output"] = None
    return JSONResponse(
        {
            "report": rep,
            "audio": {
                "format": "wav",
                "sample_rate": result.audio.sample_rate,
                "base64": base64.b64encode(data).decode(),
            },
        }
    )


def install_error_handlers(app: object) -> None:
    """Map HTTPError and user errors (VoxlateError) to OpenAI-shaped JSON errors."""

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPError)
        return error_response(exc.status, str(exc))

    async def on_voxlate(request: Request, exc: Exception) -> Response:
        status = 422 if isinstance(exc, NoSpeechError) else 400
        return error_response(status, str(exc))

    app.add_exception_handler(HTTPError, on_http)  # type: ignore[attr-defined]
    app.add_exception_handler(VoxlateError, on_voxlate)  # type: ignore[attr-defined]
