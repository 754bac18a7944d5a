"""The two steps every PNG figure in voxlate shares: a headless pyplot, and an atomic save."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from voxlate.audio import atomic_path
from voxlate.errors import MissingDependencyError


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (no display needed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise MissingDependencyError("matplotlib", pip="matplotlib") from e
    return plt


def save_png(fig: Any, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Write `fig` to `path` as a PNG (temp file, then rename) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return Path(path)
