"""The suitability model of a pipeline: harmonised layers -> scores, classes and extras.

This module reads the validated configuration and calls the pure stage functions in order;
it holds no formula of its own. Everything it returns is lazy (dask-backed) on the plan's
grid: nothing here computes a layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from gies.errors import ConfigError
from gies.io.read import open_raster
from gies.methods import ahp as ahp_mod
from gies.methods import class_limits as cl
from gies.methods import curves as sc
from gies.methods import derive as derive_mod
from gies.methods import ecocrop, fao
from gies.methods import improve as imp
from gies.methods import rules as comb
from gies.methods import schemes as cls_mod
from gies.methods.class_limits import ClassLimits
from gies.methods.registry import CURVES
from gies.stages import harmonise as hz
from gies.stages.plan import Plan

__all__ = ["Model", "harmonise_layers", "build_model", "scheme_of", "ahp_from_config"]

GROUP_LETTER = {"climate": "c", "soil": "s", "terrain": "t"}


@dataclass
class Model:
    """Lazy layers of one run (see :func:`build_model`)."""

    score: xr.DataArray
    classes: xr.DataArray  # 1..4 (+5 N2 when improvement rules apply), 254 no data
    limiting: xr.DataArray
    factor_scores: dict[str, xr.DataArray]
    factor_classes: dict[str, xr.DataArray] = field(default_factory=dict)
    potential: xr.DataArray | None = None
    subclasses: xr.DataArray | None = None
    subclass_table: dict[int, str] = field(default_factory=dict)
    n_limiting: xr.DataArray | None = None
    best_month: xr.DataArray | None = None
    excluded: xr.DataArray | None = None
    counts: dict[str, xr.DataArray] = field(default_factory=dict)  # lazy boolean layers to count
    info: dict = field(default_factory=dict)  # weights, AHP, improvement steps (manifest)


def scheme_of(cfg) -> cls_mod.ClassScheme:
    """The class scheme with the pipeline's threshold overrides."""
    base = cls_mod.SCHEMES[cfg.classify.scheme]
    t = cfg.classify.thresholds
    return cls_mod.ClassScheme(base.name, t.get("S1", base.s1), t.get("S2", base.s2),
                               t.get("S3", base.s3), base.reference)


def ahp_from_config(ahp) -> dict:
    """Weights and consistency of an AHP block: ``{weights, lambda_max, ci, cr}``."""
    return ahp_mod.ahp(ahp.factors, ahp.matrix, allow_inconsistent=ahp.allow_inconsistent)


def cacheable(spec) -> bool:
    """Whether a layer's harmonised form is cached: continuous, one band."""
    return spec.kind == "continuous" and not spec.monthly


def harmonise_layers(
    pl: Plan, *, cached: dict[str, tuple] | None = None
) -> tuple[dict[str, xr.DataArray], dict[str, dict]]:
    """Every needed layer on the grid, in its declared units, with quality counts.

    ``cached`` maps layer names to ``(raster path, counts)`` of harmonised layers from the
    cache (:mod:`gies.cache`): those are read back instead of recomputed, and their counts
    (plain ints) are returned with the lazy counts of the others.
    """
    import rioxarray

    cfg = pl.pipeline.config
    chunk = cfg.processing.chunk
    engine = cfg.processing.warp_engine
    cached = cached or {}
    need = {n for n in pl.infos if n not in cached}
    need |= {cfg.layers[n].mixed_units.indicator for n in list(need) if cfg.layers[n].mixed_units}
    raw: dict[str, xr.DataArray] = {}
    groups: dict[tuple, list] = {}
    for name, info in pl.infos.items():
        if name not in need:
            continue
        spec = cfg.layers[name]
        key = f"layers.{name}"
        common = dict(chunk=chunk, kind=spec.kind, nodata=spec.nodata, scale=spec.scale,
                      offset=spec.offset, key=key, crs=spec.crs)
        if spec.depth_mean:
            parts = {iv: open_raster(i, bands=[spec.band], **common)
                     for iv, i in pl.depth_infos[name].items()}
            da = derive_mod.depth_weighted_mean(parts, top=spec.depth_mean.top,
                                                bottom=spec.depth_mean.bottom)
        elif spec.monthly:
            da = open_raster(info, bands=list(range(1, 13)), **common)
        elif spec.derive and spec.derive.stat in ("slope", "aspect"):
            dem = open_raster(info, bands=[spec.band], **common)
            if spec.derive.stat == "slope":
                unit = "degrees" if spec.units == "deg" else "percent"
                da = derive_mod.slope(dem, grid=info.grid, units=unit)
            else:
                da = derive_mod.aspect(dem, grid=info.grid)
        elif spec.derive:
            da = open_raster(info, bands=spec.derive.months, **common)
            # derived on the source grid, before any resampling (a count must not be smeared)
            da = derive_mod.monthly(da, stat=spec.derive.stat, threshold=spec.derive.threshold)
        else:
            da = open_raster(info, bands=[spec.band], **common)
        kind = "categorical" if spec.derive and spec.derive.stat == "count_below" else spec.kind
        da.name = name
        if (kind == "continuous" and not spec.mixed_units and not spec.depth_mean
                and not spec.monthly and not spec.derive):
            # plain layers sharing a source grid are warped together (one warp per tile)
            g = info.grid
            gkey = (g.crs, tuple(g.transform)[:6], g.shape, spec.resampling)
            groups.setdefault(gkey, []).append((name, da, g, spec))
            raw[name] = None  # keeps the order of pl.infos
            continue
        raw[name] = hz.onto_grid(da, source_grid=info.grid, grid=pl.grid, kind=kind,
                                 resampling=spec.resampling, chunk=chunk, engine=engine)
        raw[name].attrs["units"] = spec.units
    for members in groups.values():
        _, _, g, spec = members[0]
        warped = hz.onto_grid_many([m[1] for m in members], source_grid=g, grid=pl.grid,
                                   kind="continuous", resampling=spec.resampling, chunk=chunk,
                                   engine=engine)
        for (name, _, _, mspec), da in zip(members, warped):
            da.attrs["units"] = mspec.units
            raw[name] = da
    out: dict[str, xr.DataArray] = {}
    quality: dict[str, dict] = {}
    for name, (path, counts) in cached.items():
        da = rioxarray.open_rasterio(path, chunks={"y": chunk, "x": chunk}, masked=True,
                                     lock=False).sel(band=1, drop=True).astype(np.float32)
        da = da.drop_vars([c for c in da.coords if c not in ("x", "y")])
        da = da.assign_coords(y=pl.grid.y_coords, x=pl.grid.x_coords)
        da.attrs = {"grid": pl.grid, "units": cfg.layers[name].units, "cached": str(path)}
        da.name = name
        out[name] = da
        if len(counts) > 1:
            quality[name] = dict(counts)
    for name, da in raw.items():
        if name in cached or name not in pl.infos:
            continue
        spec = cfg.layers[name]
        counts: dict[str, xr.DataArray] = {"valid": da.notnull().sum()}
        if spec.mixed_units:
            readings = [(tuple(r.indicator_range), r.units) for r in spec.mixed_units.readings]
            da, c = hz.resolve_mixed_units(da, indicator=raw[spec.mixed_units.indicator],
                                           readings=readings, units=spec.units)
            counts.update(c)
        if spec.plausible:
            da, bad = hz.apply_plausible(da, low=spec.plausible[0], high=spec.plausible[1])
            counts["implausible"] = bad
        out[name] = da
        if len(counts) > 1:
            quality[name] = counts
    return out, quality


def _factor_units(pl: Plan, fname: str) -> str:
    fspec = pl.pipeline.config.factors[fname]
    if fspec.units:
        return fspec.units
    return pl.pipeline.profile.factors[fname].units


def _score_factor(pl: Plan, fname: str, layer: xr.DataArray):
    """(score, class or None, lazy boolean layer of unmatched cells or None) of one factor."""
    cfg = pl.pipeline.config
    fspec = cfg.factors[fname]
    ls = pl.pipeline.limit_set
    method = fspec.method or ls.method
    if method in ("class_limits", "class_interpolated"):
        limits = fspec.params.get("limits") if fspec.method else ls.limits[fname]
        lim = ClassLimits.from_mapping(limits, where=f"factors.{fname}")
        c, u = cl.class_limits_classes(layer, limits=lim, on_limit=cfg.scoring.on_limit)
        if cfg.scoring.mode == "interpolated" or method == "class_interpolated":
            s = cl.class_interpolated_scores(layer, limits=lim, on_limit=cfg.scoring.on_limit)
            s.name = f"{fname}_score"
        else:
            s = cl.class_scores(c, scores=cfg.scoring.class_scores)
        return s, c, u
    if method == "trapezoid":
        limits = fspec.params.get("limits") if fspec.method else ls.limits[fname]
        return sc.trapezoid(layer, limits=limits), None, None
    params = dict(fspec.params) if fspec.method else dict(ls.limits[fname])
    out = CURVES[method](layer, **params)
    unmatched = None
    if method == "lookup" and params.get("default") is None:
        unmatched = sc.lookup_unmapped(layer, table=params["table"])
    return out, None, unmatched


def _weights(cfg, names: list[str], info: dict) -> dict[str, float] | None:
    c = cfg.combine
    if c.ahp is not None:
        res = ahp_from_config(c.ahp)
        info["ahp"] = res
        return res["weights"]
    if c.weights is not None:
        return dict(c.weights)
    return None


def _combine(pl: Plan, scores: dict, classes: dict, info: dict):
    cfg = pl.pipeline.config
    c = cfg.combine
    names = list(scores)
    weights = _weights(cfg, names, info)
    if c.rule in ("minimum", "maximum_limitation"):
        return comb.minimum(scores)
    if c.rule in ("weighted_mean", "weighted_geometric_mean"):
        w = weights or dict.fromkeys(names, 1.0)
        info["weights"] = comb.normalise_weights(w, names)
        return comb.RULES[c.rule](scores, weights=w)
    if c.rule == "fuzzy_gamma":
        return comb.fuzzy_gamma(scores, gamma=c.gamma)
    if c.rule == "owa":
        return comb.owa(scores, order_weights=c.order_weights)
    if c.rule == "grouped":
        groups = _groups(pl, names)
        gw = c.group_weights or weights
        info["groups"] = groups
        if gw:
            info["group_weights"] = comb.normalise_weights(gw, sorted(set(groups.values())))
        return comb.grouped(scores, groups=groups, within=c.within, across=c.across,
                            weights=gw if c.across in ("weighted_mean", "weighted_geometric_mean")
                            else None)
    return comb.RULES[c.rule](scores)


def _groups(pl: Plan, names: list[str]) -> dict[str, str]:
    cfg = pl.pipeline.config
    if cfg.combine.groups:
        return {f: g for g, fs in cfg.combine.groups.items() for f in fs}
    prof = pl.pipeline.profile.factors
    return {f: prof[f].group if f in prof else "other" for f in names}


def _subclass_letters(pl: Plan, names) -> dict[str, str]:
    cfg = pl.pipeline.config
    prof = pl.pipeline.profile.factors
    return {f: cfg.factors[f].subclass or GROUP_LETTER.get(prof[f].group if f in prof else "", "s")
            for f in names}


def _constraints(pl: Plan, layers: dict, chunk: int) -> xr.DataArray | None:
    from gies.runner import rasterize_mask

    cfg = pl.pipeline.config
    masks = []
    for i, c in enumerate(cfg.constraints):
        if c.type == "vector":
            shapes = pl.constraint_shapes[i]
            geoms = [g for g in shapes.geometry if g is not None and not g.is_empty]
            masks.append(rasterize_mask(pl.grid, geoms, chunk, all_touched=c.rule == "all_touched"))
        elif c.type == "codes":
            masks.append(layers[c.layer].isin(c.codes))
        else:
            lyr = layers[c.layer]
            m = xr.zeros_like(lyr, dtype=bool)
            if c.above is not None:
                m = m | (lyr > c.above)
            if c.below is not None:
                m = m | (lyr < c.below)
            masks.append(m)
    if not masks:
        return None
    out = masks[0]
    for m in masks[1:]:
        out = out | m
    out.attrs = {"grid": pl.grid}
    return out


def _seasonal(pl: Plan, layers: dict):
    cfg = pl.pipeline.config
    s = cfg.seasonal
    ls = pl.pipeline.limit_set
    try:
        t_lim, r_lim = ls.limits["temperature"], ls.limits["rainfall"]
    except KeyError:
        raise ConfigError("seasonal: the limit set needs trapezoid limits for 'temperature' "
                          "and 'rainfall'") from None
    duration = ecocrop.duration_months(s.gmin, s.gmax)
    score, best = ecocrop.ecocrop_seasonal(
        layers[s.tavg], layers[s.prec], temperature=t_lim, rainfall=r_lim, duration=duration,
        basis=s.basis, tmin=layers[s.tmin] if s.tmin else None, ktmp=s.ktmp)
    score.attrs = {"grid": pl.grid, "units": "1"}
    best.attrs = {"grid": pl.grid, "units": "month"}
    score.name = "seasonal_score"
    return score, best, duration


def build_model(pl: Plan, layers: dict[str, xr.DataArray], factors: dict[str, str],
                inside: xr.DataArray) -> Model:
    """Score, combine, classify, constrain and improve, following the configuration."""
    p = pl.pipeline
    cfg = p.config
    scheme = scheme_of(cfg)
    info: dict = {}
    scores, classes, counts = {}, {}, {}
    best = None
    if cfg.seasonal:
        s, best, duration = _seasonal(pl, layers)
        scores["seasonal"] = s
        info["seasonal"] = {"duration_months": duration, "basis": cfg.seasonal.basis}
    for fname, lname in factors.items():
        layer = hz.to_units(layers[lname], src=cfg.layers[lname].units,
                            dst=_factor_units(pl, fname))
        layer.name = fname
        s, c, u = _score_factor(pl, fname, layer)
        scores[fname] = s
        if c is not None:
            classes[fname] = c
        if u is not None:
            counts[f"unmatched_{fname}"] = u
    score, limiting = _combine(pl, scores, classes, info)
    all_classes = len(classes) == len(scores)
    if cfg.combine.rule == "maximum_limitation":
        overall, limiting = fao.maximum_limitation(classes)
        overall = xr.where(overall == 0, cls_mod.NODATA, overall).astype(np.uint8)
    else:
        overall = cls_mod.classify_score(score, scheme=scheme)
    model = Model(score, overall, limiting, scores, classes, counts=counts, info=info,
                  best_month=best)
    if all_classes and cfg.classify.subclasses and classes:
        model.subclasses, model.subclass_table = fao.fao_subclasses(
            classes, groups=_subclass_letters(pl, classes))
        model.n_limiting = fao.count_limiting(classes)
    if cfg.improve:
        _improve(pl, model)
    model.excluded = _constraints(pl, layers, cfg.processing.chunk)
    _mask(model, inside, pl)
    return model


def _improve(pl: Plan, model: Model) -> None:
    cfg = pl.pipeline.config
    table = imp.read_intervention_table(pl.pipeline.resolve(cfg.improve.table))
    params = {f: r for f, r in cfg.improve.parameters.items() if f in model.factor_classes}
    steps = imp.improvement_steps(table, level=cfg.improve.level, factors=params)
    potential_f = imp.potential_factor_classes(model.factor_classes, steps=steps)
    pot, _ = fao.maximum_limitation(potential_f)
    pot = xr.where(pot == 0, cls_mod.NODATA, pot).astype(np.uint8)
    model.potential = pot
    model.classes = imp.split_n(model.classes, pot)
    model.info["improve"] = {"level": cfg.improve.level, "steps": steps}


def _mask(model: Model, inside: xr.DataArray, pl: Plan) -> None:
    """Outside the AOI -> 255 / NaN; excluded -> 253 (score kept as the land's own)."""
    out = cls_mod.OUTSIDE

    def classes(c):
        if model.excluded is not None:
            c = xr.where(model.excluded, cls_mod.EXCLUDED, c)
        return xr.where(inside, c, out).astype(np.uint8)

    model.classes = classes(model.classes)
    if model.potential is not None:
        model.potential = classes(model.potential)
    model.score = model.score.where(inside)
    nodata = model.score.isnull()
    model.limiting = xr.where(inside, xr.where(nodata, cls_mod.NODATA, model.limiting),
                              out).astype(np.uint8)
    for name in ("subclasses", "n_limiting", "best_month"):
        lyr = getattr(model, name)
        if lyr is not None:
            lyr = xr.where(inside, xr.where(nodata, cls_mod.NODATA, lyr), out).astype(np.uint8)
            setattr(model, name, lyr)
    model.factor_scores = {f: s.where(inside) for f, s in model.factor_scores.items()}
    for lyr in ("classes", "potential", "score", "limiting"):
        v = getattr(model, lyr)
        if v is not None:
            v.attrs["grid"] = pl.grid
