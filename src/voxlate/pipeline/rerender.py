"""`voxlate render`: the output of `voxlate translate` re-created from its JSON report, after
the user edited a segment's ``translation``, ``speaker`` or ``voice`` (or the translated SRT).

Only what changed is synthesised again: each segment's voiced clip is looked up in the clip
cache (`clip_cache.py`) under the key of its text, language, synthesizer, voice and the
speaker's speech, which `voxlate translate` filled. Clips are then placed on the timeline
as `translate` places them (speed-up to 1.25x, then shift).

The report is untrusted input (docs/security.md): it is parsed as JSON and every field
render uses is checked (a bad edit is one sentence naming the segment, exit 2, and nothing
is written); no path in it is written to; the input it names is only read through the
normal decoder (`load_audio`); a voice given as a reference clip passes the checks of
``--voice REF`` (`build_voice_stage`); a synthesizer spec naming a path is refused (a
model is loaded only from a path given on the command line, ``--tts``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from voxlate.audio import SAMPLE_RATE, Audio, concatenate, load_audio
from voxlate.errors import InputError, VoxlateError
from voxlate.pipeline.clip_cache import ClipCache, audio_digest, clip_key
from voxlate.pipeline.file import (
    REPORT_VERSION,
    FileResult,
    assemble,
    per_speaker_voice,
    source_clip,
    speaker_encoder,
    voice_identity,
)
from voxlate.pipeline.timeline import TimelineConfig


class ReportEditError(InputError):
    """A report that cannot be rendered (a bad edit); a usage error."""

    exit_code = 2


@dataclass
class Segment:
    """One segment of a report, as render uses it."""

    start: float
    end: float
    translation: str
    speaker: str
    voice: str  # '' : the report's voice
    row: dict  # the report's segment, kept for the new report


@dataclass
class Plan:
    """What a report says to render."""

    report: dict
    source: str
    target: str
    input: str
    duration: float
    tts: str
    voice: str
    segments: list[Segment]
    speakers: dict[str, list[int]]  # label -> the segments its voice is fitted on
    notes: list[str] = field(default_factory=list)


def _where(i: int, row: Any) -> str:
    at = row.get("start") if isinstance(row, dict) else None
    when = f" (at {at:.2f} s)" if isinstance(at, int | float) and math.isfinite(at) else ""
    return f"Segment {i + 1}{when}"


def read_report(path: str | os.PathLike) -> dict:
    """The report at `path` as JSON; ReportEditError (with the line) when it is not."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"Cannot read the report {path}: {getattr(e, 'strerror', e)}.") from e
    try:
        rep = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReportEditError(
            f"The report {path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}."
        ) from e
    if not isinstance(rep, dict):
        raise ReportEditError(f"The report {path} is not a JSON object.")
    return rep


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def plan_from_report(rep: dict, path: str | os.PathLike = "the report") -> Plan:
    """Check the report's fields and return the `Plan` (ReportEditError naming the field
    or segment otherwise)."""
    if rep.get("report_version") != REPORT_VERSION:
        raise ReportEditError(
            f"{path} is not a version {REPORT_VERSION} report of voxlate translate "
            "(translate again with --report to render it)."
        )
    top: dict[str, Any] = {}
    for key, kind in (
        ("source_language", str),
        ("target_language", str),
        ("input", str),
        ("duration_s", float),
        ("segments", list),
        ("speakers", list),
        ("specs", dict),
    ):
        v = rep.get(key)
        ok = _number(v) if kind is float else isinstance(v, kind)
        if not ok:
            raise ReportEditError(
                f"The report's field '{key}' is missing or not a {kind.__name__}."
            )
        top[key] = v
    specs = top["specs"]
    tts, voice = specs.get("tts"), specs.get("voice")
    if not isinstance(tts, str) or not isinstance(voice, str):
        raise ReportEditError("The report's 'specs' must name the 'tts' and 'voice' used.")
    checked: set[str] = set()
    try:
        check_voice(voice, checked)
    except VoxlateError as e:
        raise ReportEditError(f"The report's voice: {e}") from e
    speakers: dict[str, list[int]] = {}
    n = len(top["segments"])
    for j, spk in enumerate(top["speakers"]):
        name = spk.get("label") if isinstance(spk, dict) else None
        rows = spk.get("utterances") if isinstance(spk, dict) else None
        if (
            not isinstance(name, str)
            or not name
            or not isinstance(rows, list)
            or not all(isinstance(r, int) and not isinstance(r, bool) and 0 <= r < n for r in rows)
        ):
            raise ReportEditError(
                f"Speaker {j + 1} of the report needs a 'label' and the 'utterances' (segment "
                "indices) its voice was fitted on."
            )
        if name in speakers:
            raise ReportEditError(f"The report names speaker '{name}' twice.")
        speakers[name] = rows
    segments = []
    for i, row in enumerate(top["segments"]):
        where = _where(i, row)
        if not isinstance(row, dict):
            raise ReportEditError(f"{where} is not a JSON object.")
        for key in ("start", "end"):
            if not _number(row.get(key)) or row[key] < 0:
                raise ReportEditError(f"{where} has no valid '{key}' time.")
        if row["end"] < row["start"]:
            raise ReportEditError(f"{where} ends before it starts.")
        if "translation" not in row:
            raise ReportEditError(f"{where} has no 'translation' field.")
        if not isinstance(row["translation"], str):
            raise ReportEditError(f"{where}: the translation is not a string.")
        who = row.get("speaker", "")
        if not isinstance(who, str):
            raise ReportEditError(f"{where}: the speaker is not a string.")
        if who and who not in speakers or (not who and speakers):
            known = ", ".join(speakers) or "none"
            raise ReportEditError(
                f"{where} has unknown speaker '{who}'; the report's speakers are {known}."
            )
        v = row.get("voice", "")
        if not isinstance(v, str):
            raise ReportEditError(f"{where}: the voice is not a string.")
        if v:
            try:
                check_voice(v, checked)
            except VoxlateError as e:
                raise ReportEditError(f"{where}: {e}") from e
        segments.append(
            Segment(float(row["start"]), float(row["end"]), row["translation"], who, v, row)
        )
    if segments and any(b.start < a.start for a, b in zip(segments, segments[1:])):
        raise ReportEditError("The report's segments are not in order of their start times.")
    return Plan(
        rep,
        top["source_language"],
        top["target_language"],
        top["input"],
        float(top["duration_s"]),
        tts,
        voice,
        segments,
        speakers,
    )


def check_voice(voice: str, checked: set[str]) -> None:
    """`voice` parsed as ``--voice`` is, and a reference clip it names checked as ``--voice
    REF`` checks it (`load_reference`), once per voice in `checked`."""
    from voxlate.pipeline.voice.mode import parse_voice

    if voice in checked:
        return
    m = parse_voice(voice)
    if m.kind == "reference" and m.reference is not None:
        from voxlate.pipeline.voice.reference import load_reference

        load_reference(m.reference)
    checked.add(voice)


def apply_srt_edits(plan: Plan, srt_path: str | os.PathLike) -> int:
    """Take the translations from an edited SRT: cue N is the N-th segment with a
    translation (as ``translate --srt`` numbers them); returns how many changed."""
    import srt

    try:
        text = Path(srt_path).read_text(encoding="utf-8")
        cues = list(srt.parse(text))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"Cannot read the subtitles {srt_path}.") from e
    except srt.SRTParseError as e:
        raise ReportEditError(f"The subtitles {srt_path} are not valid SRT ({e}).") from e
    spoken = [s for s in plan.segments if s.translation.strip()]
    changed = 0
    for cue in cues:
        if not 1 <= cue.index <= len(spoken):
            raise ReportEditError(
                f"Cue {cue.index} of {srt_path} has no segment (the report has {len(spoken)} cues)."
            )
        seg = spoken[cue.index - 1]
        new = cue_translation(cue.content, seg)
        if new != " ".join(seg.translation.split()):
            seg.translation = new
            changed += 1
    return changed


def cue_translation(content: str, seg: Segment) -> str:
    """The translation a cue of `translate --srt` holds: its first line (a bilingual
    cue's second line is the source), without the speaker label `segment_cues` adds."""
    from voxlate.subtitles import speaker_label

    first = content.strip().split("\n", 1)[0]
    label = f"{speaker_label(seg.speaker)}: " if seg.speaker else None
    if label and first.startswith(label):
        first = first[len(label) :]
    return " ".join(first.split())


def check_tts_spec(spec: str) -> str:
    """`spec` when it names a registered synthesizer without a path (a report cannot make
    render load a model from a path of its choosing)."""
    from voxlate.engines import tts
    from voxlate.registry import Spec

    s = Spec.parse(spec)
    if s.name not in tts.REGISTRY.names() or (s.arg and ("/" in s.arg or "\\" in s.arg)):
        raise ReportEditError(
            f"The report's synthesizer '{spec}' is not a built-in voice; give --tts to render."
        )
    return spec


@dataclass
class _Voices:
    """The synthesizer and voice stages, built on the first segment that needs them."""

    plan: Plan
    audio: Audio
    tts_spec: str
    synthesizer: Any = None
    stages: dict[str, Any] = field(default_factory=dict)

    def synth(self) -> Any:
        if self.synthesizer is None:
            from voxlate.pipeline.engines import create_engine

            self.synthesizer = create_engine("tts", self.tts_spec)
        return self.synthesizer

    def stage(self, voice: str) -> Any:
        if voice not in self.stages:
            from voxlate.pipeline.voice import build_voice_stage
            from voxlate.pipeline.voice.stages import SpeakerVoice

            stage = build_voice_stage(voice, self.synth())
            if isinstance(stage, SpeakerVoice) and self.plan.speakers:
                labels, clips = [], []
                for who, rows in self.plan.speakers.items():
                    for r in rows:
                        s = self.plan.segments[r]
                        labels.append(who)
                        clips.append(source_clip(self.audio, s.start, s.end))
                enc = speaker_encoder(stage)
                embs = np.stack([enc.embed(c) for c in clips])
                stage.assign(labels, clips, embs)
            self.stages[voice] = stage
        return self.stages[voice]

    def say(self, seg: Segment, voice: str) -> Audio | None:
        from voxlate.pipeline.voicing import synthesize_in_voice

        stage = self.stage(voice)
        source = source_clip(self.audio, seg.start, seg.end)
        who = seg.speaker or None
        chunks = [
            c
            for c in synthesize_in_voice(
                self.synth(), stage, seg.translation, self.plan.target, source, who
            )
            if len(c.samples)
        ]
        if not chunks:
            return None
        speech = concatenate(chunks, chunks[0].sample_rate)
        if stage is None:
            return speech
        if who is None:
            return stage.convert(speech, source)
        return stage.convert(speech, source, speaker=who)


def render_plan(
    plan: Plan,
    input_path: str | os.PathLike,
    cache: ClipCache | None = None,
    tts: str | None = None,
    max_seconds: float | None = None,
    timeline: TimelineConfig | None = None,
) -> tuple[FileResult, dict]:
    """The output of `plan` and its new report: cached clips where their key matches,
    the other segments synthesised (and stored in `cache`)."""
    import time

    t0 = time.perf_counter()
    audio = load_audio(input_path, max_seconds=max_seconds).resample(SAMPLE_RATE)
    tts_spec = tts or check_tts_spec(plan.tts)
    voices = _Voices(plan, audio, tts_spec)
    digests = {
        who: audio_digest(
            [source_clip(audio, plan.segments[r].start, plan.segments[r].end) for r in rows]
        )
        for who, rows in plan.speakers.items()
    }
    identities: dict[str, str] = {}
    clips: list[Audio | None] = []
    synthesized = 0
    for seg in plan.segments:
        voice = seg.voice or plan.voice
        if voice not in identities:
            identities[voice] = voice_identity(voice)
        if not seg.translation.strip():
            clips.append(None)
            continue
        per_speaker = per_speaker_voice(voice)
        key = None
        if not per_speaker or seg.speaker:
            spk = digests.get(seg.speaker, "") if per_speaker else ""
            key = clip_key(seg.translation, plan.target, tts_spec, identities[voice], spk)
        clip = cache.get(key) if cache is not None and key is not None else None
        if clip is None:
            clip = voices.say(seg, voice)
            synthesized += 1
            if clip is not None and cache is not None and key is not None:
                cache.put(key, clip)
        clips.append(clip)
    cfg = timeline or TimelineConfig()
    track, placed = assemble(
        [s.start for s in plan.segments],
        [s.end for s in plan.segments],
        clips,
        max(plan.duration, audio.duration),
        cfg,
    )
    rows = []
    for seg, p in zip(plan.segments, placed):
        row = dict(seg.row)
        row.update(
            translation=seg.translation,
            speaker=seg.speaker,
            voice=seg.voice,
            output_start=p.output_start,
            output_end=p.output_end,
            speed=p.speed,
            shift_s=p.shift_s,
        )
        rows.append(row)
    result_segments = [
        replace(p, source_text=str(s.row.get("source_text", "")), translation=s.translation)
        for p, s in zip(placed, plan.segments)
    ]
    total = round(time.perf_counter() - t0, 4)
    result = FileResult(
        track,
        result_segments,
        {"total": total},
        round(audio.duration, 3),
        list(plan.report.get("speakers", [])),
        synthesized,
    )
    rep = dict(plan.report)
    rep.update(segments=rows, synthesized=synthesized, render_s=total)
    if tts:
        rep["specs"] = {**plan.report["specs"], "tts": tts}
    return result, rep
