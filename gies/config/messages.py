"""Problems found in configuration files, and their one-line messages.

Every problem is a :class:`Problem`: the file it is in, the key path and what is wrong. It is
printed as ``file:line: key.path: message``, the line found from the key path in the loaded
YAML (:class:`~gies.config.yamlio.LoadedYaml`); a key that is not in the file (a default, or a
value given by :meth:`~gies.config.LoadedPipeline.replace`) gets the line of its nearest
parent. Pipelines and product profiles share this formatting.
"""

from __future__ import annotations

import copy
import difflib
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from gies.config.yamlio import LoadedYaml
from gies.methods.registry import did_you_mean

__all__ = ["Problem", "format_problems", "pydantic_problems", "fields_at", "without_bad_keys",
           "did_you_mean"]


@dataclass(frozen=True)
class Problem:
    """One problem: ``loc`` (key path) in the file ``source`` (``None``: the file being
    checked), and what is wrong. ``key`` overrides the printed key path."""

    loc: tuple
    message: str
    source: LoadedYaml | None = None
    key: str | None = None

    def format(self, default: LoadedYaml) -> str:
        """``file:line: key.path: message`` (no key path for a problem of the whole file)."""
        y = self.source or default
        key = self.key if self.key is not None else ".".join(map(str, self.loc))
        return f"{y.where(self.loc)}: {key}: {self.message}" if key else \
            f"{y.where(self.loc)}: {self.message}"


def format_problems(problems: Iterable[Problem], y: LoadedYaml) -> list[str]:
    """Every problem formatted, one per line of a multi-line message."""
    out = []
    for p in problems:
        for line in str(p.message).splitlines() or [""]:
            out.append(Problem(p.loc, line, p.source, p.key).format(y))
    return out


def pydantic_problems(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """The errors of a pydantic validation as problems, in words a user reads: unknown keys
    with did-you-mean, missing keys, wrong values with what was given."""
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key{did_you_mean(loc[-1], fields_at(model, loc[:-1]))}"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "unknown_name":
            pass  # names the value and the known names itself
        elif err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict):
                msg = f"{msg} (got {err['input']!r})"
        elif "input" in err:
            msg = f"{msg} (got {err['input']!r})"
        out.append(Problem(loc, msg, key=".".join(map(str, loc)) or "(top level)"))
    return out


def fields_at(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    """Field names of the model found at key path ``loc`` (user keys of dicts skipped)."""
    skip_next = False
    for part in loc:
        if skip_next or isinstance(part, int):
            skip_next = False
            continue
        if model is None:
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        args = typing.get_args(ann)
        if typing.get_origin(ann) is dict:
            skip_next = True
            args = args[1:]
        flat: list[Any] = []
        for a in (ann, *args):
            flat += [a, *typing.get_args(a)]
        model = next((a for a in flat if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return list(model.model_fields) if model else []


def without_bad_keys(data: dict, exc: ValidationError, model: type[BaseModel]) -> dict | None:
    """A copy of ``data`` without unknown keys and with optional sections that failed removed,
    or None when a required part is broken (nothing more can be checked). A misspelt key is
    kept under its suggestion, so that the later checks see what the user most likely meant."""
    out = copy.deepcopy(data)
    for err in exc.errors():
        loc = tuple(err["loc"])
        if not loc:
            return None
        if err["type"] == "extra_forbidden":
            parent = out
            try:
                for part in loc[:-1]:
                    parent = parent[part]
            except (KeyError, IndexError, TypeError):
                continue  # already removed with its section
            if not isinstance(parent, dict):
                continue
            value = parent.pop(loc[-1], None)
            match = difflib.get_close_matches(str(loc[-1]), fields_at(model, loc[:-1]), n=1)
            if match and match[0] not in parent:
                parent[match[0]] = value
        elif loc[0] in model.model_fields and not model.model_fields[loc[0]].is_required():
            out.pop(loc[0], None)
        else:
            return None
    return out
