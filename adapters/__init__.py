"""Chat adapters: one package per platform, plus the console.

Adapters translate platform events into the core's neutral commands and the
core's neutral replies and digests into platform payloads. They import
``bot``; ``bot`` never imports them. ``digestbot run`` finds them through the
``digestbot.adapters`` entry-point group declared in ``pyproject.toml``, and
``bot.config`` their settings: the ``SETTINGS`` (``bot.config.Setting``) of
the module an entry point names, beside its ``create``.
"""
