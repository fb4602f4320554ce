"""The Discord adapter: embed rendering (``render``) and, beside it, the platform wiring."""
