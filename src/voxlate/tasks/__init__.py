"""Trainable tasks built on the toolkit: dataset, model config, train, infer, evaluate."""
