"""``python -m gies`` runs the command line."""

from gies.cli import main

raise SystemExit(main())
