"""A safe YAML loader that remembers the line of every key.

Pipeline files are data: they are composed with PyYAML's *safe* composer (no Python tags, no
``eval``), then turned into plain dicts/lists while recording, for each key path, the line it
stands on, so that every validation error can say ``file:line: key.path: message``.
Aliases are resolved by node identity and the number of nodes visited is capped, so a
"billion laughs" alias bomb fails fast instead of exhausting memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gies.errors import ConfigError

__all__ = ["LoadedYaml", "load_yaml", "MAX_NODES"]

MAX_NODES = 200_000


class LoadedYaml:
    """Plain data of a YAML file plus ``lines[path_tuple] -> 1-based line``."""

    def __init__(self, data: Any, lines: dict[tuple, int], path: Path):
        self.data = data
        self.lines = lines
        self.path = path

    def line_of(self, loc: tuple) -> int | None:
        """Line of the deepest known prefix of ``loc``."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def where(self, loc: tuple) -> str:
        """``file:line`` for a key path."""
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line else str(self.path)


def _walk(node: yaml.Node, loc: tuple, lines: dict, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise ConfigError(f"more than {MAX_NODES} YAML nodes (alias bomb?)")
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader.construct_scalar(_LOADER, key_node)  # keys are scalars
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"line {key_node.start_mark.line + 1}: keys must be plain text")
            if key == "<<":
                raise ConfigError(f"line {key_node.start_mark.line + 1}: merge keys are not supported")
            if key in out:
                raise ConfigError(
                    f"line {key_node.start_mark.line + 1}: duplicate key {key!r} in {'.'.join(map(str, loc)) or 'the top level'}"
                )
            lines[loc + (key,)] = key_node.start_mark.line + 1
            out[key] = _walk(value_node, loc + (key,), lines, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(v, loc + (i,), lines, budget) for i, v in enumerate(node.value)]
    return _LOADER.construct_object(node, deep=True)


_LOADER = yaml.SafeLoader("")


def load_yaml(path: str | Path) -> LoadedYaml:
    """Load a YAML file safely, keeping the line of every key.

    Raises :class:`ConfigError` (with the line) on a missing file or a syntax error.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a YAML file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        msg = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"{path}{line}: YAML syntax error: {msg}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from None
    if root is None:
        raise ConfigError(f"{path}: the file is empty")
    lines: dict[tuple, int] = {}
    try:
        data = _walk(root, (), lines, [MAX_NODES])
    except ConfigError as exc:
        raise ConfigError([f"{path}: {p}" for p in exc.problems]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML error: {exc}") from None
    return LoadedYaml(data, lines, path)
