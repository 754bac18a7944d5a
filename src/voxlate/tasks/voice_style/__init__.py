"""Training for the styled voice: the style tuner (`tuner.py`)."""
