"""eSpeak NG formant synthesis through libespeak-ng (espeakng-loader). GPL-3.0.

Speaks 100+ languages with no model download. `espeak-ng` picks the voice from
the language; `espeak-ng:VOICE` forces one (e.g. `espeak-ng:es-419`). The library
has global state, so calls are serialised with a lock.
"""

from __future__ import annotations

import ctypes
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.tts import REGISTRY
from voxlate.errors import MissingDependencyError, UnsupportedLanguageError

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_INITIALIZE_DONT_EXIT = 0x8000
_RATE, _PITCH = 1, 3
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_sample_rate = 22_050
_data_path: Path | None = None
_buffer: list[np.ndarray] = []


@_CALLBACK
def _collect(wav, n, events):  # type: ignore[no-untyped-def]
    if n > 0 and wav:
        _buffer.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
    return 0


def _library() -> ctypes.CDLL:
    global _lib, _sample_rate, _data_path
    if _lib is None:
        try:
            import espeakng_loader
        except ImportError as e:
            raise MissingDependencyError("eSpeak NG", pip="espeakng-loader") from e
        lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
        _data_path = Path(espeakng_loader.get_data_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(_data_path.parent).encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise MissingDependencyError("eSpeak NG data (espeak-ng-data)", pip="espeakng-loader")
        lib.espeak_SetSynthCallback(_collect)
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        _sample_rate = rate
        _lib = lib
    return _lib


def available_voices() -> set[str]:
    """Voice names in espeak-ng-data/lang (e.g. 'es', 'es-419', 'en-us')."""
    _library()
    assert _data_path is not None
    return {p.name for p in (_data_path / "lang").rglob("*") if p.is_file()}


_IPA = 0x02  # espeak_TextToPhonemes phonememode bit 1: IPA as UTF-8
_TIE = 0x80  # bit 7: join the letters of one phoneme with the character in bits 8-23


def text_to_ipa(text: str, voice: str, tie: str = "^") -> list[str]:
    """IPA of `text` read by eSpeak NG's `voice`, one string per clause eSpeak found.

    Numbers, dates and the abbreviations eSpeak knows come out as words of the
    voice's language. Multi-letter phonemes are joined with `tie` (e.g. "t^ʃ").
    Punctuation is not kept (eSpeak ends a clause there).
    """
    lib = _library()
    buf = ctypes.c_char_p(text.encode("utf-8"))
    ptr = ctypes.pointer(buf)
    mode = _IPA | _TIE | (ord(tie) << 8)
    out = []
    with _lock:
        lib.espeak_SetVoiceByName(voice.encode())
        while ptr.contents.value:
            clause = lib.espeak_TextToPhonemes(ptr, _CHARS_UTF8, mode)
            if clause:
                out.append(clause.decode("utf-8", errors="replace"))
    return out


_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+")


@REGISTRY.register("espeak-ng")
class EspeakSynthesizer:
    """rate: words per minute (espeak default 175); pitch: 0-100 (default 50)."""

    def __init__(self, voice: str | None = None, rate: int = 165, pitch: int = 50) -> None:
        _library()
        self._voices = available_voices()
        if voice is not None:
            voice = self._check_voice(voice)
        self.voice = voice
        self.rate = rate
        self.pitch = pitch
        self.name = f"espeak-ng:{voice}" if voice else "espeak-ng"

    @classmethod
    def from_spec(cls, arg: str | None) -> EspeakSynthesizer:
        return cls(arg)

    def _check_voice(self, voice: str) -> str:
        """'en-us' or 'en-us+f3' (eSpeak's accent+variant syntax), matched without case."""
        assert _data_path is not None
        accent, _, variant = voice.partition("+")
        names = {v.lower(): v for v in self._voices}
        if accent.lower() not in names:
            raise UnsupportedLanguageError(f"eSpeak NG has no voice '{accent}'.")
        if variant and not (_data_path / "voices" / "!v" / variant).is_file():
            raise UnsupportedLanguageError(f"eSpeak NG has no voice variant '{variant}'.")
        return names[accent.lower()] + (f"+{variant}" if variant else "")

    def languages(self) -> set[str]:
        if self.voice:
            return {self.voice.split("+")[0].split("-")[0]}
        return {v.split("-")[0] for v in self._voices if len(v.split("-")[0]) <= 3}

    def _voice_for(self, language: str) -> str:
        if self.voice:
            return self.voice
        if language in self._voices:
            return language
        raise UnsupportedLanguageError(f"eSpeak NG has no voice for language '{language}'.")

    def synthesize(self, text: str, language: str) -> Iterator[Audio]:
        voice = self._voice_for(language)
        for sentence in _SENTENCE.split(text.strip()):
            if sentence.strip():
                yield self._speak(sentence, voice)

    def _speak(self, text: str, voice: str) -> Audio:
        lib = _library()
        data = text.encode("utf-8") + b"\0"
        with _lock:
            _buffer.clear()
            lib.espeak_SetVoiceByName(voice.encode())
            lib.espeak_SetParameter(_RATE, self.rate, 0)
            lib.espeak_SetParameter(_PITCH, self.pitch, 0)
            lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            pcm = np.concatenate(_buffer) if _buffer else np.zeros(0, dtype=np.int16)
            _buffer.clear()
        return Audio(pcm.astype(np.float32) / 32768.0, _sample_rate)
