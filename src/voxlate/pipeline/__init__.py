"""Pipelines: typed frames, utterance segmentation, and the file and streaming pipelines."""
