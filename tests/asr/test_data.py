import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxlate.data.aihub import normalize_aihub, read_aihub
from voxlate.data.covost import read_covost_tsv
from voxlate.data.fillets import FILLETS_ROOT, read_fillets, split_by_group
from voxlate.data.librispeech import read_librispeech
from voxlate.data.manifest import ManifestEntry, read_manifest, write_manifest
from voxlate.errors import InputError


@pytest.mark.parametrize(
    ("raw", "pron", "spell"),
    [
        ("b/ (3개)/(세 개) 있어요.", "세 개 있어요", "3개 있어요"),
        (
            "o/ 그래서 음/ 학교에+ 학교에 갔어 n/",
            "그래서 음 학교에 학교에 갔어",
            "그래서 음 학교에 학교에 갔어",
        ),
        ("l/ (철수)/(철수) 씨* 어/ 왔어요? u/", "철수 씨 어 왔어요", "철수 씨 어 왔어요"),
        ("(A/S)/(에이에스) 센터, 맞죠!", "에이에스 센터 맞죠", "A S 센터 맞죠"),
    ],
)
def test_aihub_normalisation(raw, pron, spell):
    assert normalize_aihub(raw) == pron
    assert normalize_aihub(raw, "spelling") == spell


def test_aihub_reader(tmp_path):
    d = tmp_path / "KsponSpeech_01" / "KsponSpeech_0001"
    d.mkdir(parents=True)
    (d / "a.pcm").write_bytes(np.zeros(8000, "<i2").tobytes())
    (d / "a.txt").write_bytes("b/ (2개)/(두 개) 주세요.".encode("cp949"))
    (d / "lonely.txt").write_text("no audio")
    [e] = list(read_aihub(tmp_path))
    assert (e.text, e.duration, e.language) == ("두 개 주세요", 0.5, "ko")


def test_manifest_round_trip_and_relative_paths(tmp_path):
    sf.write(tmp_path / "x.wav", np.zeros(1600, np.float32), 16000)
    e = ManifestEntry(audio="x.wav", text="ahoj", duration=0.1, translation="hello", language="cs")
    write_manifest(tmp_path / "m.jsonl", [e])
    line = json.loads((tmp_path / "m.jsonl").read_text())
    assert "speaker" not in line and line["translation"] == "hello"
    [back] = read_manifest(tmp_path / "m.jsonl")
    assert back.audio == str(tmp_path / "x.wav") and back.translation == "hello"
    (tmp_path / "bad.jsonl").write_text('{"audio": "x.wav"}\n')
    with pytest.raises(InputError, match="line 1"):
        read_manifest(tmp_path / "bad.jsonl")
    with pytest.raises(InputError):
        read_manifest(tmp_path / "missing.jsonl")


def test_librispeech_reader(tmp_path):
    ch = tmp_path / "dev-clean" / "84" / "121123"
    ch.mkdir(parents=True)
    sf.write(ch / "84-121123-0000.flac", np.zeros(8000, np.float32), 16000)
    (ch / "84-121123.trans.txt").write_text(
        "84-121123-0000 GO DO YOU HEAR\n84-121123-0001 NO AUDIO\n"
    )
    [e] = list(read_librispeech(tmp_path / "dev-clean"))
    assert (e.text, e.speaker, e.duration) == ("go do you hear", "84", 0.5)


def test_covost_reader(tmp_path):
    (tmp_path / "clips").mkdir()
    sf.write(tmp_path / "clips" / "a.wav", np.zeros(1600, np.float32), 16000)
    tsv = tmp_path / "covost_v2.fr_en.tsv"
    tsv.write_text(
        "path\tsentence\ttranslation\tclient_id\tsplit\na.wav\tbonjour\thello\tc1\ttrain\nb.wav\tx\ty\tc2\ttrain\n"
    )
    [e] = list(read_covost_tsv(tsv, tmp_path / "clips", "fr", "en", split="train"))
    assert (e.text, e.translation, e.speaker) == ("bonjour", "hello", "c1")
    cvss = tmp_path / "train.tsv"
    cvss.write_text("a.wav\thello there\n")
    [e] = list(
        read_covost_tsv(cvss, tmp_path / "clips", "fr", "en", transcripts={"a.wav": "salut"})
    )
    assert (e.text, e.translation) == ("salut", "hello there")


def test_fillets_reader_and_level_split():
    if not list(FILLETS_ROOT.glob("sound/*/cs/*.ogg")):
        pytest.skip("fillets-ng-data-cs is not installed (apt-get install fillets-ng-data-cs)")
    entries = list(read_fillets())
    assert len(entries) > 1500
    e = next(x for x in entries if x.id == "bar-v-co")
    assert e.text == "Ale co s tím budeme dělat?"
    assert e.translation == "What are we supposed to do with it?"
    assert (e.group, e.speaker, e.language) == ("barrel", "v", "cs") and 0.5 < e.duration < 5
    parts = split_by_group(entries)
    levels = {k: {x.group for x in v} for k, v in parts.items()}
    assert not (levels["train"] & levels["test"]) and not (levels["dev"] & levels["test"])
    assert len(parts["test"]) > 50 and len(parts["train"]) > 1000


def test_manifest_paths_are_relative_to_the_corpus_root(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "a").mkdir(parents=True)
    e = ManifestEntry(audio=str(corpus / "a" / "x.wav"), text="ahoj", duration=0.1)
    out = tmp_path / "manifests" / "m.jsonl"
    write_manifest(out, [e], root=corpus)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0] == {"root": str(corpus)} and lines[1]["audio"] == "a/x.wav"
    assert read_manifest(out) == [e]
    # A corpus root relative to the manifest's folder: the pair moves together.
    (tmp_path / "manifests" / "rel.jsonl").write_text(
        '{"root": "../corpus"}\n{"audio": "a/x.wav", "text": "ahoj", "duration": 0.1}\n'
    )
    [back] = read_manifest(tmp_path / "manifests" / "rel.jsonl")
    assert Path(back.audio).resolve() == corpus / "a" / "x.wav"


def test_shipped_fillets_manifests_name_no_absolute_audio_paths():
    root = Path(__file__).parents[2] / "models" / "fillets-cs"
    for name in ("train", "dev", "test"):
        lines = [json.loads(x) for x in (root / f"{name}.jsonl").read_text().splitlines()]
        assert lines[0] == {"root": str(FILLETS_ROOT)}
        assert all(not Path(d["audio"]).is_absolute() for d in lines[1:]), name
