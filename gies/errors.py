"""The gies exception tree and warnings.

Every error a user can cause derives from :class:`GiesError`. The command line turns a
``GiesError`` into one readable message and exit code 2; any other exception reaching the
user is a bug. Leaves also inherit the built-in exception a caller would naturally catch.
"""

from __future__ import annotations

__all__ = [
    "GiesError",
    "ConfigError",
    "ProfileError",
    "LayerError",
    "UnitError",
    "GridMismatchError",
    "ExportError",
    "GiesWarning",
    "DataQualityWarning",
]


class GiesError(Exception):
    """Root of every error gies raises on purpose."""


class ConfigError(GiesError, ValueError):
    """A pipeline file is invalid (syntax, keys, types, references).

    ``problems`` holds every problem found, each already formatted as
    ``file:line: key.path: message``; ``str(error)`` joins them.
    """

    def __init__(self, problems: list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ProfileError(ConfigError):
    """A product profile or crop-requirement table is invalid (e.g. a corrupted cell)."""


class LayerError(GiesError, OSError):
    """An input layer is missing, unreadable, or unusable (no CRS, no overlap, ...)."""


class UnitError(GiesError, ValueError):
    """Units are unknown, cannot be converted, or values are implausible for them."""


class GridMismatchError(GiesError, ValueError):
    """A layer handed to a stage after harmonise does not sit on the pipeline's grid."""


class ExportError(GiesError, OSError):
    """An output could not be written (folder not writable, disk full, ...)."""


class GiesWarning(UserWarning):
    """Base class of gies warnings; every one is also recorded in the run manifest."""


class DataQualityWarning(GiesWarning):
    """Input values were corrected, masked or dropped because they were implausible."""
