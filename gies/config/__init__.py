"""Pipeline files: load, validate, resolve; the JSON Schema.

A pipeline file is YAML (``docs/pipeline.md``). It is read with a safe loader that keeps the
line of every key (:mod:`gies.config.yamlio`), validated against the schema
(:mod:`gies.config.schema`), cross-checked and dry-run (:mod:`gies.config.checks`: every
configured method runs on a 1×1 layer with its parameters), and resolved into frozen
records (:mod:`gies.config.resolve`). Every problem is collected and raised together in one
:class:`~gies.errors.ConfigError`, each as ``file:line: key.path: what is wrong``. Relative
paths resolve against the pipeline file's folder, not the working directory. No pixel is
read, and neither dask.array, rasterio nor numba is imported.

>>> p = load_pipeline("pipelines/senegal-sorghum.yaml")
>>> p.factors["ph"].method, dict(p.factors["ph"].params)
('trapezoid', {'limits': [5.0, 6.0, 7.0, 8.5]})
>>> q = p.replace(combine={"rule": "weighted_mean"})
>>> q.config.combine.rule, p.config.combine.rule
('weighted_mean', 'minimum')
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from gies.config.checks import check_pipeline
from gies.config.messages import Problem, format_problems, pydantic_problems, without_bad_keys
from gies.config.products import LimitSet, Profile, find_profile, load_profile
from gies.config.resolve import (
    SEASONAL_FACTOR,
    CombinePlan,
    FactorPlan,
    SeasonalPlan,
)
from gies.config.schema import *  # noqa: F403 - the section models are part of this API
from gies.config.schema import __all__ as _SCHEMA
from gies.config.yamlio import LoadedYaml, load_yaml
from gies.errors import ConfigError, ProfileError
from gies.methods.schemes import ClassScheme

__all__ = ["LoadedPipeline", "load_pipeline", "json_schema", "FactorPlan", "CombinePlan",
           "SeasonalPlan", *_SCHEMA]


@dataclass(frozen=True)
class LoadedPipeline:
    """A validated, resolved pipeline: its configuration, file, product profile and the
    resolved records the stages run (``factors``, ``seasonal``, ``combine``, ``scheme``,
    ``improve_steps``). A value: :meth:`replace` returns a new one."""

    config: Pipeline
    path: Path
    profile: Profile | None
    raw: Mapping[str, Any] = field(repr=False)
    yaml: LoadedYaml = field(repr=False)
    factors: Mapping[str, FactorPlan] = field(repr=False)
    seasonal: SeasonalPlan | None = field(repr=False)
    combine: CombinePlan | None = field(repr=False)
    scheme: ClassScheme = field(repr=False)
    improve_steps: Mapping[str, int] | None = field(repr=False, default=None)

    @property
    def base(self) -> Path:
        """The pipeline file's folder (relative paths are relative to it)."""
        return self.path.parent

    def resolve(self, p: str) -> Path:
        """A path from the file, resolved against the pipeline file's folder."""
        q = Path(p).expanduser()
        return q if q.is_absolute() else (self.base / q).resolve()

    @cached_property
    def limit_set(self) -> LimitSet | None:
        """The profile's limit set chosen by the pipeline, with overrides applied (``None``
        for a pipeline without a product)."""
        if self.profile is None:
            return None
        ls = self.profile.limit_sets[self.config.product.limit_set]
        return ls.model_copy(update={"limits": {**ls.limits, **self.config.product.overrides}})

    @property
    def has_requirements(self) -> bool:
        """Whether the pipeline scores land against a product's requirements (else it is an
        origin analysis alone: similarity and/or a data-driven model)."""
        return self.profile is not None

    @property
    def factor_names(self) -> list[str]:
        """The scores combined, in order: the seasonal model's first, then the factors."""
        return ([SEASONAL_FACTOR] if self.seasonal else []) + list(self.factors)

    @property
    def output_dir(self) -> Path:
        """The folder holding this pipeline's current result."""
        return self.resolve(self.config.outputs.dir) / self.config.name

    def replace(self, **sections: Any) -> LoadedPipeline:
        """A new pipeline with ``sections`` merged into this one's file, validated again
        (this one is unchanged). Mappings merge key by key, recursively; lists and other
        values replace what was there. Paths stay relative to this pipeline's file.

        >>> p = load_pipeline("pipelines/bungo-cocoa.yaml")
        >>> p.replace(scoring={"on_limit": "better"}).config.scoring.on_limit
        'better'

        Raises :class:`~gies.errors.ConfigError` (problems in the file or in the changes,
        which are named by their key paths) like :func:`load_pipeline`.
        """
        data = _merged(self.raw, sections)
        return _load(LoadedYaml(data, self.yaml.lines, self.path))

    def __repr__(self) -> str:
        c = self.config
        if self.profile is None:
            o = c.origin
            return (f"<LoadedPipeline {c.name!r} ({self.path.name}): {c.title}; origin "
                    f"{'points' if o.points else 'area'} on {', '.join(o.variables)}; "
                    f"similarity {', '.join(c.similarity.methods) if c.similarity else '-'}; "
                    f"model {', '.join(c.model.algorithms) if c.model else '-'}>")
        method = self.limit_set.method
        return (f"<LoadedPipeline {c.name!r} ({self.path.name}): {c.title}; product "
                f"{self.profile.product}/{c.product.limit_set} ({method}); factors "
                f"{', '.join(self.factor_names)}; combine {c.combine.rule}; classes "
                f"{self.scheme.name}>")


def _merged(base: Any, changes: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(changes, Mapping):
        out = {k: copy.deepcopy(v) for k, v in base.items()}
        for k, v in changes.items():
            out[k] = _merged(out[k], v) if k in out else copy.deepcopy(v)
        return out
    return copy.deepcopy(changes)


def load_pipeline(path: str | Path) -> LoadedPipeline:
    """Load, validate, cross-check and resolve a pipeline file (no pixel is read).

    Raises :class:`ConfigError` listing every problem found.
    """
    path = Path(path).resolve() if Path(path).exists() else Path(path)
    return _load(load_yaml(path))


def _load(y: LoadedYaml) -> LoadedPipeline:
    if not isinstance(y.data, dict):
        raise ConfigError(f"{y.path}: expected a mapping of keys at the top level")
    try:
        cfg = Pipeline.model_validate(y.data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, Pipeline)
        lenient = without_bad_keys(y.data, exc, Pipeline)
        if lenient is not None:  # report the later checks too, on what was valid
            try:
                problems += _checked(Pipeline.model_validate(lenient), y)[0]
            except ValidationError:
                pass
        raise ConfigError(format_problems(problems, y)) from None
    problems, loaded = _checked(cfg, y)
    if problems:
        raise ConfigError(format_problems(problems, y))
    return loaded


def _checked(cfg: Pipeline, y: LoadedYaml) -> tuple[list[Problem], LoadedPipeline | None]:
    """The problems of a schema-valid pipeline and, when there are none, the pipeline."""
    profile = None
    try:
        if cfg.product is not None:
            profile = load_profile(find_profile(cfg.product.profile, base=y.path.parent,
                                                extra=cfg.product.search_path))
    except ProfileError as exc:
        found = [Problem(("product", "profile"), p) for p in exc.problems]
        return found + check_pipeline(cfg, y, None)[0], None
    problems, res = check_pipeline(cfg, y, profile)
    if problems:
        return problems, None
    steps = None if res.improve_steps is None else MappingProxyType(dict(res.improve_steps))
    return [], LoadedPipeline(cfg, y.path, profile, y.data, y, MappingProxyType(res.factors or {}),
                              res.seasonal, res.combine, res.scheme, steps)


def json_schema() -> dict:
    """JSON Schema of pipeline files, for editors (``gies schema``)."""
    schema = Pipeline.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gies pipeline file"
    return schema
