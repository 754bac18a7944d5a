"""The voice converter's speakers: one fixed split into training, validation and test.

Real speech is the Fish Fillets NG actors (Debian ``fillets-ng-data-cs``: Czech lines, and the
game's own English lines), one speaker per character (`fillets.speaker_of`). LibriVox
(``pocketsphinx-testdata``) is a held-out test speaker. Kokoro's five style packs are added by
the trainer as synthetic speakers (`tasks/converter/corpus.py`), since the converter's input is
Kokoro speech. ``fillets-ng-data-nl`` is an outside held-out set: never read here.

The actors of two Debian game talkies (``beneath-a-steel-sky``, ``flight-of-the-amazon-queen``;
`data/talkies.py`) are training speakers only ('sky-NN', 'queen-<person>'), when installed.

- `TEST`: never trained on, never used for a choice (the benchmark's speakers);
- `VALIDATION`: choices are made on these, never trained on;
- training: every other character.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from voxlate.data.fillets import FILLETS_ROOT, dialog_fonts, speaker_of
from voxlate.data.manifest import audio_duration
from voxlate.data.pocketsphinx import LIBRIVOX
from voxlate.data.talkies import GAMES, PACKAGES, installed, talkie_lines

TEST = ("c", "cyan", "parrot", "linuxer1", "robodog", "librivox")  # held-out speakers
VALIDATION = ("statue", "lightgrey", "white", "viking3")  # speakers choices are made on
# Not one speaker's speech: both fish at once, no known character, the game's sound effects,
# noises and music (the en/ folder's 'x' grunts, 'klavir' piano, 'room'/'ves' ambience, digits).
EXCLUDED = ("both", "", "x", "sp", "klavir", "room", "ves", "0", "1", "2", "3")
LANGUAGES = ("cs", "en")  # the game's recorded languages used here (never nl)
DEFAULT_CAP_S = 600.0  # seconds of speech at most per training speaker (m and v: ~40 min each)
MIN_SPEAKER_S = 15.0  # training speakers with less speech than this are left out
TALKIE_PREFIXES = tuple(f"{g}-" for g in GAMES)  # the game talkies' speakers: training only
TALKIE_CAP_S = 300.0  # seconds at most per talkie speaker (46 of them: more voices, not hours)


@dataclass(frozen=True)
class VoiceClip:
    """One recorded line and who speaks it."""

    speaker: str  # character code or font name ('m', 'v', 'white', ...), or 'librivox'
    path: Path  # the audio file
    language: str  # 'cs' or 'en'
    duration: float  # seconds


def role_of(speaker: str) -> str:
    """'test', 'validation' or 'train' for a speaker name ('excluded' for unusable ones);
    an English line's speaker ('en-parrot') has its character's role."""
    if speaker.startswith(TALKIE_PREFIXES):
        return "train"
    speaker = speaker.removeprefix("en-")
    if speaker in TEST:
        return "test"
    if speaker in VALIDATION:
        return "validation"
    if speaker in EXCLUDED:
        return "excluded"
    return "train"


def fillets_clips(root: Path = FILLETS_ROOT) -> Iterator[VoiceClip]:
    """Every Czech and English line of the game with its speaker, sorted by path; English
    lines (other actors) are the speaker 'en-<character>'."""
    fonts = dialog_fonts(root)
    for language in LANGUAGES:
        for path in sorted(root.glob(f"sound/*/{language}/*.ogg")):
            speaker = speaker_of(path, fonts)
            if language != "cs" and speaker not in EXCLUDED:
                speaker = f"{language}-{speaker}"
            yield VoiceClip(speaker, path, language, audio_duration(path))


def librivox_clips() -> Iterator[VoiceClip]:
    """The LibriVox test speaker's clips (pocketsphinx-testdata), if installed."""
    for path in sorted(LIBRIVOX.glob("*.wav")):
        yield VoiceClip("librivox", path, "en", audio_duration(path))


def talkie_clips(log: Callable[[str], None] = print) -> Iterator[VoiceClip]:
    """The installed game talkies' lines (extracted and cached on first use); one note for
    each game that is not installed."""
    for game in GAMES:
        if not installed(game):
            log(f"note: {PACKAGES[game]} is not installed: its speakers are not trained on")
    for line in talkie_lines(log=log):
        yield VoiceClip(line.speaker, line.path, "en", line.duration)


def voice_clips(
    role: str,
    cap_s: float = DEFAULT_CAP_S,
    root: Path = FILLETS_ROOT,
    talkies: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, list[VoiceClip]]:
    """Speaker -> clips of one role ('train', 'validation', 'test'), at most `cap_s` seconds of
    each speaker (0: no cap), lines taken spread over the sorted list (all levels). Training
    includes the installed game talkies' speakers (at most `TALKIE_CAP_S` each) unless
    `talkies` is False."""
    found: dict[str, list[VoiceClip]] = defaultdict(list)
    clips = list(fillets_clips(root))
    if role == "test":
        clips += list(librivox_clips())
    if role == "train" and talkies:
        clips += list(talkie_clips(log))
    for clip in clips:
        if role_of(clip.speaker) == role:
            found[clip.speaker].append(clip)
    if role == "train":  # too little speech to learn a voice from
        found = {s: c for s, c in found.items() if sum(x.duration for x in c) >= MIN_SPEAKER_S}
    return {s: _capped(c, _cap_of(s, cap_s)) for s, c in sorted(found.items())}


def _cap_of(speaker: str, cap_s: float) -> float:
    if not speaker.startswith(TALKIE_PREFIXES):
        return cap_s
    return TALKIE_CAP_S if cap_s <= 0 else min(cap_s, TALKIE_CAP_S)


def _capped(clips: list[VoiceClip], cap_s: float) -> list[VoiceClip]:
    total = sum(c.duration for c in clips)
    if cap_s <= 0 or total <= cap_s:
        return clips
    step = total / cap_s  # take every step-th line, so that the cap spans every level
    out, acc = [], 0.0
    for i, c in enumerate(clips):
        if int(i / step) != int((i - 1) / step) or i == 0:
            out.append(c)
            acc += c.duration
            if acc >= cap_s:
                break
    return out
