"""digestbot: a research-paper digest bot for Slack and Discord (the core)."""

__version__ = "0.1.0"
