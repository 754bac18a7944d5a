"""The engine, language and segmentation options every command shares, declared once.

`translate`, `live`, `serve`, `batch` and the `bench` commands take these; the same option
has the same help everywhere. Use as ``voice: VoiceOption = "preserve"``: the type carries
the flag and its help, the default stays in the signature (and shows in --help). An engine
spec left at None is chosen by `pipeline.engines.default_engine` (file or live), which
the help of --asr, --mt and --tts describes.
"""

from __future__ import annotations

from typing import Annotated

import typer

from voxlate.pipeline.voice.mode import VOICE_HELP

SourceOption = Annotated[
    str, typer.Option("--source", "-s", help="Spoken language (ISO 639-1, e.g. en, es).")
]
TargetOption = Annotated[str, typer.Option("--target", "-t", help="Language to speak (ISO 639-1).")]
VoiceOption = Annotated[str, typer.Option("--voice", help=VOICE_HELP)]
VadOption = Annotated[str, typer.Option("--vad", help="Voice activity detector: silero | energy.")]
EnhanceOption = Annotated[
    str,
    typer.Option("--enhance", help="Enhancer: deepfilter | spectral | none | diffusion:CKPT."),
]
EnhanceModeOption = Annotated[
    str,
    typer.Option(
        "--enhance-mode",
        help="always | never | auto (enhance only utterances under 15 dB above the noise floor).",
    ),
]
AsrOption = Annotated[
    str | None,
    typer.Option(
        "--asr",
        help="Recognizer spec, e.g. faster-whisper:/models/whisper-small "
        "[default: tiny.en for en, the embedded Whisper base otherwise].",
    ),
]
MtOption = Annotated[
    str | None,
    typer.Option(
        "--mt",
        help="Translator spec: apertium | llm[:MODEL.gguf] | openai:URL[#MODEL] | "
        "ctranslate2:/models/nllb [default: live, apertium; a recording, llm when the "
        "[llm] extra is installed, else apertium].",
    ),
]
TtsOption = Annotated[
    str | None,
    typer.Option(
        "--tts",
        help="Synthesizer spec: kokoro[:VOICE] | piper[:VOICE.onnx] | espeak-ng[:VOICE] | "
        "xtts:DIR [default: piper for en; a recording, kokoro for es fr it pt hi ja; "
        "espeak-ng otherwise].",
    ),
]
EndSilenceOption = Annotated[
    float, typer.Option("--end-silence", help="Silence (s) that ends an utterance.")
]
MaxUtteranceOption = Annotated[
    float,
    typer.Option("--max-utterance", help="Longest utterance (s); longer speech is cut at a pause."),
]
