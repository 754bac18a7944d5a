"""A low-dimensional coordinate system over Kokoro-82M's style packs.

A Kokoro style is a (510, 256) pack: one 256-d row per token count (the first 128
values condition the decoder, i.e. timbre; the last 128 the prosody predictor). Five
packs ship. Searching 130k numbers is hopeless, so voice fitting works in a small
space of coordinates ``z`` (`StyleSpace.dim` numbers):

    pack(z) = mean + sum_k z_k * scale_k * direction_k        (broadcast over the rows)

- ``mean``: the row-wise average of the shipped packs, (510, 256);
- the first `BETWEEN` directions: principal directions of the five packs' mean rows
  (what tells the shipped voices apart), scaled so that z_k = +-1 is one standard
  deviation of the packs along it;
- the next `WITHIN` directions: principal directions of the rows' deviations from
  their own pack's mean (how a voice's style moves with utterance length), scaled
  the same way.

z = 0 is the average voice; the shipped packs sit at |z| of about 1-2 on the first
directions (`pack_coordinates`). Going beyond them extrapolates ("the far side of the
pack mixture"), which `anonymize` uses.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

BETWEEN = 4  # directions between the five packs' means (all there are: 5 packs - 1)
WITHIN = 4  # principal directions of rows within a pack


@dataclass(frozen=True)
class StyleSpace:
    """Coordinates over Kokoro styles; build with `from_packs` or `default_space`."""

    mean: np.ndarray  # (510, 256) row-wise mean of the packs
    directions: np.ndarray  # (dim, 256) unit vectors
    scales: np.ndarray  # (dim,) standard deviation of the packs along each direction
    names: tuple[str, ...]  # the packs the space was built from
    pack_z: np.ndarray  # (n_packs, dim) coordinates of each pack's mean row

    @property
    def dim(self) -> int:
        return len(self.scales)

    @classmethod
    def from_packs(
        cls, packs: dict[str, np.ndarray], between: int = BETWEEN, within: int = WITHIN
    ) -> StyleSpace:
        """The space spanned by `packs` (name -> (510, 256)); the SVDs on one BLAS thread
        (`one_blas_thread`: 0.06 s, where OpenBLAS's threads took seconds on a busy machine)."""
        from voxlate.engines.threads import one_blas_thread

        with one_blas_thread():
            return cls._from_packs(packs, between, within)

    @classmethod
    def _from_packs(cls, packs: dict[str, np.ndarray], between: int, within: int) -> StyleSpace:
        names = tuple(sorted(packs))
        stack = np.stack([np.asarray(packs[n], np.float64) for n in names])  # (P, 510, 256)
        mean = stack.mean(axis=0)
        means = stack.mean(axis=1)  # (P, 256): each pack's mean row
        centred = means - means.mean(axis=0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        k = min(between, len(names) - 1)
        dirs_b, sc_b = vt[:k], s[:k] / np.sqrt(len(names))
        rows = (stack - means[:, None, :]).reshape(-1, stack.shape[-1])
        rows = rows - rows @ dirs_b.T @ dirs_b  # orthogonal to the between directions
        _, s2, vt2 = np.linalg.svd(rows, full_matrices=False)
        dirs = np.concatenate([dirs_b, vt2[:within]])
        scales = np.concatenate([sc_b, s2[:within] / np.sqrt(len(rows))])
        pack_z = (means - mean.mean(axis=0)) @ dirs.T / scales
        return cls(
            mean.astype(np.float32),
            dirs.astype(np.float32),
            scales.astype(np.float32),
            names,
            pack_z.astype(np.float32),
        )

    def pack(self, z: np.ndarray) -> np.ndarray:
        """The (510, 256) float32 style pack at coordinates `z` (dim,)."""
        z = np.asarray(z, np.float32).reshape(self.dim)
        return self.mean + (z * self.scales) @ self.directions

    def coordinates(self, pack: np.ndarray) -> np.ndarray:
        """The coordinates (dim,) of the projection of `pack`'s mean row onto the space."""
        row = np.asarray(pack, np.float32).reshape(-1, self.mean.shape[1]).mean(axis=0)
        return (row - self.mean.mean(axis=0)) @ self.directions.T / self.scales

    def nearest_pack(self, z: np.ndarray) -> str:
        """The shipped pack closest to coordinates `z`."""
        d = np.linalg.norm(self.pack_z - np.asarray(z, np.float32), axis=1)
        return self.names[int(np.argmin(d))]


@functools.cache
def default_space() -> StyleSpace:
    """The space of the shipped Kokoro packs (built once per process, ~10 ms)."""
    from voxlate.engines.tts.kokoro import load_pack, voices

    return StyleSpace.from_packs({v: load_pack(v) for v in voices()})
