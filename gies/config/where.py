"""Attribute filters of constraint polygons: ``FIELD OP VALUE``, parsed, never evaluated."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_where", "OPERATORS"]

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
_WHERE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>|not in|in)\s*(.+?)\s*$")


def parse_where(text: str) -> tuple[str, str, Any]:
    """A whitelisted attribute filter ``FIELD OP VALUE`` (no code is evaluated).

    OP is one of ``== != < <= > >= in "not in"``; VALUE is a quoted string, a number, or
    for ``in`` a bracketed list (YAML flow syntax). Returns ``(field, op, value)``; a
    ``ValueError`` says what is wrong.

    >>> parse_where("STATUS != 'Proposed'")
    ('STATUS', '!=', 'Proposed')
    >>> parse_where("IUCN_CAT in ['Ia', 'Ib', 'II']")
    ('IUCN_CAT', 'in', ['Ia', 'Ib', 'II'])
    """
    import yaml

    m = _WHERE.match(text or "")
    if not m:
        raise ValueError(f"{text!r} is not FIELD OP VALUE (e.g. \"STATUS != 'Proposed'\")")
    fld, op, raw = m.groups()
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ValueError(f"{text!r}: {raw!r} is not a value (quote text: 'Proposed')") from None
    if op in ("in", "not in") and not isinstance(value, list):
        raise ValueError(f"{text!r}: '{op}' needs a list, e.g. ['a', 'b']")
    if op not in ("in", "not in") and isinstance(value, (list, dict)):
        raise ValueError(f"{text!r}: '{op}' needs a single value")
    return fld, op, value
