"""Training score-based speech enhancement (SGMSE+, Richter et al., 2023; StoRM).

model.py: the losses (denoising score matching, StoRM's eq. 12); losses.py: the ESTOI-like
term; train.py: data and training; corpus.py: the offline train/test split. The models
themselves (STFT features, score network, predictor, sampler) are inference code in
`voxlate.engines.enhance` (`stft.py`, `score_model.py`, `predictor.py`).
"""
