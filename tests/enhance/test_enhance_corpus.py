"""The offline corpus split: speakers from the game's dialogue fonts, held out for the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voxlate.data.fillets import FILLETS_ROOT, code_from_name, dialog_fonts, speaker_of
from voxlate.tasks.enhance.corpus import (
    TRAIN_SPEAKERS,
    build_corpus,
    is_dialogue,
    noise_split,
    speech_split,
)

needs_fillets = pytest.mark.skipif(
    not any(FILLETS_ROOT.glob("sound/*/cs/*.ogg")), reason="fillets-ng-data-cs not installed"
)


@pytest.mark.parametrize(
    ("stem", "code"),
    [
        ("bar-m-barel", "m"),  # level-code-word
        ("vl-leb-kecy0", "leb"),
        ("init-0-0", "0"),
        ("m-otazka0", "m"),  # code-word (levels nowall, rush, hanoi, hole, linux)
        ("v-chytra", "v"),
        ("1-archlinux", "1"),
        ("kd-bermudy", "kd"),
        ("agenti-m", "m"),  # word-code (level fdto)
        ("nacekala2-m", "m"),
        ("ted1-m", "m"),
        ("help1", ""),
    ],
)
def test_code_from_name(stem: str, code: str) -> None:
    assert code_from_name(stem) == code


def test_speaker_of_prefers_the_dialogue_font(tmp_path: Path) -> None:
    """The font decides (the file name's code can mislead: 'help1' has none, 'd1-1-x' is a
    viking's code but the small fish speaks); without a font the name's code is used."""
    fonts = {"help1": "font_small", "d1-1-x": "font_small", "kuf-v-a": "font_big",
             "k1-pap-a": "font_parrot", "o-both": "font_both"}  # fmt: skip
    got = {s: speaker_of(Path(f"{s}.ogg"), fonts) for s in [*fonts, "m-otazka0", "b1-1"]}
    assert got == {"help1": "m", "d1-1-x": "m", "kuf-v-a": "v", "k1-pap-a": "parrot",
                   "o-both": "both", "m-otazka0": "m", "b1-1": "b1"}  # fmt: skip
    lua = tmp_path / "script" / "level" / "dialogs_cs.lua"
    lua.parent.mkdir(parents=True)
    lua.write_text('dialogId("a-m-x", "font_small", "Hi")\ndialogId("b1-1", "", "")\n'
                   'dialogId( "kd-y" ,"font_white", "")\n')  # fmt: skip
    assert dialog_fonts(tmp_path) == {"a-m-x": "font_small", "kd-y": "font_white"}


@needs_fillets
def test_split_holds_out_every_fish_line() -> None:
    """No line of the training voices (the two fish) is in the test speech, whatever the
    file-name pattern: 'm-otazka0' (nowall) and 'agenti-m' (fdto) train now."""
    train, test = speech_split()
    fonts = dialog_fonts()
    assert all(speaker_of(p) in TRAIN_SPEAKERS for p in train)
    assert not [p for p in test if fonts.get(p.stem) in ("font_small", "font_big")]
    stems = {p.stem for p in train}
    assert {"m-otazka0", "v-chytra", "agenti-m", "help1"} <= stems
    assert not {p.stem for p in test} & stems


@needs_fillets
def test_build_corpus_writes_disjoint_val_and_test(tmp_path: Path) -> None:
    out = build_corpus(tmp_path / "c", n_test=4, n_val=3, max_seconds=1.0)
    val = [json.loads(line) for line in (out / "val" / "meta.jsonl").read_text().splitlines()]
    test = [json.loads(line) for line in (out / "test" / "meta.jsonl").read_text().splitlines()]
    assert len(val) == 3 and len(test) == 4
    train = {p.resolve() for p in (out / "train" / "clean").iterdir()}
    assert not {Path(m["source"]) for m in val} & train
    assert all(speaker_of(Path(m["source"])) in TRAIN_SPEAKERS for m in val)
    assert not any(speaker_of(Path(m["source"])) in TRAIN_SPEAKERS for m in test)
    assert "blue" not in {m["noise"] for m in val}
    assert len(list((out / "val" / "noisy").iterdir())) == 3


@needs_fillets
def test_noise_split_holds_no_dialogue_line() -> None:
    """The effects pool is the game's sound effects only: no spoken line of any language
    folder (the English ``en/`` lines were once 192 of its 204 files)."""
    train, test = noise_split()
    effects = [p for p in train + test if p.parent.name != "music"]
    assert effects and not [p for p in effects if is_dialogue(p)]
    assert not [p for p in effects if p.parent.name in ("cs", "en", "nl")]
    assert set(train).isdisjoint(test) and [p for p in test if p.parent.name != "music"]
