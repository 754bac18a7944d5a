"""Decode and score the speech translator and the cascade's text translator.

Transcripts and translations are compared after normalisation (lower case, punctuation
removed); BLEU is sacrebleu's corpus BLEU against the normalised English references.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import torch

from voxlate.audio import SAMPLE_RATE
from voxlate.data.manifest import ManifestEntry
from voxlate.metrics import bleu, cer, wer
from voxlate.tasks.ctc.dataset import collate, load_clips, make_batches, pad_targets
from voxlate.tasks.ctc.decode import greedy_decode
from voxlate.tasks.st.decoding import DecodingOptions, beam_search
from voxlate.tasks.st.model import STModel, TextTranslator
from voxlate.tasks.st.train import load_st, load_text_mt, normalized_pairs
from voxlate.text.normalize import normalize_text
from voxlate.text.tokenizers import Tokenizer

# Outputs are at most 1.0 character per encoder frame (25 frames/s) + 10: the Fish Fillets
# training lines have at most 0.85 (Czech) and 1.1 (English, short lines) characters per frame.
# The transcript decoder is scored jointly with the CTC head (weight 0.3, as ESPnet for ASR;
# on the Fish Fillets dev levels 0.3 gave the lower WER, 0.5 the lower CER).
SPEECH_DECODING = DecodingOptions(ctc_weight=0.3)
# Text translation: at most 2 target characters per source character + 10 (training: 99 % of
# lines at most 2.25, median 1.12).
TEXT_DECODING = DecodingOptions(max_len_ratio=2.0)


def _space(tok: Tokenizer) -> int | None:
    """Id of the space (the word separator for the repetition block), if the tokenizer has one."""
    ids = tok.encode(" ")
    return ids[0] if ids else None


@torch.no_grad()
def translate_clips(
    model: STModel,
    stok: Tokenizer,
    ttok: Tokenizer,
    clips: Sequence[np.ndarray],
    batch_seconds: float = 60.0,
    options: DecodingOptions | None = None,
) -> dict[str, list[str]]:
    """Per clip: "ctc" transcript, "source" (attention) transcript, "target" translation.

    The attention decoders use `beam_search` with `options` (default: `SPEECH_DECODING`); the
    transcript decoder is scored jointly with the CTC head (`options.ctc_weight`)."""
    options = options or SPEECH_DECODING
    model.eval()
    out: dict[str, list[str]] = {k: [""] * len(clips) for k in ("ctc", "source", "target")}
    for idx in make_batches([len(c) for c in clips], int(batch_seconds * SAMPLE_RATE)):
        b = collate(clips, idx, model.cfg.encoder.n_mels)
        mem, mem_len, pad = model.encode(b.feats, b.lengths)
        ctc_logp = model.ctc_head(mem).log_softmax(-1)
        ctc = greedy_decode(ctc_logp, mem_len)
        tgt = beam_search(model.target, mem, pad, options, _space(ttok))
        src = (
            beam_search(model.source, mem, pad, options, _space(stok), ctc=(ctc_logp, mem_len))
            if model.source is not None
            else ctc
        )
        for j, i in enumerate(idx):
            out["ctc"][i] = " ".join(stok.decode(ctc[j]).split())
            out["source"][i] = " ".join(stok.decode(src[j]).split())
            out["target"][i] = " ".join(ttok.decode(tgt[j]).split())
    return out


@torch.no_grad()
def translate_texts(
    model: TextTranslator,
    stok: Tokenizer,
    ttok: Tokenizer,
    texts: Sequence[str],
    batch: int = 32,
    options: DecodingOptions | None = None,
) -> list[str]:
    """Translate source texts (normalised here) with the text translator and `beam_search`
    (`options` default: `TEXT_DECODING`)."""
    options = options or TEXT_DECODING
    model.eval()
    out = []
    for i in range(0, len(texts), batch):
        s, sl = pad_targets([stok.encode(normalize_text(t)) for t in texts[i : i + batch]])
        mem, pad = model.encode(s, sl)
        seqs = beam_search(model.decoder, mem, pad, options, _space(ttok))
        out += [" ".join(ttok.decode(x).split()) for x in seqs]
    return out


def evaluate_st(
    checkpoint: str | os.PathLike,
    entries: Sequence[ManifestEntry],
    text_mt: str | os.PathLike | None = None,
    beam_size: int | None = None,
) -> dict:
    """WER/CER of the transcript heads and BLEU of the translation decoder; with `text_mt`, also
    the cascade (attention transcript -> text translator) and the text translator on gold text.

    beam_size: overrides the beam of `SPEECH_DECODING` and `TEXT_DECODING` (1: greedy)."""
    speech, text = SPEECH_DECODING, TEXT_DECODING
    if beam_size is not None:
        speech, text = replace(speech, beam_size=beam_size), replace(text, beam_size=beam_size)
    model, stok, ttok, _ = load_st(checkpoint)
    refs_src, refs_tgt = normalized_pairs(entries)
    clips = load_clips(entries)
    hyp = translate_clips(model, stok, ttok, clips, options=speech)
    r: dict = {
        "n": len(entries), "beam_size": speech.beam_size,
        "wer_ctc": wer(refs_src, hyp["ctc"]), "cer_ctc": cer(refs_src, hyp["ctc"]),
        "wer_source": wer(refs_src, hyp["source"]), "cer_source": cer(refs_src, hyp["source"]),
        "bleu": bleu(refs_tgt, hyp["target"]),
    }  # fmt: skip
    for k, refs in (("source", refs_src), ("target", refs_tgt)):  # output / reference characters
        r[f"length_ratio_{k}"] = sum(map(len, hyp[k])) / max(1, sum(map(len, refs)))
    r["cross_entropy_own_vs_other_memory"] = memory_reliance(
        model, stok, ttok, clips, (refs_src, refs_tgt)
    )
    if text_mt is not None:
        mt, ms, mtt = load_text_mt(text_mt)
        cascade_src = hyp["source"] if model.source is not None else hyp["ctc"]
        hyp["cascade"] = translate_texts(mt, ms, mtt, cascade_src, options=text)
        hyp["text_mt_gold"] = translate_texts(mt, ms, mtt, refs_src, options=text)
        r["bleu_cascade"] = bleu(refs_tgt, hyp["cascade"])
        r["bleu_text_mt_gold"] = bleu(refs_tgt, hyp["text_mt_gold"])
        r["length_ratio_cascade"] = sum(map(len, hyp["cascade"])) / max(1, sum(map(len, refs_tgt)))
    r["examples"] = [
        {"ref_source": rs, "ref_target": rt, **{k: v[i] for k, v in hyp.items()}}
        for i, (rs, rt) in enumerate(zip(refs_src, refs_tgt, strict=True))
    ]
    return r


@torch.no_grad()
def memory_reliance(
    model: STModel,
    stok: Tokenizer,
    ttok: Tokenizer,
    clips: Sequence[np.ndarray],
    refs: tuple[Sequence[str], Sequence[str]],
    batch_seconds: float = 60.0,
) -> dict[str, tuple[float, float]]:
    """How much each attention decoder uses the encoder: per decoder ("source", "target"), the
    teacher-forced cross-entropy (nats per token, label smoothing included) of the references
    `refs` = (transcripts, translations) given each clip's own memory, and given the memory of
    another clip of the batch. Equal values mean the decoder is a plain language model."""
    model.eval()
    sums: dict[str, list[float]] = {}
    decoders = {"target": (model.target, ttok, refs[1])}
    if model.source is not None:
        decoders["source"] = (model.source, stok, refs[0])
    for idx in make_batches([len(c) for c in clips], int(batch_seconds * SAMPLE_RATE)):
        if len(idx) < 2:
            continue
        b = collate(clips, idx, model.cfg.encoder.n_mels)
        mem, _, pad = model.encode(b.feats, b.lengths)
        other = torch.roll(torch.arange(len(idx)), 1)
        for name, (dec, tok, texts) in decoders.items():
            tg, tl = pad_targets([tok.encode(texts[i]) for i in idx])
            s = sums.setdefault(name, [0.0, 0.0, 0.0])
            s[0] += float(dec.loss(tg, tl, mem, pad)) * len(idx)
            s[1] += float(dec.loss(tg, tl, mem[other], pad[other])) * len(idx)
            s[2] += len(idx)
    return {k: (v[0] / v[2], v[1] / v[2]) for k, v in sums.items() if v[2]}
