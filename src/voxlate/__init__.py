"""voxlate: offline speech-to-speech translation in the speaker's own voice."""

__version__ = "0.1.0"
