"""Product profiles: a product's factors, their units, and named sets of limits.

A profile (``<product>.yaml``) lists the factors a product responds to (each with the units
its limits are in and a factor group: climate, soil or terrain) and one or more *limit
sets*, each tied to a scoring curve of :data:`gies.methods.registry.CURVES` and a source:

* ``class_limits``: FAO land-evaluation classes S1/S2/S3/N (FAO 1976; Sys et al. 1993), each
  class a list of value ranges (:mod:`gies.methods.class_limits`);
* ``trapezoid``: ECOCROP's four limits ``[absolute min, optimal min, optimal max, absolute max]``;
* any other curve: per factor, the mapping of its parameters.

Every limit is checked when the profile is loaded by a dry run of its curve
(:func:`gies.methods.registry.check_call`), so a profile that loads scores without error.
How a value exactly on a limit shared by two classes is classed is decided by the pipeline
(``scoring.on_limit``), not by the profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from gies.config.messages import Problem, format_problems, pydantic_problems
from gies.config.yamlio import LoadedYaml, load_yaml
from gies.errors import ProfileError, UnitError
from gies.methods.class_limits import ClassLimits
from gies.methods.registry import CURVES, check_call, sample_layer
from gies.units import parse_unit

__all__ = [
    "Profile",
    "LimitSet",
    "FactorDef",
    "load_profile",
    "SHIPPED",
    "search_path",
    "find_profile",
    "list_profiles",
]

#: The product profiles shipped with gies (package data).
SHIPPED = Path(__file__).resolve().parents[1] / "data" / "products"


class FactorDef(BaseModel):
    """One factor a product responds to."""

    model_config = ConfigDict(extra="forbid")
    description: str
    units: str
    group: Literal["climate", "soil", "terrain"]

    @field_validator("units")
    @classmethod
    def _known_units(cls, v: str) -> str:
        try:
            parse_unit(v)
        except UnitError as exc:
            raise ValueError(str(exc)) from None
        return v


class LimitSet(BaseModel):
    """A named set of limits for one scoring method, with its source."""

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str) -> str:
        if v not in CURVES:
            raise ValueError(CURVES.unknown(v))
        return CURVES.canonical(v)

    def params(self, factor: str) -> dict[str, Any]:
        """The keyword parameters of the curve for ``factor``: the limit-set value as the
        curve's ``profile_param`` (e.g. ``limits``), or the value itself when it is the
        mapping of the parameters."""
        value = self.limits[factor]
        param = CURVES[self.method].profile_param
        if param is not None:
            return {param: value}
        if not isinstance(value, dict):
            raise ProfileError(f"limits of {factor!r}: {self.method} takes a mapping of its "
                               f"parameters ({', '.join(CURVES[self.method].parameters)})")
        return dict(value)

    model_config = ConfigDict(extra="forbid")
    method: str = Field(description="a scoring curve (gies.methods.registry.CURVES)")
    source: str
    notes: str | None = None
    limits: dict[str, Any]


class Profile(BaseModel):
    """A product profile (see module docstring)."""

    model_config = ConfigDict(extra="forbid")
    format_version: Literal[1]
    product: str
    name: str
    species: str
    life_form: Literal["perennial", "annual"]
    sources: dict[str, str]
    factors: dict[str, FactorDef]
    limit_sets: dict[str, LimitSet] = Field(min_length=1)
    caveats: list[str] = []
    path: Path | None = None
    _yaml: LoadedYaml | None = PrivateAttr(default=None)

    @property
    def loaded_yaml(self) -> LoadedYaml | None:
        """The profile file as loaded (its lines, for messages), when loaded from a file."""
        return self._yaml

    def class_limits(self, set_name: str, factor: str) -> ClassLimits:
        """Parsed class limits of ``factor`` in limit set ``set_name``."""
        ls = self.limit_sets[set_name]
        return ClassLimits.from_mapping(
            ls.limits[factor], where=f"{self.path}: limit_sets.{set_name}.limits.{factor}"
        )

    def __repr__(self) -> str:
        sets = ", ".join(f"{n} ({ls.method})" for n, ls in self.limit_sets.items())
        return (f"<Profile {self.product!r} ({self.species}): {len(self.factors)} factors; "
                f"limit sets {sets}>")

    __str__ = __repr__

    def trapezoid(self, set_name: str, factor: str) -> tuple[float | None, ...]:
        """ECOCROP limits ``(abs min, opt min, opt max, abs max)`` of ``factor``."""
        return tuple(self.limit_sets[set_name].limits[factor])  # type: ignore[return-value]


def _check_limit_set(profile: Profile, name: str, ls: LimitSet) -> list[Problem]:
    """Every limit of a limit set dry-run with its curve (see the module docstring)."""
    problems = []
    if ls.source not in profile.sources:
        problems.append(Problem(("limit_sets", name, "source"),
                                f"source {ls.source!r} is not in 'sources'"))
    for factor, value in ls.limits.items():
        loc = ("limit_sets", name, "limits", factor)
        if factor not in profile.factors:
            problems.append(Problem(loc, f"not a factor of this profile ({', '.join(profile.factors)})"))
            continue
        try:
            params = ls.params(factor)
        except ProfileError as exc:
            problems.append(Problem(loc, str(exc)))
            continue
        problem = check_call(CURVES[ls.method], sample_layer(), params)
        if problem:
            problems.append(Problem(loc, problem))
    return problems


def load_profile(path: str | Path) -> Profile:
    """Load and fully validate a product profile; all problems are reported together, each
    as ``file:line: key.path: message`` (:class:`~gies.errors.ProfileError`)."""
    y = load_yaml(path)
    if not isinstance(y.data, dict):
        raise ProfileError(f"{y.path}: expected a mapping of keys at the top level")
    try:
        profile = Profile.model_validate({**y.data, "path": Path(path)})
    except ValidationError as exc:
        raise ProfileError(format_problems(pydantic_problems(exc, Profile), y)) from None
    profile._yaml = y
    problems = []
    for name, ls in profile.limit_sets.items():
        problems += _check_limit_set(profile, name, ls)
    if problems:
        raise ProfileError(format_problems(problems, y))
    return profile


# -- finding profiles --------------------------------------------------------------------------
def is_profile_name(spec: str) -> bool:
    """A bare profile name (``cocoa``) rather than a path (``../crops/cocoa.yaml``)."""
    p = Path(spec)
    return p.suffix.lower() not in (".yaml", ".yml") and len(p.parts) == 1 and not p.is_absolute()


def search_path(*, extra: list[Path] | tuple[Path, ...] = (), cwd: Path | None = None) -> list[Path]:
    """Where bare profile names are looked up, in order: the profiles shipped with gies,
    ``config/products/`` of the working folder, then ``extra`` (the folders a pipeline
    names in ``product.search_path``)."""
    local = (Path.cwd() if cwd is None else Path(cwd)) / "config" / "products"
    out = [SHIPPED, local.resolve(), *[Path(e).resolve() for e in extra]]
    seen: list[Path] = []
    for d in out:
        if d not in seen:
            seen.append(d)
    return seen


def find_profile(spec: str, *, base: Path, extra: list[Path] | tuple[Path, ...] = ()) -> Path:
    """The file of ``product.profile``: a path (relative to ``base``, the pipeline file's
    folder), or a bare name looked up on :func:`search_path`. Raises :class:`ProfileError`
    when a name is found nowhere (naming the folders searched and the closest names) or in
    more than one folder (naming both files: the pipeline must give the path of the one it
    means)."""
    if not is_profile_name(spec):
        p = Path(spec).expanduser()
        path = p if p.is_absolute() else (base / p)
        if not path.is_file():
            raise ProfileError(f"file not found: {path.resolve()}")
        return path.resolve()
    folders = search_path(extra=[base / e for e in extra])
    found = [d / f"{spec}.yaml" for d in folders if (d / f"{spec}.yaml").is_file()]
    if len(found) > 1:
        raise ProfileError(f"profile {spec!r} is found in {len(found)} places: "
                           f"{', '.join(map(str, found))}; give the path of the one to use")
    if not found:
        from gies.methods.registry import did_you_mean

        names = sorted({f.stem for d in folders if d.is_dir() for f in d.glob("*.yaml")})
        raise ProfileError(f"profile {spec!r} not found{did_you_mean(spec, names)} in "
                           f"{', '.join(map(str, folders))} (profiles there: "
                           f"{', '.join(names) or 'none'})")
    return found[0]


def list_profiles(*, extra: list[Path] | tuple[Path, ...] = ()) -> list[tuple[str, Path]]:
    """``(name, file)`` of every profile on :func:`search_path`, folder by folder."""
    out = []
    for d in search_path(extra=extra):
        if d.is_dir():
            out += [(f.stem, f) for f in sorted(d.glob("*.yaml"))]
    return out
