"""The Slack adapter: Block Kit rendering (``render``) and, beside it, the platform wiring."""
