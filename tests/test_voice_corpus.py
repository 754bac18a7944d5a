"""The converter's fixed speaker split: roles are disjoint and as the brief fixed them."""

from __future__ import annotations

import pytest

from voxlate.data.fillets import FILLETS_ROOT
from voxlate.data.voice_corpus import TEST, VALIDATION, fillets_clips, role_of, voice_clips


@pytest.fixture(scope="module")
def split():
    if not any(FILLETS_ROOT.glob("sound/*/cs/*.ogg")):
        pytest.skip("fillets-ng-data-cs is not installed")
    return {r: voice_clips(r, talkies=False) for r in ("train", "validation", "test")}


def test_roles_are_disjoint_and_complete(split):
    train, val, test = (set(split[r]) for r in ("train", "validation", "test"))
    assert not (train & val) and not (train & test) and not (val & test)
    assert {"c", "cyan", "parrot", "linuxer1", "robodog"} <= test
    assert {"statue", "lightgrey", "white", "viking3"} <= val
    assert {"m", "v"} <= train and len(train) >= 15
    assert not any(s.removeprefix("en-") in TEST + VALIDATION for s in train)


def test_english_lines_of_held_out_characters_are_not_trained_on():
    assert role_of("en-parrot") == "test" and role_of("en-statue") == "validation"
    assert role_of("x") == "excluded" and role_of("m") == "train"


def test_training_speakers_are_capped(split):
    for speaker, clips in split["train"].items():
        assert sum(c.duration for c in clips) <= 600 + 20, speaker  # the cap, plus one line


def test_the_reserved_dutch_data_is_never_read():
    assert all("/nl/" not in str(c.path) for c in fillets_clips())
