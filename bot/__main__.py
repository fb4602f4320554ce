"""``python -m bot`` runs the ``digestbot`` command."""

from bot.cli import main

raise SystemExit(main())
