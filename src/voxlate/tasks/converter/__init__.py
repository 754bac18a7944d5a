"""Training the voice converter (`engines/voice/converter.py`): features, training, checks."""
