"""The engine and segmentation options that `translate` and `batch` share, declared once.

Use as ``voice: VoiceOption = "preserve"``: the type carries the flag and its help, the
default stays in the signature (and shows in --help).
"""

from __future__ import annotations

from typing import Annotated

import typer

VoiceOption = Annotated[
    str,
    typer.Option(
        "--voice",
        help="Voice of the output: preserve (the speaker's own), tts (stock voice), "
        "anonymize (a pseudo-speaker), or a reference clip REF.wav.",
    ),
]
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
        "ctranslate2:/models/nllb [default: llm when the [llm] extra is installed, else apertium].",
    ),
]
TtsOption = Annotated[
    str | None,
    typer.Option(
        "--tts",
        help="Synthesizer spec: kokoro[:VOICE] | piper[:VOICE.onnx] | espeak-ng[:VOICE] | "
        "xtts:DIR [default: piper for en, kokoro for es fr it pt hi ja, espeak-ng otherwise].",
    ),
]
EndSilenceOption = Annotated[
    float, typer.Option("--end-silence", help="Silence (s) that ends an utterance.")
]
MaxUtteranceOption = Annotated[
    float,
    typer.Option("--max-utterance", help="Longest utterance (s); longer speech is cut at a pause."),
]
