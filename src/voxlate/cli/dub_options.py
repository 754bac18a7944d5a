"""The options of a dub's output, declared once: `translate` and `render` both take them.

Use as ``background: BackgroundOption = "keep"`` (the type carries the flag and its help,
the default stays in the signature); `dub_options` checks them and builds the
`pipeline.dub_output.DubOptions` that `write_result` takes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from voxlate.pipeline.dub_output import DubOptions

SubtitlesFileOption = Annotated[
    str | None,
    typer.Option(
        "--subtitles-file",
        metavar="PATH",
        help="Write subtitles here in the format its extension names: .srt, .vtt or .ass.",
    ),
]
SubtitlesOption = Annotated[
    str | None,
    typer.Option(
        "--subtitles",
        metavar="MODE",
        help="Subtitles in a video output: embed (a soft track: mov_text in mp4, webvtt in "
        "webm, ass in mkv), burn (drawn into the picture, which is then re-encoded) or none "
        "[default: embed for a video output].",
    ),
]
SubtitleTextOption = Annotated[
    str,
    typer.Option(
        "--subtitle-text",
        metavar="TEXT",
        help="What the subtitles say: target (the translation), source (the original "
        "words) or both (two lines per cue).",
    ),
]
BackgroundOption = Annotated[
    str | None,
    typer.Option(
        "--background",
        metavar="MODE",
        help="The source's music, ambience and effects (the input less its speech, as the "
        "enhancer estimates it): keep (under the dub at its level), duck (12 dB lower "
        "while dubbed speech plays) or drop (the dub alone).",
    ),
]
KeepOriginalAudioOption = Annotated[
    bool,
    typer.Option(
        "--keep-original-audio",
        help="A video output also carries the input's audio as a second track titled 'original'.",
    ),
]


def dub_options(
    output: object,
    background: str | None,
    subtitles: str | None,
    subtitle_text: str,
    keep_original_audio: bool,
) -> DubOptions:
    """The checked dub options for `output` (one sentence per mistake, before any work);
    `background` None is keep."""
    from voxlate.errors import InputError
    from voxlate.pipeline.background import BACKGROUND_MODES
    from voxlate.pipeline.dub_output import SUBTITLE_MODES, DubOptions
    from voxlate.subtitles import SUBTITLE_TEXTS
    from voxlate.video import video_format

    background = background or "keep"
    if background not in BACKGROUND_MODES:
        raise InputError("--background must be keep, duck or drop.")
    if subtitles is not None and subtitles not in SUBTITLE_MODES:
        raise InputError("--subtitles must be embed, burn or none.")
    if subtitle_text not in SUBTITLE_TEXTS:
        raise InputError("--subtitle-text must be target, source or both.")
    if subtitles is not None and subtitles != "none" and video_format(output) is None:  # type: ignore[arg-type]
        raise InputError(f"--subtitles {subtitles} needs a video output (.mp4, .mkv, .webm).")
    return DubOptions(
        background=background,  # type: ignore[arg-type]
        subtitles=subtitles or "embed",  # type: ignore[arg-type]
        subtitle_text=subtitle_text,  # type: ignore[arg-type]
        keep_original_audio=keep_original_audio,
    )
