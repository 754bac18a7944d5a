"""SpeakerDiff: diffusion over speaker embeddings, pseudo-speakers and their evaluation.

Modules: `embed` (speaker embeddings of folders, .npz), `model` (training the DDPM over
vectors; the model itself, its sampling and ``--voice anonymize``'s pseudo-speakers are
`voxlate.engines.voice.speakerdiff` and `.pseudo`), `evaluate` (Frechet distance, novelty,
diversity, t-SNE), `privacy`
(EER and the VoicePrivacy-style scoring) and `privacy_run` (`voxlate eval anonymize`).
"""
