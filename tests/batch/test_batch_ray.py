"""`voxlate batch` on a local Ray cluster: failures isolated, skip, redo, lost workers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

import voxlate
from voxlate.batch.discover import BatchUsageError
from voxlate.batch.manifest import read_manifest
from voxlate.batch.plan import BatchOptions, file_sha256
from voxlate.batch.ray_pool import PoolConfig
from voxlate.batch.runner import run_batch
from voxlate.batch.worker import BatchWorker, Job, JobOutcome
from voxlate.pipeline.engines import EngineSpecs

# The fast engines: energy VAD, no enhancement, the stock eSpeak NG voice.
FAST = [
    "--voice",
    "tts",
    "--vad",
    "energy",
    "--enhance",
    "none",
    "--mt",
    "apertium",
    "-s",
    "en",
    "-t",
    "es",
]


def _by_name(rows: list[dict]) -> dict[str, dict]:
    return {Path(r["input"]).name: r for r in rows}


def test_batch_isolates_failures_skips_on_rerun_and_redoes_changed_input(
    ray_cluster, run_cli, inputs: Path, tmp_path: Path, librivox
) -> None:
    out = tmp_path / "out"
    code, _, err = run_cli("batch", inputs, "-o", out, "--workers", "2", "--srt", "-q", *FAST)
    assert code == 1, err  # two inputs failed, the others were still done
    rows = read_manifest(out / "manifest.jsonl")
    first = _by_name(rows)
    assert len(rows) == 4 and set(first) == {"talk0.wav", "talk1.wav", "broken.wav", "silent.wav"}
    for name in ("talk0.wav", "talk1.wav"):
        r = first[name]
        assert r["status"] == "ok" and r["error"] is None and r["attempts"] == 1
        assert r["output"] == str(out / name.replace(".wav", ".es.wav"))
        assert r["report"] == str(out / name.replace(".wav", ".es.json"))
        assert r["seconds"] > 0 and r["audio_s"] == pytest.approx(sf.info(r["input"]).duration)
        ip, pid = r["worker"].rsplit(":", 1)
        assert ip and int(pid) > 0 and pid != str(os.getpid())  # ran in a Ray worker
        assert r["node_id"] == ray_cluster.get_runtime_context().get_node_id()
        audio, rate = sf.read(r["output"])
        assert len(audio) / rate >= r["audio_s"] - 0.05  # the translation track covers the input
        rep = json.loads(Path(r["report"]).read_text())
        assert rep["batch"]["input_sha256"] == file_sha256(r["input"])
        assert rep["batch"]["options"]["specs"]["vad"] == "energy"
        assert rep["segments"] and rep["segments"][0]["translation"]
        assert "-->" in (out / name.replace(".wav", ".es.srt")).read_text()
    assert first["broken.wav"]["status"] == "failed" and first["broken.wav"]["output"] is None
    assert "Cannot read" in first["broken.wav"]["error"]
    assert first["silent.wav"]["status"] == "failed"
    assert "No speech" in first["silent.wav"]["error"]
    assert not list(out.glob(".*"))  # no temp files left behind
    mtime = Path(first["talk1.wav"]["output"]).stat().st_mtime_ns

    # Rerun with the good inputs changed: talk0 now holds other speech; talk1 is as it was.
    replacement = max(librivox, key=lambda c: sf.info(c[0]).duration)[0]
    shutil.copy(replacement, inputs / "talk0.wav")
    (inputs / "broken.wav").unlink()
    (inputs / "silent.wav").unlink()
    code, _, err = run_cli("batch", inputs, "-o", out, "--workers", "1", "--srt", "-q", *FAST)
    assert code == 0, err
    second = _by_name(read_manifest(out / "manifest.jsonl")[4:])
    assert second["talk1.wav"]["status"] == "skipped" and second["talk1.wav"]["worker"] is None
    assert Path(second["talk1.wav"]["output"]).stat().st_mtime_ns == mtime  # not rewritten
    assert second["talk0.wav"]["status"] == "ok"
    assert second["talk0.wav"]["audio_s"] == pytest.approx(sf.info(replacement).duration)


class CrashingWorker(BatchWorker):
    """Dies (the whole process) on inputs named crash*: once for crash-once, always for crash-always."""

    def run(self, job: Job):  # type: ignore[override]
        name = job.item.input.name
        marker = job.item.output.parent / f"{name}.crashed"
        if name == "crash-always.wav" or (name == "crash-once.wav" and not marker.exists()):
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            os._exit(1)
        return super().run(job)


@pytest.mark.slow
def test_lost_worker_is_retried_then_recorded(ray_cluster, inputs: Path, tmp_path: Path) -> None:
    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    (inputs / "broken.wav").unlink()
    (inputs / "silent.wav").unlink()
    shutil.copy(inputs / "talk0.wav", inputs / "crash-once.wav")
    shutil.copy(inputs / "talk1.wav", inputs / "crash-always.wav")
    out = tmp_path / "out"
    options = BatchOptions("en", "es", EngineSpecs(vad="energy", enhance="none", voice="tts"))
    summary = run_batch(
        [inputs], out, options, PoolConfig(workers=2), progress=False, worker_cls=CrashingWorker
    )
    rows = _by_name(read_manifest(out / "manifest.jsonl"))
    assert rows["crash-once.wav"]["status"] == "ok" and rows["crash-once.wav"]["attempts"] == 2
    always = rows["crash-always.wav"]
    assert always["status"] == "failed" and always["attempts"] == 2
    assert "worker was lost 2 times" in always["error"]
    assert rows["talk0.wav"]["status"] == rows["talk1.wav"]["status"] == "ok"
    assert (summary.ok, summary.failed, summary.exit_code) == (3, 1, 1)
    assert not (out / "crash-always.es.wav").exists()
    # A worker lost while it ran leaves no peak figure; a surviving one reports both.
    assert any(w.rss_mb > 0 and w.peak_rss_mb >= w.rss_mb for w in summary.workers)


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.wav")}


def _wait_for(predicate, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the batch ended early: {proc.stderr.read()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out")
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_killed_run_leaves_no_half_output_and_next_run_finishes(
    ray_cluster, run_cli, inputs: Path, librivox, tmp_path: Path, sig: int
) -> None:
    (inputs / "broken.wav").unlink()
    (inputs / "silent.wav").unlink()
    for i, (path, _) in enumerate(librivox[:2]):
        shutil.copy(path, inputs / f"more{i}.wav")
    out = tmp_path / "out"
    manifest = out / "manifest.jsonl"
    env = {**os.environ, "PYTHONPATH": str(Path(voxlate.__file__).parents[1])}
    cmd = [sys.executable, "-m", "voxlate", "batch", str(inputs), "-o", str(out), "-w", "1"]
    proc = subprocess.Popen(cmd + FAST, env=env, stderr=subprocess.PIPE, text=True)

    def one_done() -> bool:
        return manifest.exists() and any(r["status"] == "ok" for r in read_manifest(manifest))

    _wait_for(one_done, proc, timeout=240)
    proc.send_signal(sig)  # the next input is being translated now
    assert proc.wait(timeout=60) != 0
    killed = read_manifest(manifest)
    assert 1 <= len(killed) < 4 and all(r["status"] == "ok" for r in killed)
    assert not list(out.glob(".*"))  # no temp file of the interrupted write
    for wav in out.glob("*.wav"):  # whatever is there is whole
        assert sf.info(wav).duration > 1.0
    reports = {rep.name.replace(".es.json", ".wav") for rep in out.glob("*.json")}
    for rep in out.glob("*.json"):
        assert json.loads(rep.read_text())["batch"]["input_sha256"]
    assert {Path(r["input"]).name for r in killed} <= reports < _names(inputs)

    code, _, err = run_cli("batch", inputs, "-o", out, "-w", "2", "-q", *FAST)
    assert code == 0, err
    resumed = _by_name(read_manifest(manifest)[len(killed) :])
    assert len(resumed) == 4
    assert set(resumed) == _names(inputs)
    for name, r in resumed.items():
        # A worker may finish an input between the signal and the driver's manifest line:
        # its outputs are whole and it is skipped; whatever was unfinished is done now.
        assert r["status"] == ("skipped" if name in reports else "ok"), name
        assert Path(r["output"]).is_file() and Path(r["report"]).is_file()


@pytest.mark.slow
def test_address_joins_a_running_cluster_and_leaves_it_running(
    ray_cluster, librivox, tmp_path: Path
) -> None:
    address = ray_cluster.get_runtime_context().gcs_address
    clip = min(librivox, key=lambda c: sf.info(c[0]).duration)[0]
    env = {**os.environ, "PYTHONPATH": str(Path(voxlate.__file__).parents[1])}
    cmd = [sys.executable, "-m", "voxlate", "batch", str(clip), "-o", str(tmp_path / "out")]
    r = subprocess.run(
        cmd + ["--address", address, "-q", *FAST], env=env, capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-2000:]
    (row,) = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert row["status"] == "ok"
    assert row["node_id"] == ray_cluster.get_runtime_context().get_node_id()  # this cluster's node
    assert ray_cluster.is_initialized() and ray_cluster.cluster_resources()["CPU"] == 2


class BrokenInstallWorker(BatchWorker):
    """A worker whose process cannot load voxlate's engines (a node without the models)."""

    def load(self):  # type: ignore[override]
        raise RuntimeError("no model files on this node")


def test_workers_that_cannot_load_are_a_usage_error(
    ray_cluster, run_cli, inputs: Path, tmp_path: Path
) -> None:
    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    options = BatchOptions("en", "es", EngineSpecs(vad="energy", enhance="none", voice="tts"))
    with pytest.raises(BatchUsageError, match="could not start.*no model files on this node"):
        run_batch([inputs], tmp_path / "a", options, progress=False, worker_cls=BrokenInstallWorker)
    code, _, err = run_cli("batch", inputs, "-o", tmp_path / "b", "-q", *FAST[:-1], "xx")
    assert code == 2 and "Translation en->xx is not available" in err
    assert not list((tmp_path / "b").glob("*.wav"))


class LastPartFailsOnce(BatchWorker):
    """Fails the last part of a split input the first time (a marker file remembers)."""

    def run(self, job: Job):  # type: ignore[override]
        part = job.item.output.parent / "last-part-failed"
        if job.part is not None and job.part.index == job.part.count - 1 and not part.exists():
            part.touch()
            return JobOutcome(False, "Injected failure.", 0.0, 0.0, self.current_info())
        return super().run(job)


@pytest.mark.slow
def test_long_input_split_at_pauses_joined_in_order_and_parts_resumed(
    ray_cluster, librivox, tmp_path: Path
) -> None:
    from voxlate.audio import save_audio
    from voxlate.bench.batch import joined_recording

    ray_cluster.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    folder = tmp_path / "in"
    folder.mkdir()
    long = joined_recording([p for p, _ in librivox], 2)  # 55 s, 10 sentences
    save_audio(folder / "long.wav", long)
    out = tmp_path / "out"
    specs = EngineSpecs(vad="energy", enhance="none", voice="tts")
    options = BatchOptions("en", "es", specs, srt=True, split_over_s=20.0)
    first = run_batch([folder], out, options, PoolConfig(2), False, LastPartFailsOnce)
    (row,) = read_manifest(out / "manifest.jsonl")
    assert row["status"] == "failed" and row["error"] == "part 3 of 3: Injected failure."
    assert first.exit_code == 1 and not (out / "long.es.wav").exists()
    kept = sorted(p.name for p in (out / ".parts" / "long.es.wav").glob("*.npz"))
    assert kept == ["0-of-3.npz", "1-of-3.npz"]  # the finished parts wait for the next run

    second = run_batch([folder], out, options, PoolConfig(2), False, LastPartFailsOnce)
    row = read_manifest(out / "manifest.jsonl")[-1]
    assert second.exit_code == 0 and row["status"] == "ok" and row["parts"] == 3
    assert row["seconds"] < 0.8 * first.wall_s  # only the last part was translated again
    rep = json.loads((out / "long.es.json").read_text())
    bounds = rep["parts"]
    assert bounds[0][0] == 0 and bounds[-1][1] == pytest.approx(long.duration, abs=0.01)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    for a, _ in bounds[1:]:  # every cut is in a pause, outside every utterance
        assert all(not (s["start"] < a < s["end"]) for s in rep["segments"])
    starts = [s["start"] for s in rep["segments"]]
    assert starts == sorted(starts) and len(starts) >= 8
    assert sum("Dashwood" in s["source_text"] for s in rep["segments"]) == 2
    assert sf.info(out / "long.es.wav").duration >= long.duration - 0.05
    assert not (out / ".parts").exists()
