"""SpeakerDiff: diffusion over speaker embeddings, pseudo-speakers and their evaluation.

Modules: `embed` (speaker embeddings of folders, .npz), `model` (the DDPM over vectors),
`evaluate` (Frechet distance, novelty, diversity, t-SNE), `anonymize`
(`sample_pseudo_speaker` and the `PseudoSpeaker` for ``--voice anonymize``), `privacy`
(EER and the VoicePrivacy-style scoring) and `privacy_run` (`voxlate eval anonymize`).
"""
