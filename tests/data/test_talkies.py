"""The game talkies' speech (data/talkies.py): real lines, labelled, training speakers only."""

from __future__ import annotations

import numpy as np
import pytest

from voxlate.audio import SAMPLE_RATE
from voxlate.data import talkies, voice_corpus
from voxlate.data.talkies import CachedLine, installed, queen_talkie, sky_talkie, unpack_rnc1


def _need(game: str) -> None:
    if not installed(game):
        pytest.skip(f"{talkies.PACKAGES[game]} is not installed")


def _check_lines(lines, prefix: str) -> None:
    assert len(lines) >= 20
    for line in lines:
        a = line.audio
        assert a.sample_rate == SAMPLE_RATE and a.samples.ndim == 1
        assert talkies.MIN_LINE_S <= a.duration < 30.0
        rms = float(np.sqrt(np.mean(a.samples**2)))
        assert 0.01 < rms < 0.7, line.name  # speech, not silence nor noise at full scale
        assert line.speaker.startswith(prefix) and len(line.speaker) > len(prefix)
    assert len({x.speaker for x in lines}) > 1


def test_queen_lines_are_speech_of_named_people():
    _need("queen")
    lines = queen_talkie(limit=120)
    _check_lines(lines, "queen-")
    speakers = {x.speaker for x in lines}
    assert "queen-joe" in speakers  # the hero's lines ('J')
    # a person's lines ('P') carry the dialogue file's person, never a bare code
    assert all(s.removeprefix("queen-").isalpha() for s in speakers)
    joe = [x for x in lines if x.name[6] == "J"]
    assert joe and all(x.speaker == "queen-joe" for x in joe)


def test_queen_talk_keys_name_their_dialogue_files():
    _need("queen")
    people = talkies.queen_people()
    assert len(people) > 50 and "sparky" in people.values() and "joe" not in people.values()


def test_sky_lines_are_speech_grouped_into_pseudo_speakers():
    _need("sky")
    lines = sky_talkie(limit=80, n=4)
    _check_lines(lines, "sky-")
    assert {x.speaker for x in lines} <= {f"sky-{k:02d}" for k in range(4)}


def test_rnc_streams_unpack_to_the_recorded_size():
    _need("sky")
    files = talkies.sky_files()
    number = min(n for n in files if n >= talkies.SKY_SPEECH_BASE)
    offset, size = files[number]
    with open(talkies.SKY_ROOT / "sky.dsk", "rb") as f:
        f.seek(offset)
        data = f.read(size)
    out = unpack_rnc1(data[talkies.SKY_HEADER :])
    assert len(out) == int.from_bytes(data[talkies.SKY_HEADER + 4 : talkies.SKY_HEADER + 8], "big")
    assert _crc16(out) == int.from_bytes(data[talkies.SKY_HEADER + 12 : talkies.SKY_HEADER + 14])
    with pytest.raises(ValueError):
        unpack_rnc1(b"not RNC data")


def _crc16(data: bytes) -> int:
    """RNC's checksum of the unpacked data (CRC-16, polynomial 0xA001)."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        table.append(c)
    crc = 0
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def test_talkie_speakers_are_training_speakers_only(monkeypatch, tmp_path):
    wav = tmp_path / "line.wav"
    from voxlate.audio import Audio, save_audio

    save_audio(wav, Audio(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE))
    fake = [CachedLine(s, wav, 20.0) for s in ("sky-00", "sky-01", "queen-joe", "queen-statue")]
    monkeypatch.setattr(voice_corpus, "talkie_lines", lambda log=print: fake)
    split = {r: voice_corpus.voice_clips(r) for r in ("train", "validation", "test")}
    assert {"sky-00", "sky-01", "queen-joe", "queen-statue"} <= set(split["train"])
    for role in ("validation", "test"):
        assert not any(s.startswith(("sky-", "queen-")) for s in split[role])
    assert voice_corpus.role_of("queen-statue") == "train"  # not the Fish Fillets statue
    assert "sky-00" not in voice_corpus.voice_clips("train", talkies=False)


def test_a_missing_game_is_one_note(monkeypatch, tmp_path):
    monkeypatch.setattr(voice_corpus, "installed", lambda game: game == "queen")
    monkeypatch.setattr(voice_corpus, "talkie_lines", lambda log=print: [])
    notes: list[str] = []
    list(voice_corpus.talkie_clips(log=notes.append))
    assert notes == ["note: beneath-a-steel-sky is not installed: its speakers are not trained on"]


def test_talkie_speakers_are_capped_at_five_minutes(monkeypatch, tmp_path):
    wav = tmp_path / "line.wav"
    from voxlate.audio import Audio, save_audio

    save_audio(wav, Audio(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE))
    monkeypatch.setattr(voice_corpus, "talkie_lines",
                        lambda log=print: [CachedLine("queen-joe", wav, 10.0)] * 100)  # fmt: skip
    train = voice_corpus.voice_clips("train")
    assert 300.0 <= sum(c.duration for c in train["queen-joe"]) <= 310.0
    if "m" in train:  # fillets-ng-data-cs installed: the fish keep their 10 min
        assert sum(c.duration for c in train["m"]) > 500.0
