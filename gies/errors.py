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
    "DataError",
    "ParameterError",
    "GiesWarning",
    "DataQualityWarning",
    "CoverageWarning",
    "FactorDroppedWarning",
    "UnmatchedValueWarning",
    "GeometryRepairedWarning",
    "EmptyZoneWarning",
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
    """An input file is missing, unreadable, or unusable (no CRS, no overlap, ...)."""


class DataError(GiesError, ValueError):
    """The content of the data cannot give a result: a layer with no valid cell in the AOI,
    codes a lookup table lacks, every factor dropped by the quality checks, ..."""


class UnitError(GiesError, ValueError):
    """Units are unknown, cannot be converted, or values are implausible for them."""


class GridMismatchError(GiesError, ValueError):
    """A layer handed to a stage after harmonise does not sit on the pipeline's grid."""


class ExportError(GiesError, OSError):
    """An output could not be written (folder not writable, disk full, ...)."""


class ParameterError(GiesError, ValueError):
    """A function was called with a wrong argument. The message names each parameter as
    ``{name}`` in ``template``; ``str()`` spells it as the parameter, :meth:`named` as the
    caller knows it (the command line names its options: ``--memory-limit``)."""

    def __init__(self, template: str, *, parameters: tuple[str, ...] = ()):
        self.template, self.parameters = template, tuple(parameters)
        super().__init__(self.named({}))

    def named(self, names: dict[str, str]) -> str:
        """The message with each parameter called ``names.get(parameter, parameter)``."""
        try:
            return self.template.format(**{p: names.get(p, p) for p in self.parameters})
        except (KeyError, IndexError, ValueError):  # braces of a quoted value, not a name
            return self.template


class GiesWarning(UserWarning):
    """Base class of gies warnings; every one is also recorded in the run manifest."""


class DataQualityWarning(GiesWarning):
    """Input values were corrected, masked or dropped because they were implausible."""


class CoverageWarning(DataQualityWarning):
    """A layer covers only part of the AOI (``coverage: warn``): the rest is no data."""


class ImplausibleAcceptedWarning(DataQualityWarning):
    """A layer's values fail the plausibility check and were accepted after review
    (``accept_implausible: true``)."""


class FactorDroppedWarning(DataQualityWarning):
    """A factor was dropped: too many of its layer's cells failed the quality checks."""


class UnmatchedValueWarning(DataQualityWarning):
    """Cells matched no class range and were classed by the nearest range."""


class GeometryRepairedWarning(DataQualityWarning):
    """Invalid polygons were repaired (``make_valid``)."""


class DiskSpaceWarning(GiesWarning):
    """The outputs folder's free space may not hold the run's outputs."""


class EmptyZoneWarning(GiesWarning):
    """Zones have no pixel inside the AOI and grid (their rows are kept, flagged empty)."""
