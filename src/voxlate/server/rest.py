"""OpenAI-compatible REST endpoints, plus `POST /v1/translate` (the file pipeline).

- ``POST /v1/audio/transcriptions`` (multipart ``file``, ``language``, ``response_format``
  json|text|srt|vtt|verbose_json, ``stream``)
- ``POST /v1/audio/translations`` (multipart ``file``; language detected): English text
- ``POST /v1/audio/speech`` (JSON ``input``, ``voice``, ``speed``, ``language``,
  ``response_format`` mp3|opus|aac|flac|wav|pcm; 24 kHz)
- ``GET /v1/models``; ``GET /v1/languages`` (pairs and voices, for the web page)
- ``POST /v1/translate`` (multipart ``file``, ``source``, ``target``, ``voice``,
  ``response_format`` json|wav): translated speech and the JSON report

Errors come back in OpenAI's shape: ``{"error": {"message", "type", "code"}}``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio
from voxlate.dsp import time_stretch
from voxlate.engines.asr.base import Recognizer, Transcript
from voxlate.errors import InputError, NoSpeechError, VoxlateError
from voxlate.pipeline.engines import default_tts
from voxlate.pipeline.file import report
from voxlate.pipeline.voice.mode import NAMED_VOICES, VoiceMode, named_voice
from voxlate.server.guard import DEADLINE_KEY, Checked, Deadline, RequestCancelled, error_response
from voxlate.server.live_ws import LANGUAGE
from voxlate.server.openai_compat import (
    AUDIO_FORMATS,
    SPEECH_RATE,
    encode,
    parse_bool,
    text_response,
    tts_spec,
    voices,
    wav_bytes,
)
from voxlate.server.pool import PoolBusy
from voxlate.transcription import WindowConfig, transcribe_long

router = APIRouter(prefix="/v1")


class HTTPError(Exception):
    """An error answered with `status` and OpenAI's error body."""

    def __init__(self, status: int, message: str, code: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def deadline_of(request: Request) -> Deadline:
    """The request's time box (set by GuardMiddleware; a fresh one when called without it)."""
    return request.scope.get(DEADLINE_KEY) or Deadline(request.app.state.config.request_timeout_s)


async def read_upload(request: Request, field: str = "file") -> tuple[Audio, str]:
    """Parse the multipart form and decode `field` as audio (16 kHz).

    GuardMiddleware has already refused bodies over the size limit; decoding is capped
    at `max_audio_minutes` and names the file by its upload name, never a server path.
    """
    cfg = request.app.state.config
    limit = cfg.max_upload_bytes
    try:
        form = await request.form()
    except Exception as e:  # a malformed multipart body
        raise HTTPError(400, "could not parse the multipart form") from e
    request.state.form = form
    upload = form.get(field)
    if not isinstance(upload, StarletteUpload):  # FastAPI's UploadFile is a subclass
        raise HTTPError(400, f"missing the '{field}' field (an audio file, multipart/form-data)")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPError(413, f"the upload is larger than {limit // 2**20} MiB")
    if not data:
        raise HTTPError(400, "the uploaded file is empty")
    suffix = "".join(c for c in Path(upload.filename or "").suffix[:10] if c.isalnum() or c == ".")
    fd, tmp = tempfile.mkstemp(suffix=suffix or ".bin")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        del data
        audio = await asyncio.to_thread(
            load_audio, tmp, SAMPLE_RATE, cfg.max_audio_minutes * 60.0, "the uploaded file"
        )
    except VoxlateError as e:
        raise HTTPError(400, f"the uploaded file is not audio voxlate can read: {e}") from e
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if len(audio.samples) == 0:
        raise HTTPError(400, "the uploaded audio is empty")
    return audio, upload.filename or "upload"


def form_str(request: Request, name: str, default: str | None = None) -> str | None:
    value = request.state.form.get(name)
    return str(value).strip() if isinstance(value, str) and value.strip() else default


def language_code(value: object, name: str = "language") -> str:
    """`value` as a lower-case ISO 639 code; HTTP 400 for anything else."""
    if not isinstance(value, str) or not LANGUAGE.match(value.strip().lower()):
        raise HTTPError(400, f"'{name}' must be a language code such as 'en'")
    return value.strip().lower()


def form_bool(request: Request, name: str) -> bool:
    value = request.state.form.get(name)
    return False if value is None else parse_bool(value, name)


async def _transcribe(request: Request, audio: Audio, language: str | None) -> Transcript:
    """Transcribe window by window (`transcribe_long`); each window holds the lock alone
    and checks the request's deadline first.

    language None: detect it with `config.detect_asr` (a multilingual Whisper); where
    that recognizer is not installed, the server's source language is assumed.
    """
    pool = request.app.state.pool
    engine = None
    if language is None:
        try:
            engine = await pool.engine("asr", request.app.state.config.detect_asr)
        except VoxlateError:
            language = request.app.state.config.source
    if engine is None:
        engine = await pool.recognizer(language)
    recognizer, lock = engine
    guarded = Checked(recognizer, deadline_of(request), lock)
    cfg = WindowConfig(vad=pool.specs.vad)

    def run() -> Transcript:
        try:
            t = transcribe_long(cast(Recognizer, guarded), audio, language, cfg)
        except NoSpeechError:
            t = Transcript("", language or "", ())
        return t if t.language or language is None else dataclasses.replace(t, language=language)

    return await asyncio.to_thread(run)


@router.post("/audio/transcriptions")
async def transcriptions(request: Request) -> Response:
    """Speech to text in the spoken language (OpenAI `audio.transcriptions`).

    Form fields: `file`; `language` (default: the server's source); `response_format`
    json, text, srt, vtt or verbose_json (with segments); `stream` true for server-sent
    events; `model`, `prompt`, `temperature` accepted and ignored.
    """
    audio, _ = await read_upload(request)
    language = language_code(form_str(request, "language") or request.app.state.config.source)
    fmt = form_str(request, "response_format", "json") or "json"
    stream = form_bool(request, "stream")
    t = await _transcribe(request, audio, language)
    return text_response(
        t.text, t.segments, fmt, "transcribe", language, audio.duration, stream=stream
    )


@router.post("/audio/translations")
async def translations(request: Request) -> Response:
    """Speech in any served language to English text (OpenAI `audio.translations`).

    The language is detected as OpenAI does (a multilingual Whisper), unless the form
    gives `language`. Formats as for transcriptions.
    """
    audio, _ = await read_upload(request)
    given = form_str(request, "language")
    fmt = form_str(request, "response_format", "json") or "json"
    t = await _transcribe(request, audio, language_code(given) if given else None)
    language = (given or t.language or request.app.state.config.source).lower()
    segments = list(t.segments)
    if language != "en" and t.text:
        async with request.app.state.pool.using(language, "en") as pair:
            translator = Checked(pair.engines.translator, deadline_of(request), pair.locks.mt)

            def run() -> list[tuple[float, float, str]]:
                return [
                    (a, b, translator.translate(x, language, "en").strip()) for a, b, x in segments
                ]

            segments = await asyncio.to_thread(run)
    text = " ".join(x for _, _, x in segments if x)
    return text_response(
        text, segments, fmt, "translate", language, audio.duration, form_bool(request, "stream")
    )


JSON_TYPES = ("application/json",)  # media types a JSON endpoint takes (and any */*+json)
SPEECH_INPUT_CHARS = 4096  # OpenAI's limit on `input`; engines on SPEECH_ENGINE_CHARS less
# Engines that need more compute per character get a lower cap on `input`, so that one
# request's work stays bounded (Kokoro: ~20 characters a second on the 2-core dev machine).
SPEECH_ENGINE_CHARS = {"kokoro": 2000, "xtts": 500}
PIECE_CHARS = 300  # longest text piece synthesised in one engine call (characters)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])\s*")
_CLAUSE_END = re.compile(r"(?<=[,;:،])\s+|(?<=[、，；：])\s*")


def json_object(request: Request, raw: bytes) -> dict:
    """The body of a JSON endpoint as a dict: 415 for any other media type (so a
    cross-site form or text/plain POST, which needs no CORS preflight, is refused), 400
    when it is not a JSON object."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES and not media.endswith("+json"):
        raise HTTPError(
            415, f"Content-Type must be application/json, not '{media or 'none'}'",
            "unsupported_media_type",
        )  # fmt: skip
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise HTTPError(400, "the body must be a JSON object") from e
    if not isinstance(body, dict):
        raise HTTPError(400, "the body must be a JSON object")
    return body


def typed(body: dict, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    """`body[name]` (or `default` when absent or null) if it has the JSON type `kind`,
    else HTTP 422 naming the field (a list where a string belongs is a 422, never a 500)."""
    value = body.get(name)
    if value is None:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        what = {str: "a string", float: "a number", bool: "true or false"}.get(kinds[-1], "valid")
        raise HTTPError(422, f"'{name}' must be {what}", "invalid_type")
    return value


def speech_pieces(text: str, most: int = PIECE_CHARS) -> list[str]:
    """`text` cut at sentence ends, long sentences at clause ends, then between words,
    into pieces of at most `most` characters (a word longer than that stays whole)."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        parts = [sentence] if len(sentence) <= most else _CLAUSE_END.split(sentence)
        for part in parts:
            words: list[str] = []
            for word in part.split():
                if words and len(" ".join([*words, word])) > most:
                    pieces.append(" ".join(words))
                    words = []
                words.append(word)
            if words:
                pieces.append(" ".join(words))
    return pieces


@router.post("/audio/speech")
async def speech(request: Request) -> Response:
    """Text to speech (OpenAI `audio.speech`).

    JSON (``Content-Type: application/json``): `input` (at most 4096 characters; 2000
    with Kokoro, 500 with XTTS); `voice` (an OpenAI voice name: the language's default
    voice; or piper, espeak-ng, jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo);
    `language` (voxlate's addition, default en); `speed` 0.25-4; `response_format` mp3
    (default), opus, aac, flac, wav or pcm (16-bit little-endian, 24 kHz); `model` ignored.
    A field of the wrong JSON type gives 422. The text is synthesised a sentence at a
    time, so a request whose client left or whose time ran out stops at the next sentence.
    """
    body = json_object(request, await request.body())
    text = typed(body, "input", str)
    if text is None:
        raise HTTPError(400, "the body must be JSON with an 'input' text")
    text = text.strip()
    if not text:
        raise HTTPError(400, "'input' is empty")
    if len(text) > SPEECH_INPUT_CHARS:
        raise HTTPError(400, f"'input' is longer than {SPEECH_INPUT_CHARS} characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise HTTPError(400, "'input' is not valid Unicode (a lone surrogate)") from e
    fmt = typed(body, "response_format", str, "mp3")
    if fmt not in AUDIO_FORMATS:
        raise HTTPError(400, f"response_format must be one of: {', '.join(AUDIO_FORMATS)}")
    speed = typed(body, "speed", (int, float), 1.0)
    if not 0.25 <= speed <= 4:
        raise HTTPError(400, "'speed' must be a number from 0.25 to 4.0")
    language = language_code(typed(body, "language", str, "en"))
    voice = typed(body, "voice", str)
    pool = request.app.state.pool
    spec = tts_spec(voice, pool.specs.tts or default_tts(language))
    cap = SPEECH_ENGINE_CHARS.get(spec.split(":")[0], SPEECH_INPUT_CHARS)
    if len(text) > cap:
        raise HTTPError(400, f"'input' is longer than {cap} characters, the limit with {spec}")
    synthesizer, lock = await pool.engine("tts", spec)
    guarded = Checked(synthesizer, deadline_of(request), lock)

    def run() -> tuple[bytes, str]:
        # One engine call per piece: each checks the deadline first (so a request whose
        # client left stops within a sentence) and holds the lock alone (others interleave).
        chunks = [c for piece in speech_pieces(text) for c in guarded.synthesize(piece, language)]
        if not chunks:
            raise NoSpeechError("nothing to say")
        audio = time_stretch(concatenate(chunks, chunks[0].sample_rate), float(speed))
        return encode(audio, fmt)

    data, media = await asyncio.to_thread(run)
    return Response(data, media_type=media, headers={"X-Sample-Rate": str(SPEECH_RATE)})


@router.get("/models")
async def models(request: Request) -> JSONResponse:
    """The models the OpenAI client may name (`models.list`); any name works on each route."""
    return JSONResponse({"object": "list", "data": [_model(m) for m in MODEL_IDS]})


@router.get("/models/{model_id}")
async def model(model_id: str) -> JSONResponse:
    if model_id not in MODEL_IDS:
        raise HTTPError(404, f"no model '{model_id}'")
    return JSONResponse(_model(model_id))


MODEL_IDS = ("whisper-1", "tts-1", "tts-1-hd", "voxlate-translate")


def _model(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "voxlate"}


@router.get("/languages")
async def served_languages(request: Request) -> JSONResponse:
    """What the web page offers: the language pairs, live voice modes and speech voices."""
    app = request.app
    pool = app.state.pool
    if getattr(app.state, "pairs", None) is None:
        app.state.pairs = await asyncio.to_thread(served_pairs, pool)
    cfg = app.state.config
    return JSONResponse(
        {
            "pairs": [{"source": s, "target": t} for s, t in app.state.pairs],
            "voice_modes": list(NAMED_VOICES),
            "speech_voices": voices(),
            "default": {"source": cfg.source, "target": cfg.target, "voice": cfg.voice},
        }
    )


def served_pairs(pool: Any) -> list[tuple[str, str]]:
    """(source, target) pairs the translator has and a recognizer can hear, sorted."""
    from voxlate.engines.asr import EMBEDDED, WHISPER_LANGUAGES

    loaded = pool.loaded_pairs()
    try:  # the shared translator: an LLM worker is started once, not per call
        pairs = set(pool.shared("mt", pool.specs.mt)[0].pairs())
    except Exception:  # no translator installed here: only what is loaded
        pairs = set()
    if pool.specs.asr is None:
        pairs = {(s, t) for s, t in pairs if s in EMBEDDED or s in WHISPER_LANGUAGES}
    return sorted(pairs | set(loaded))


@router.post("/translate")
async def translate(request: Request) -> Response:
    """A recording in, translated speech and the JSON report out (the file pipeline)."""
    audio, name = await read_upload(request)
    cfg = request.app.state.config
    source = language_code(form_str(request, "source") or cfg.source, "source")
    target = language_code(form_str(request, "target") or cfg.target, "target")
    fmt = form_str(request, "response_format", "json")
    try:  # the named modes only: no server-side reference paths
        voice = named_voice(form_str(request, "voice") or cfg.voice)
    except InputError as e:
        raise HTTPError(400, str(e)) from e
    if fmt not in ("json", "wav"):
        raise HTTPError(400, "response_format must be json or wav")
    pool = request.app.state.pool
    async with pool.using(source, target) as pair:
        return await _translate(request, pool, pair, audio, name, voice, fmt)


async def _translate(
    request: Request,
    pool: Any,
    pair: Any,
    audio: Audio,
    name: str,
    voice: VoiceMode,
    fmt: str | None,
) -> Response:
    """`translate` on an acquired pair."""
    try:
        stage = await pool.acquire_voice(voice)
    except ImportError as e:
        raise HTTPError(400, f"voice mode '{voice}' is not available on this server") from e
    try:
        vad = await asyncio.to_thread(pool.new_vad)  # loads a model: off the event loop
        translator = pair.file_translator(vad, stage, str(voice), progress=False)
        translator.engines = checked_engines(translator.engines, deadline_of(request))
    except BaseException:
        pool.release_voice(voice, stage)
        raise

    def run() -> dict:
        # Each engine call holds only that engine's lock, so live sessions interleave.
        # The voice stage goes back to the pool from this thread, reset, once it is no
        # longer used, even when the request was cancelled meanwhile.
        try:
            result = translator.translate(audio, name=name)
            return {"result": result, "report": report(result, translator.engines, name, "")}
        finally:
            if stage is not None:
                stage.reset()
            pool.release_voice(voice, stage)

    out = await asyncio.to_thread(run)
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


def checked_engines(engines: Any, deadline: Deadline) -> Any:
    """`engines` with each shared engine checking `deadline` before every call."""
    return dataclasses.replace(
        engines,
        enhancer=Checked(engines.enhancer, deadline),
        recognizer=Checked(engines.recognizer, deadline),
        translator=Checked(engines.translator, deadline),
        synthesizer=Checked(engines.synthesizer, deadline),
    )


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\"()\\/:]+){2,}[\\/]?")


def redact_paths(message: str) -> str:
    """`message` with anything that looks like a file system path replaced by <path>."""
    return _PATH.sub("<path>", message)


def install_error_handlers(app: object) -> None:
    """Map HTTPError and user errors (VoxlateError) to OpenAI-shaped JSON errors; any other
    exception (a bug) to a 500 that says nothing about the server's files."""

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPError)
        return error_response(exc.status, redact_paths(str(exc)))

    async def on_voxlate(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RequestCancelled):
            return error_response(503, str(exc), "timeout_error")
        if isinstance(exc, PoolBusy):
            return error_response(503, str(exc), "server_busy")
        status = 422 if isinstance(exc, NoSpeechError) else 400
        return error_response(status, redact_paths(str(exc)))

    async def on_bug(request: Request, exc: Exception) -> Response:
        return error_response(500, "internal server error", "server_error")

    app.add_exception_handler(HTTPError, on_http)  # type: ignore[attr-defined]
    app.add_exception_handler(VoxlateError, on_voxlate)  # type: ignore[attr-defined]
    app.add_exception_handler(Exception, on_bug)  # type: ignore[attr-defined]
