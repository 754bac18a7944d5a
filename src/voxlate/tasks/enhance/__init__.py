"""Score-based speech enhancement (SGMSE+, Richter et al., 2023) on the voxlate toolkit.

features.py: amplitude-compressed complex STFT; model.py: config, score network, loss and
sampler; train.py: data and training; corpus.py: the offline train/test split.
"""
