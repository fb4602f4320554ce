"""The ``digestbot`` command: the only package that prints.

Each verb calls the core's parts (``bot.chat.service.Service``) and turns
what they return into terminal text or JSON (``output``). Errors are one
line on stderr with a non-zero exit code (``main``).
"""

from bot.cli.main import main
from bot.cli.output import CommandError

__all__ = ["CommandError", "main"]
