"""affect-live: real-time facial affect analysis (valence, arousal, 7 expressions)."""

__version__ = "0.1.0"
