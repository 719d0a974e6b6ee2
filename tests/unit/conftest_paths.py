"""Paths of the source checkout, for unit tests that read shipped files."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
