"""Translation catalogues for report, map and QGIS style labels (``en``, ``fr``).

A catalogue is a flat JSON object ``key -> text`` in this folder. :func:`catalogue` returns
the one asked for, falling back to English key by key, so a partial catalogue still works.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["catalogue", "LANGUAGES"]

_HERE = Path(__file__).parent
LANGUAGES = tuple(sorted(p.stem for p in _HERE.glob("*.json")))


@lru_cache(maxsize=None)
def _load(lang: str) -> dict[str, str]:
    path = _HERE / f"{lang}.json"
    if not path.is_file():
        raise ValueError(f"language {lang!r} has no catalogue (have: {', '.join(LANGUAGES)})")
    return json.loads(path.read_text(encoding="utf-8"))


def catalogue(lang: str = "en") -> dict[str, str]:
    """The ``lang`` catalogue, with English texts for the keys it lacks."""
    out = dict(_load("en"))
    if lang != "en":
        out.update(_load(lang))
    return out
