"""`voxlate live` (microphone or file, translated as you speak) and `voxlate bench live`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from voxlate.cli.conventions import APPEND_HELP, MAX_AUDIO_MINUTES, MaxAudioMinutes, max_seconds
from voxlate.cli.engine_options import (
    AsrOption,
    EndSilenceOption,
    EnhanceModeOption,
    EnhanceOption,
    MaxUtteranceOption,
    MtOption,
    SourceOption,
    TargetOption,
    TtsOption,
    VadOption,
    VoiceOption,
)
from voxlate.cli.groups import app, bench_app

if TYPE_CHECKING:
    from voxlate.pipeline.engines import Engines, EngineSpecs


@app.command()
def live(
    mic: bool = typer.Option(False, "--mic", help="Translate the microphone (needs sounddevice)."),
    input: Path | None = typer.Option(
        None, "--input", "-i", help="Translate this recording as a live stream instead."
    ),
    realtime: bool = typer.Option(
        False, "--realtime", help="Feed --input at real-time pace (as a microphone would)."
    ),
    source: SourceOption = "en",
    target: TargetOption = "es",
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        metavar="PATH",
        help="Write the translated speech to this wav instead of speakers.",
    ),
    voice: VoiceOption = "preserve",
    vad: VadOption = "silero",
    enhance: EnhanceOption = "deepfilter",
    enhance_mode: EnhanceModeOption = "auto",
    asr: AsrOption = None,
    mt: MtOption = None,
    tts: TtsOption = None,
    end_silence: EndSilenceOption = 0.3,
    max_utterance: MaxUtteranceOption = 8.0,
    partials: float = typer.Option(
        0.0, "--partials", help="Partial transcripts every so many seconds while speaking (0: off)."
    ),
    seconds: float | None = typer.Option(None, "--seconds", help="Stop --mic after this long."),
    json_events: bool = typer.Option(False, "--json", help="Print events as JSON lines."),
    max_audio_minutes: MaxAudioMinutes = MAX_AUDIO_MINUTES,
) -> None:
    """Translate speech as it is spoken: from the microphone, or a recording fed as a stream.

    Prints events (speech start/end, transcript, translation, latency) as they happen and
    plays the translated speech, or writes it with -o. Models load once, before the first frame.
    """
    import asyncio
    import dataclasses
    import json

    from voxlate.audio import load_audio, save_audio
    from voxlate.audio_encode import audio_format
    from voxlate.cli.translate import load_engines
    from voxlate.errors import InputError
    from voxlate.outputs import check_outputs
    from voxlate.pipeline.engines import command_specs
    from voxlate.pipeline.stream import LIVE_SEGMENTER, StreamConfig, StreamTranslator
    from voxlate.pipeline.stream_events import AudioOut, Latency
    from voxlate.pipeline.stream_io import (
        SpeakerSink,
        TimelineSink,
        check_sound_device,
        file_frames,
        mic_frames,
    )
    from voxlate.pipeline.stream_stages import check_enhance_mode

    if mic == (input is not None):
        raise InputError("Give exactly one of --mic or --input FILE.")
    if end_silence <= 0 or max_utterance <= 1:
        raise InputError("--end-silence must be > 0 and --max-utterance > 1 second.")
    if enhance_mode not in ("always", "auto", "never"):
        raise InputError("--enhance-mode must be always, auto or never.")
    cap = max_seconds(max_audio_minutes)
    audio = load_audio(input, max_seconds=cap) if input is not None else None
    # Fail before loading models: no sounddevice, no microphone, no speakers.
    if mic:
        check_sound_device("input")
    if output is None:
        check_sound_device("output")
    else:
        check_outputs([output], [input] if input is not None else [])
        audio_format(output)
    specs = command_specs(live=True, voice=voice, vad=vad, enhance=enhance, asr=asr, mt=mt, tts=tts)
    engines = load_engines(specs, source.lower(), target.lower())
    if tts is None:
        engines = live_voice_or_fallback(engines, specs, source.lower(), target.lower())
    engines.warm_up()
    seg = dataclasses.replace(
        LIVE_SEGMENTER, end_silence_s=end_silence, max_utterance_s=max_utterance
    )
    config = StreamConfig(
        segmenter=seg, enhance=check_enhance_mode(enhance_mode), partial_every_s=partials
    )
    sink: TimelineSink | SpeakerSink = TimelineSink() if output else SpeakerSink()
    frames = mic_frames(max_s=seconds) if audio is None else file_frames(audio, realtime)

    async def run() -> None:
        stream = StreamTranslator(engines, config)
        async for ev in stream.run(frames):
            if isinstance(ev, AudioOut):
                if isinstance(sink, TimelineSink):
                    sink.add(ev.audio, realtime=mic or realtime)
                else:
                    sink.add(ev.audio)
                continue
            if json_events:
                typer.echo(json.dumps(ev.to_json(), ensure_ascii=False))
            elif isinstance(ev, Latency):
                fa = "-" if ev.first_audio_s is None else f"{ev.first_audio_s:.2f} s"
                stages = " ".join(f"{k} {v:.2f}" for k, v in ev.stages.items())
                note = f" [voice: {ev.voice}]" if ev.voice else ""
                typer.echo(f"[{ev.index}] latency: first audio {fa} ({stages}){note}")
            else:
                d = ev.to_json()
                kind = d.pop("type")
                typer.echo(
                    f"[{d.pop('index', '-')}] {kind}: "
                    + (d["text"] if "text" in d else " ".join(f"{k}={v}" for k, v in d.items()))
                )

    try:
        asyncio.run(run())
    finally:
        if isinstance(sink, SpeakerSink):
            import time

            deadline = time.monotonic() + 60
            while sink.pending_s() > 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            sink.close()
    if output is not None and isinstance(sink, TimelineSink):
        save_audio(output, sink.audio())
        typer.echo(f"translated speech -> {output}", err=True)


@bench_app.command("live")
def bench_live(
    inputs: list[Path] = typer.Argument(
        None, help="Recordings [default: the LibriVox clips of pocketsphinx-testdata]."
    ),
    source: SourceOption = "en",
    target: TargetOption = "es",
    voice: VoiceOption = "preserve",
    enhance_mode: EnhanceModeOption = "auto",
    end_silence: EndSilenceOption = 0.3,
    clients: int = typer.Option(4, "--clients", help="Concurrent WebSocket clients (0: skip)."),
    limit: int = typer.Option(0, "--limit", help="Use only the first N recordings (0: all)."),
    rounds: int = typer.Option(
        2, "--rounds", help="Passes through the recordings in the in-process stream (0: skip it)."
    ),
    append: Path | None = typer.Option(None, "--append", "--log", help=APPEND_HELP),
    no_log: bool = typer.Option(False, "--no-log", hidden=True, help="Print only (the default)."),
    asr: AsrOption = None,
    tts: TtsOption = None,
    asr_bleu: int = typer.Option(
        0,
        "--asr-bleu",
        help="Also ASR-BLEU of the live output against the file output on N Fish Fillets lines "
        "(en<->es, ...): each streamed in real time, then through the file pipeline, same "
        "engines (0: skip).",
    ),
    split: str = typer.Option("test", "--split", help="--asr-bleu lines: test | dev."),
    stagger: float = typer.Option(
        0.0,
        "--stagger",
        help="Client k starts k x this many seconds after the first, so the clients' "
        "utterances end at different moments, as independent speakers' do (0: all in step, "
        "every utterance ending at once: the worst case).",
    ),
) -> None:
    """Latency of live translation: end of speech -> first translated audio, fed in real time.

    With --asr-bleu N: N reference lines (input speech synthesised) streamed live and
    translated by the file pipeline with the same engines; the output speech of each is
    transcribed by Whisper base and scored (text BLEU, ASR-BLEU, ASR-chrF, live - file).
    """
    from voxlate.bench.live import run_live_bench
    from voxlate.bench.translate import default_inputs
    from voxlate.errors import InputError
    from voxlate.pipeline.voice.mode import parse_voice

    voice = str(parse_voice(voice))
    if asr_bleu < 0:
        raise InputError("--asr-bleu must be 0 (skip) or a number of lines.")
    if not 0 <= stagger <= 60:
        raise InputError("--stagger must be between 0 and 60 seconds.")
    files = list(inputs or []) if inputs or (rounds <= 0 and clients <= 0) else default_inputs()
    files = files[:limit] if limit > 0 else files
    body = run_live_bench(
        files,
        source,
        target,
        voice=voice,
        enhance_mode=enhance_mode,
        end_silence=end_silence,
        clients=clients,
        rounds=rounds,
        log=None if no_log else append,
        asr=asr,
        tts=tts,
        asr_bleu=asr_bleu,
        split=split,
        stagger=stagger,
    )
    typer.echo(body)


def live_voice_or_fallback(
    engines: Engines, specs: EngineSpecs, source: str, target: str
) -> Engines:
    """The default live synthesizer if one short call shows it fast enough here, else the
    engines with eSpeak NG in its place (`pipeline.engines.live_tts_choice`, as `voxlate
    serve` decides at start-up); says which on stderr. Only the synthesizer and the voice
    stage built for it are replaced (`with_synthesizer`); the other engines stay loaded."""
    from voxlate.pipeline.engines import LIVE_FALLBACK_TTS, default_tts, live_tts_choice
    from voxlate.server.live_voice import PROBE_LANGUAGE, real_time_factor

    default = default_tts(target, live=True)
    if default == LIVE_FALLBACK_TTS:
        return engines
    synth = engines.synthesizer
    probe = PROBE_LANGUAGE if PROBE_LANGUAGE in synth.languages() else target
    spec, message = live_tts_choice(default, real_time_factor(synth, probe))
    typer.echo(message, err=True)
    if spec == default:
        return engines
    return with_synthesizer(engines, spec, specs.voice)


def with_synthesizer(engines: Engines, spec: str, voice: str) -> Engines:
    """`engines` with the synthesizer `spec` in place of theirs and the live voice stage of
    `voice` built for it (sharing the old stage's speaker encoder); the VAD, enhancer,
    recognizer and translator are the loaded ones."""
    import dataclasses

    from voxlate.errors import UnsupportedLanguageError
    from voxlate.pipeline.engines import create_engine, describe, late_synthesizer
    from voxlate.pipeline.voice import build_voice_stage, parse_voice

    synthesizer = create_engine("tts", spec)
    if engines.target not in synthesizer.languages():
        raise UnsupportedLanguageError(
            f"The synthesizer {describe(synthesizer)} does not speak '{engines.target}'."
        )
    encoder = getattr(engines.voice, "encoder", None)
    stage = build_voice_stage(voice, synthesizer, live=True, encoder=encoder)
    tts_name = describe(synthesizer)
    if tts_name == "espeak-ng":
        tts_name = f"espeak-ng:{engines.target}"
    names = dict(engines.names, tts=tts_name, voice=describe(stage) if stage else "tts")
    rebuild = dict(engines.specs, tts=spec, voice=str(parse_voice(voice)))
    late = late_synthesizer(synthesizer, engines.target) if engines.late is not None else None
    return dataclasses.replace(
        engines, synthesizer=synthesizer, voice=stage, names=names, specs=rebuild, late=late
    )
