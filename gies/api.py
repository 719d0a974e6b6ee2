"""The Python API for notebooks and scripts: validate a pipeline, build its lazy layers.

    import gies
    p = gies.load_pipeline("pipelines/bungo-cocoa.yaml")
    gies.validate(p)                       # a Report: problems and warnings, no pixel computed
    ds = gies.build(p)                     # lazy xarray.Dataset: score, classes, limiting, ...
    ds.classes.sel(x=slice(...)).plot()    # compute only what is looked at
    q = p.replace(scoring={"on_limit": "better"})
    result = gies.run(q)                   # write the run folder

Nothing here writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gies.config import LoadedPipeline, load_pipeline
from gies.errors import ConfigError, GiesError, LayerError

__all__ = ["Report", "validate", "build"]


@dataclass(frozen=True)
class Report:
    """What :func:`validate` found: the ``problems`` (each one line naming the file and key;
    empty when the pipeline can run), the ``warnings`` (what a run would warn about before
    computing), the loaded ``pipeline`` and its ``plan`` (``None`` when loading or planning
    failed). ``error`` is the exception the problems amount to."""

    source: str
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    pipeline: LoadedPipeline | None = field(default=None, repr=False)
    plan: Any = field(default=None, repr=False)
    error: GiesError | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when nothing stops a run."""
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise :attr:`error` when there are problems."""
        if self.error is not None:
            raise self.error

    def __str__(self) -> str:
        if not self.ok:
            return "\n".join([f"{self.source}: {len(self.problems)} problem(s)",
                              *(f"  {p}" for p in self.problems)])
        p, pl = self.pipeline, self.plan
        what = (f"product {p.profile.product} / {p.config.product.limit_set}"
                if p.profile is not None else "no product")
        if p.config.origin is not None:
            o = p.config.origin
            what += (f"; origin {'points' if o.points else 'area'} "
                     f"({len(pl.origin)} feature(s)) on {len(o.variables)} variables")
        lines = [f"{self.source}: valid. Grid {pl.grid.describe()}; {len(pl.layers)} layers; "
                 f"{len(pl.zones)} zones; {what}"]
        if pl.size is not None:
            lines.append(f"  a run: {pl.size.describe()}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def validate(pipeline: str | Path | LoadedPipeline) -> Report:
    """Check a pipeline and its data without computing: the file (keys, values, references,
    every method's parameters), the plan (layer metadata, grid, AOI, zones, coverage) and a
    decimated sample of every layer (readable, valid cells, plausible values, lookup codes).
    Never raises for a problem of the pipeline or its data: they are in the report."""
    from gies.stages.plan import plan
    from gies.stages.preflight import check_data

    source = str(pipeline.path if isinstance(pipeline, LoadedPipeline) else pipeline)
    try:
        p = pipeline if isinstance(pipeline, LoadedPipeline) else load_pipeline(pipeline)
    except ConfigError as exc:
        return Report(source, tuple(exc.problems), error=exc)
    try:
        pl = plan(p)
    except GiesError as exc:
        return Report(source, tuple(str(exc).splitlines()), pipeline=p, error=exc)
    problems, accepted = check_data(pl)
    error = LayerError("\n".join(problems)) if problems else None
    return Report(source, tuple(problems), tuple(str(w) for w in (*pl.warnings, *accepted)), p,
                  pl, error)


def build(pipeline: str | Path | LoadedPipeline):
    """The pipeline's result layers as a lazy :class:`xarray.Dataset`, without writing files:
    ``score``, ``classes``, ``limiting``, ``score_<factor>`` for every factor scored, and,
    when the pipeline makes them, ``potential``, ``subclasses``, ``n_limiting`` and
    ``best_month``; each carries its grid in the ``spatial_ref`` coordinate. The quality
    checks of layers that declare unit or plausibility checks are computed (a cheap pass
    over those layers only) to know which factors are kept; nothing else is.

    Raises like :func:`gies.run` before its pass (:class:`~gies.errors.ConfigError`,
    :class:`~gies.errors.LayerError`, :class:`~gies.errors.DataError`)."""
    import warnings

    import dask
    import xarray as xr

    from gies.io.read import open_inputs
    from gies.stages.constrain import aoi_mask
    from gies.stages.harmonise import harmonise
    from gies.stages.model import build_model
    from gies.stages.quality import decide

    report = validate(pipeline)
    report.raise_for_problems()
    pl = report.plan
    layers, qcounts = harmonise(pl, open_inputs(pl))
    kept = tuple(pl.pipeline.factors)
    if qcounts:
        lazy = {k: {c: v for c, v in d.items() if hasattr(v, "compute")} for k, d in qcounts.items()}
        done = dask.compute(lazy)[0]
        quality = decide(pl, {k: {**qcounts[k], **done.get(k, {})} for k in qcounts})
        for w in quality.warnings:
            warnings.warn(w, stacklevel=2)
        kept = quality.kept
    m = build_model(pl, layers, kept, aoi_mask(pl))
    data = {"score": m.score, "classes": m.classes, "limiting": m.limiting}
    data.update({f"score_{f}": s for f, s in m.factor_scores.items()})
    for name in ("potential", "subclasses", "n_limiting", "best_month"):
        if getattr(m, name) is not None:
            data[name] = getattr(m, name)
    ds = xr.Dataset({k: v.drop_vars([c for c in v.coords if c not in ("y", "x")])
                     for k, v in data.items()}).assign_coords(pl.grid.coords())
    ds.attrs = {"pipeline": pl.config.name, "title": pl.config.title}
    return ds
