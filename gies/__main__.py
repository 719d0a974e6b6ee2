"""``python -m gies`` runs the command line."""

from gies.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
