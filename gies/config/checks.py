"""Checks of a schema-valid pipeline: references between keys, units, and dry runs.

One function per section, each returning :class:`~gies.config.messages.Problem` records
(formatted once, by :func:`gies.config.load_pipeline`). The sections that configure methods
are checked by running them: every factor's curve with its resolved parameters (including
limits from the product profile and ``product.overrides``), the combination rule with its
weights, order weights and ``gamma``, the class scheme with its thresholds, every
derivation and the seasonal model, each on a 1×1 NumPy layer
(:func:`gies.methods.registry.check_call`): a method's own checks validate its values, so
the rules live once, with the method. No pixel of any input is read here.
"""

from __future__ import annotations

import re
from pathlib import Path

from gies.config.messages import Problem, did_you_mean
from gies.config.products import LimitSet, Profile
from gies.config.resolve import (
    FACTOR_SCORING_KEYS,
    SEASONAL_FACTOR,
    CombinePlan,
    FactorPlan,
    resolve_combine,
    resolve_factors,
    resolve_scheme,
    resolve_seasonal,
)
from gies.config.schema import NAME_PATTERN, Pipeline
from gies.config.yamlio import LoadedYaml
from gies.errors import UnitError
from gies.methods.class_limits import CLASSES, DEFAULT_CLASS_SCORES
from gies.methods.registry import (
    CLASS_RULES,
    CURVES,
    DERIVATIONS,
    RULES,
    SEASONAL,
    check_call,
    sample_layer,
)
from gies.units import conversion

__all__ = ["Resolved", "check_pipeline"]


class Resolved:
    """What the checks resolved: the factors, the seasonal model, the combination, the class
    scheme and the improvement steps (each ``None`` when its section failed)."""

    def __init__(self):
        self.factors: dict[str, FactorPlan] | None = None
        self.seasonal = None
        self.combine: CombinePlan | None = None
        self.scheme = None
        self.improve_steps: dict[str, int] | None = None


def check_pipeline(cfg: Pipeline, y: LoadedYaml, profile: Profile | None) -> tuple[list[Problem], Resolved]:
    """Every problem of a schema-valid pipeline (see the module docstring), and what was
    resolved."""
    out = Resolved()
    problems = _layers(cfg) + _zones(cfg) + _constraints(cfg) + _origin(cfg)
    if cfg.product is None:  # an origin analysis alone: the scheme classes the agreement
        scheme, scheme_problems = _scheme(cfg)
        out.scheme = scheme
        return problems + scheme_problems, out
    if profile is None:
        return problems, out
    sets = profile.limit_sets
    if cfg.product.limit_set not in sets:
        problems.append(Problem(("product", "limit_set"), (
            f"profile {profile.product!r} has no limit set {cfg.product.limit_set!r} "
            f"(it has {', '.join(sets)}){did_you_mean(cfg.product.limit_set, sets)}")))
        return problems, out
    ls = sets[cfg.product.limit_set]
    pyaml = profile.loaded_yaml
    problems += _product(cfg, profile, ls)
    scoring = _scoring(cfg)
    problems += scoring
    if not any(p.loc[:1] == ("factors",) or p.loc[:2] == ("product", "overrides")
               for p in problems):
        out.factors = resolve_factors(cfg, profile, ls, pyaml, scoring_ok=not scoring)
        problems += _factor_dry_runs(out.factors, pyaml)
    seasonal = _seasonal(cfg, ls, profile)
    problems += seasonal
    if cfg.seasonal and not seasonal:
        out.seasonal = resolve_seasonal(cfg, ls, pyaml, profile)
        problem = _seasonal_dry_run(out.seasonal)
        if problem:
            problems.append(Problem(("seasonal",), problem))
    scheme, scheme_problems = _scheme(cfg)
    problems += scheme_problems
    out.scheme = scheme
    if out.factors is not None:
        combine = _combine(cfg, out.factors, ls)
        problems += combine
        if not combine:
            out.combine = resolve_combine(cfg, out.factors)
            problems += _combine_dry_run(out.combine, out.factors, cfg)
        improve, steps = _improve(cfg, y, out.factors)
        problems += improve
        out.improve_steps = steps
    return problems, out


# -- layers, zones, constraints ----------------------------------------------------------------
def _layers(cfg: Pipeline) -> list[Problem]:
    problems = []
    for name, spec in cfg.layers.items():
        units = [(("units",), spec.units)]
        if spec.mixed_units:
            units += [(("mixed_units", "readings", i, "units"), r.units)
                      for i, r in enumerate(spec.mixed_units.readings)]
        for loc, unit in units:
            try:
                conversion(unit, spec.units)
            except UnitError as exc:
                problems.append(Problem(("layers", name, *loc), str(exc)))
        if spec.mixed_units and spec.mixed_units.indicator not in cfg.layers:
            ind = spec.mixed_units.indicator
            problems.append(Problem(("layers", name, "mixed_units", "indicator"),
                                    f"no layer {ind!r}{did_you_mean(ind, cfg.layers)}"))
        if spec.derive is not None:
            problem = _derive_dry_run(spec)
            if problem:
                problems.append(Problem(("layers", name, "derive"), problem))
    if cfg.grid.like and cfg.grid.like not in cfg.layers:
        problems.append(Problem(("grid", "like"), f"no layer {cfg.grid.like!r}"
                                f"{did_you_mean(cfg.grid.like, cfg.layers)}"))
    for fname, f in cfg.factors.items():
        if f.layer not in cfg.layers:
            problems.append(Problem(("factors", fname, "layer"),
                                    f"no layer {f.layer!r}{did_you_mean(f.layer, cfg.layers)}"))
    return problems


def derive_params(spec) -> dict:
    """The keyword parameters of a layer's derivation (the DEM's grid aside)."""
    d = spec.derive
    method = DERIVATIONS[d.stat]
    params = {}
    if "threshold" in method.parameters and d.threshold is not None:
        params["threshold"] = d.threshold
    if "units" in method.parameters:
        params["units"] = "degrees" if spec.units == "deg" else "percent"
    return params


def _derive_dry_run(spec) -> str | None:
    d = spec.derive
    method = DERIVATIONS[d.stat]
    params = derive_params(spec)
    if method.extra.get("input") == "dem":
        dem = sample_layer(shape=(3, 3))
        from gies.grid import grid_of

        return check_call(method, dem, {"grid": grid_of(dem), **params})
    return check_call(method, sample_layer(shape=(len(d.months), 1, 1)), params)


def _zones(cfg: Pipeline) -> list[Problem]:
    return [Problem(("zones", z), "zones layer names use letters, digits, '-', '_' or '.'")
            for z in cfg.zones if not re.match(NAME_PATTERN, z)]


def _constraints(cfg: Pipeline) -> list[Problem]:
    problems = []
    for i, con in enumerate(cfg.constraints):
        if con.layer and con.layer not in cfg.layers:
            problems.append(Problem(("constraints", i, "layer"), f"no layer {con.layer!r}"
                                    f"{did_you_mean(con.layer, cfg.layers)}"))
        elif con.type == "codes" and con.layer and cfg.layers[con.layer].kind != "categorical":
            problems.append(Problem(("constraints", i, "layer"),
                                    "a 'codes' constraint needs a categorical layer"))
    return problems


# -- product and factors -------------------------------------------------------------------------
def _product(cfg: Pipeline, profile: Profile, ls: LimitSet) -> list[Problem]:
    problems = []
    for fname, fspec in cfg.factors.items():
        pdef = profile.factors.get(fname)
        problems += _factor_scoring_keys(fname, fspec, ls)
        if fspec.method:
            if pdef is None and not fspec.units:
                problems.append(Problem(("factors", fname), f"{fname!r} is not a factor of "
                                        f"{profile.product!r}: give its 'units'"))
                continue
            units, loc = fspec.units or pdef.units, ("factors", fname, "units")
        elif pdef is None:
            problems.append(Problem(("factors", fname), f"product {profile.product!r} has no "
                                    f"factor {fname!r}{did_you_mean(fname, profile.factors)}"))
            continue
        elif fname not in ls.limits and fname not in cfg.product.overrides:
            problems.append(Problem(("factors", fname), (
                f"limit set {cfg.product.limit_set!r} of {profile.product!r} has no limits for "
                f"{fname!r} (it has {', '.join(ls.limits)}); remove the factor or give limits "
                "under product.overrides")))
            continue
        else:
            units, loc = fspec.units or pdef.units, ("layers", fspec.layer, "units")
        layer = cfg.layers.get(fspec.layer)
        if layer is not None and units:
            try:
                conversion(layer.units, units)
            except UnitError as exc:
                msg = str(exc) if fspec.method else f"factor {fname!r}: {exc}"
                problems.append(Problem(loc, msg))
    for fname, value in cfg.product.overrides.items():
        loc = ("product", "overrides", fname)
        if fname not in profile.factors:
            problems.append(Problem(loc, f"not a factor of {profile.product!r}"
                                    f"{did_you_mean(fname, profile.factors)}"))
        elif fname not in cfg.factors:  # not scored here, but still a value of the limit set
            problem = check_call(CURVES[ls.method], sample_layer(), _override_params(ls, value))
            if problem:
                problems.append(Problem(loc, problem))
    return problems


def _factor_scoring_keys(fname: str, fspec, ls: LimitSet) -> list[Problem]:
    """A factor's own ``on_limit`` applies to a class-limit curve and is given once."""
    problems = []
    curve = fspec.method or ls.method
    for key in FACTOR_SCORING_KEYS:
        if getattr(fspec, key) is None:
            continue
        loc = ("factors", fname, key)
        if key not in CURVES[curve].parameters:
            problems.append(Problem(loc, (
                f"factor {fname!r} is scored by {CURVES.canonical(curve)!r}, which has no class "
                f"limits: {key} applies to class-limit curves only (class_limits, "
                "class_interpolated); remove it")))
        elif fspec.method and key in fspec.params:
            problems.append(Problem(loc, (
                f"given twice, here and in factors.{fname}.params.{key}; keep one")))
    return problems


def _override_params(ls: LimitSet, value) -> dict:
    param = CURVES[ls.method].profile_param
    return {param: value} if param else dict(value) if isinstance(value, dict) else {}


def _factor_dry_runs(factors: dict[str, FactorPlan], pyaml: LoadedYaml | None) -> list[Problem]:
    problems = []
    for fp in factors.values():
        problem = check_call(CURVES[fp.method], sample_layer(), fp.params)
        if problem:
            src = fp.origin.source
            key = ".".join(map(str, fp.origin.loc))
            problems.append(Problem(fp.origin.loc, f"factor {fp.name!r}: {problem}"
                                    if src is not None else problem, src, key))
    return problems


def _scoring(cfg: Pipeline) -> list[Problem]:
    """Step scores inside the class scheme's bands, so that classes derived from the minimum
    of the scores agree with the FAO classes of the factors."""
    if not cfg.scoring.class_scores:
        return []
    scores = {**DEFAULT_CLASS_SCORES, **cfg.scoring.class_scores}
    vals = [scores[c] for c in CLASSES]
    if not all(0 <= v <= 1 for v in vals) or vals != sorted(vals, reverse=True):
        return [Problem(("scoring", "class_scores"),
                        f"scores must fall from S1 to N within [0, 1], got {scores}")]
    try:
        scheme = resolve_scheme(cfg)
    except ValueError:
        return []  # reported with classify.thresholds
    if not scheme.fao:
        return []  # the step scores define the factors' scores only
    t = {"S1": scheme.s1, "S2": scheme.s2, "S3": scheme.s3}
    bands = {"S1": (t["S1"], 1.0), "S2": (t["S2"], t["S1"]), "S3": (t["S3"], t["S2"]),
             "N": (0.0, t["S3"])}
    problems = []
    for c, v in scores.items():
        lo, hi = bands[c]
        if not (lo <= v <= hi) or (c != "S1" and v == hi):
            problems.append(Problem(("scoring", "class_scores", c), (
                f"{v} is outside the {c} score band [{lo}, {hi}{']' if c == 'S1' else ')'} "
                "of the class scheme, so classes derived from scores would disagree with the "
                "factor classes")))
    return problems


# -- seasonal model ----------------------------------------------------------------------------
def _seasonal(cfg: Pipeline, ls: LimitSet, profile: Profile) -> list[Problem]:
    from gies.config.resolve import seasonal_units

    s = cfg.seasonal
    if s is None:
        return []
    problems = []
    for key, target in seasonal_units(profile).items():
        name = getattr(s, key)
        if name in cfg.layers:
            try:
                conversion(cfg.layers[name].units, target)
            except UnitError as exc:
                problems.append(Problem(("layers", name, "units"), (
                    f"seasonal.{key}: the seasonal model's limits are in {target}: {exc}")))
    for key in ("tavg", "prec", "tmin"):
        name = getattr(s, key)
        if name is None:
            continue
        if name not in cfg.layers:
            problems.append(Problem(("seasonal", key),
                                    f"no layer {name!r}{did_you_mean(name, cfg.layers)}"))
        elif not cfg.layers[name].monthly:
            problems.append(Problem(("seasonal", key),
                                    f"layer {name!r} needs 'monthly: true' (12 bands)"))
    model = SEASONAL[s.model]
    need = tuple(model.extra.get("limits", ()))
    method = model.extra.get("limit_method")
    if (method and ls.method != method) or not set(need) <= set(ls.limits) | set(cfg.product.overrides):
        problems.append(Problem(("seasonal",), (
            f"the seasonal model needs a {method or ''} limit set with "
            f"{' and '.join(repr(n) for n in need)} limits").replace("  ", " ")))
    if s.gmin > s.gmax:
        problems.append(Problem(("seasonal", "gmin"), "gmin is longer than gmax"))
    if s.rainfall == "dismo" and s.basis == "annual":
        problems.append(Problem(("seasonal", "rainfall"), (
            "dismo scores rainfall on windows of the season's months; with basis: annual "
            "(the year's total) use rainfall: total")))
    return problems


def _seasonal_dry_run(sp) -> str | None:
    stack = sample_layer(shape=(12, 1, 1))
    inputs = {"prec": stack}
    if sp.tmin:
        inputs["tmin"] = stack
    return check_call(SEASONAL[sp.model], stack, {**inputs, **sp.params})


# -- combination and classes ----------------------------------------------------------------------
def _names(cfg: Pipeline) -> list[str]:
    return ([SEASONAL_FACTOR] if cfg.seasonal else []) + list(cfg.factors)


def _combine(cfg: Pipeline, factors: dict[str, FactorPlan], ls: LimitSet) -> list[Problem]:
    c = cfg.combine
    names = _names(cfg)
    problems = []
    if c.weights is not None:
        if c.rule == "grouped":
            target = sorted(set(c.groups or {}) or {fp.group for fp in factors.values()
                                                    if fp.group != "other"})
        else:
            target = sorted(names)
        if sorted(c.weights) != target:
            problems.append(Problem(("combine", "weights"), (
                f"weights must name each of {target} exactly once, got {sorted(c.weights)}")))
        elif any(w < 0 for w in c.weights.values()) or sum(c.weights.values()) <= 0:
            problems.append(Problem(("combine", "weights"), (
                "weights must be >= 0 with a positive sum (they are normalised to sum 1)")))
    if c.ahp is not None:
        from gies.methods.ahp import ahp

        try:
            ahp(c.ahp.factors, c.ahp.matrix, allow_inconsistent=c.ahp.allow_inconsistent)
        except ValueError as exc:
            problems.append(Problem(("combine", "ahp"), str(exc)))
    if c.groups:
        listed = [f for fs in c.groups.values() for f in fs]
        unknown = sorted(set(listed) - set(names))
        if unknown:
            problems.append(Problem(("combine", "groups"),
                                    f"not factors of this pipeline: {unknown}"))
        missing = sorted(set(names) - set(listed))
        if missing and c.rule == "grouped":
            problems.append(Problem(("combine", "groups"), f"factors in no group: {missing}"))
    if c.order_weights is not None and len(c.order_weights) != len(names):
        problems.append(Problem(("combine", "order_weights"), (
            f"{len(names)} factors need {len(names)} order weights, got {len(c.order_weights)}")))
    if c.rule in CLASS_RULES:
        without = [f for f, fp in factors.items() if not fp.has_classes]
        methods = sorted({factors[f].method for f in without})
        if cfg.seasonal:
            without, methods = [SEASONAL_FACTOR, *without], ["the seasonal model", *methods]
        if without:
            problems.append(Problem(("combine", "rule"), (
                f"{c.rule!r} combines FAO factor classes and needs class_limits curves (a "
                f"class_limits limit set); {', '.join(map(repr, without))} "
                f"{'is' if len(without) == 1 else 'are'} scored by {', '.join(methods)} "
                "(use rule: minimum)")))
    return problems


def _combine_dry_run(plan: CombinePlan, factors: dict[str, FactorPlan], cfg: Pipeline) -> list[Problem]:
    names = _names(cfg)
    params, _ = plan.params_for(names)
    scores = {n: sample_layer(0.5, name=n) for n in names}
    problem = check_call(RULES[plan.score_rule], scores, params)
    if problem is None and plan.is_class_rule:
        classes = {n: sample_layer(1, dtype="uint8", name=n) for n in names}
        problem = check_call(CLASS_RULES[plan.rule], classes, {})
    return [Problem(("combine",), problem)] if problem else []


def _scheme(cfg: Pipeline):
    """The class scheme with its bounds (dry-run), the suitable classes, and what needs FAO's
    classes (the class rules, improvement rules)."""
    from gies.methods.registry import dry_run
    from gies.methods.schemes import SCHEMES, classify_score

    problems = []
    try:
        scheme = resolve_scheme(cfg)
    except ValueError as exc:
        problems.append(Problem(("classify", "thresholds"), str(exc)))
        scheme = SCHEMES[cfg.classify.scheme]  # the other checks on the scheme's own bounds
    try:
        with dry_run():
            classify_score(sample_layer(0.5), scheme=scheme)
    except ValueError as exc:
        problems.append(Problem(("classify",), str(exc)))
    for i, name in enumerate(cfg.zonal.suitable or ()):
        if name not in scheme.names:
            problems.append(Problem(("zonal", "suitable", i), (
                f"{name!r} is not a class of scheme {scheme.name!r}"
                f"{did_you_mean(name, scheme.names)} (classes: {', '.join(scheme.names)})")))
    if not scheme.fao:
        for key, used in ((("combine", "rule"), cfg.combine.rule in CLASS_RULES),
                          (("improve",), cfg.improve is not None)):
            if used:
                problems.append(Problem(key, (
                    f"FAO class methods need classify.scheme: fao (the scheme is "
                    f"{scheme.name!r}, whose classes are not FAO's S1/S2/S3/N)")))
    return (None if problems else scheme), problems


# -- improvement rules ------------------------------------------------------------------------------
def _improve(cfg: Pipeline, y: LoadedYaml, factors: dict[str, FactorPlan]):
    imp = cfg.improve
    if imp is None:
        return [], None
    problems = []
    if cfg.combine.rule not in CLASS_RULES or not all(fp.has_classes for fp in factors.values()):
        problems.append(Problem(("improve",), "improvement rules need a class_limits limit set "
                                "and combine.rule: maximum_limitation"))
    unknown = sorted(set(imp.parameters) - set(cfg.factors))
    if unknown:
        problems.append(Problem(("improve", "parameters"),
                                f"not factors of this pipeline: {unknown}"))
    table = Path(imp.table).expanduser()
    table = table if table.is_absolute() else (y.path.parent / table)
    from gies.config.tables import read_intervention_table
    from gies.methods.improve import improvement_steps

    try:
        rows = read_intervention_table(table)
    except (OSError, ValueError, KeyError) as exc:
        return problems + [Problem(("improve", "table"), f"cannot read {table}: {exc}")], None
    bad = sorted(r for r in imp.parameters.values() if r not in rows)
    if bad:
        return problems + [Problem(("improve", "parameters"), f"no row {bad} in {table}")], None
    params = {f: r for f, r in imp.parameters.items() if f in cfg.factors}
    return problems, improvement_steps(rows, level=imp.level, factors=params)


# -- origin, similarity, model ----------------------------------------------------------------------
def _origin(cfg: Pipeline) -> list[Problem]:
    """Origin variables are layers of the pipeline (single-band), the bias layer too; every
    similarity method and algorithm dry-runs its parameters on a small reference."""
    o = cfg.origin
    if o is None:
        return []
    problems = []
    for i, v in enumerate(o.variables):
        if v not in cfg.layers:
            problems.append(Problem(("origin", "variables", i),
                                    f"no layer {v!r}{did_you_mean(v, cfg.layers)}"))
        elif cfg.layers[v].monthly:
            problems.append(Problem(("origin", "variables", i), (
                f"layer {v!r} has 12 monthly bands: derive one value per cell from it "
                "(layers.<name>.derive) and use that layer")))
    if o.area is not None and o.area.where is not None and not o.area.where.strip():
        problems.append(Problem(("origin", "area", "where"), "empty filter"))
    if cfg.model is not None:
        bias = cfg.model.background.bias
        if bias is not None and bias not in cfg.layers:
            problems.append(Problem(("model", "background", "bias"),
                                    f"no layer {bias!r}{did_you_mean(bias, cfg.layers)}"))
    if problems:
        return problems
    categorical = tuple(cfg.layers[v].kind == "categorical" for v in o.variables)
    if cfg.similarity is not None:
        problems += _similarity(cfg, categorical)
    if cfg.model is not None:
        problems += _algorithms(cfg, categorical)
    return problems


def _dry_reference(variables, categorical):
    """A small, non-degenerate reference for dry runs (no variable constant or collinear)."""
    import numpy as np

    from gies.methods.similarity import Reference

    rng = np.random.default_rng(0)
    n = 6 * len(variables) + 10  # enough rows for every method (MCD wants 5 per variable)
    values = rng.normal(size=(n, len(variables)))
    for j, cat in enumerate(categorical):
        if cat:
            values[:, j] = np.arange(n) % 3 + 1
    return Reference(values, tuple(variables), tuple(categorical),
                     values.min(axis=0), values.max(axis=0), seed=0)


def _similarity(cfg: Pipeline, categorical) -> list[Problem]:
    from gies.methods.registry import SIMILARITY

    s = cfg.similarity
    problems = []
    chosen = {SIMILARITY.canonical(m) for m in s.methods}
    for m in s.params:
        if m not in SIMILARITY or SIMILARITY.canonical(m) not in chosen:
            problems.append(Problem(("similarity", "params", m), (
                f"{m!r} is not one of similarity.methods ({', '.join(s.methods)})"
                f"{did_you_mean(m, s.methods)}")))
    if len(chosen) != len(s.methods):
        problems.append(Problem(("similarity", "methods"), "a method is listed twice"))
    ref = _dry_reference(cfg.origin.variables, categorical)
    for i, m in enumerate(s.methods):
        params = {**s.params.get(m, {}), **s.params.get(SIMILARITY.canonical(m), {})}
        problem = check_call(SIMILARITY[m], ref, params)
        if problem:
            problems.append(Problem(("similarity", "methods", i), problem))
    a = s.agreement
    if a.method is not None:
        outputs = set(chosen)
        if a.method not in outputs and (a.method not in SIMILARITY
                                        or SIMILARITY.canonical(a.method) not in outputs):
            problems.append(Problem(("similarity", "agreement", "method"), (
                f"{a.method!r} is not computed: choose one of similarity.methods "
                f"({', '.join(s.methods)}){did_you_mean(a.method, s.methods)}")))
        elif SIMILARITY.canonical(a.method) == "exdet":
            problems.append(Problem(("similarity", "agreement", "method"), (
                "exdet measures novelty (0 = inside the origin's range, lower = more novel), "
                "not similarity: cut mess, bioclim, gower or mahalanobis")))
    return problems


def _algorithms(cfg: Pipeline, categorical) -> list[Problem]:
    import numpy as np

    from gies.methods.registry import ALGORITHMS, dry_run

    m = cfg.model
    problems = []
    for name in m.params:
        if name not in ALGORITHMS or ALGORITHMS.canonical(name) not in {
                ALGORITHMS.canonical(a) for a in m.algorithms}:
            problems.append(Problem(("model", "params", name), (
                f"{name!r} is not one of model.algorithms ({', '.join(m.algorithms)})"
                f"{did_you_mean(name, m.algorithms)}")))
    rng = np.random.default_rng(0)
    names = tuple(cfg.origin.variables)
    X = rng.normal(size=(60, len(names)))
    for j, cat in enumerate(categorical):
        if cat:
            X[:, j] = np.arange(60) % 3 + 1
    y = (np.arange(60) < 20).astype(np.int8)
    for i, a in enumerate(m.algorithms):
        method = ALGORITHMS[a]
        params = m.params.get(a, {})
        accepted = [n for n in method.parameters if n not in ("y", "names", "categorical", "seed")]
        unknown = [k for k in params if k not in accepted]
        if unknown:
            problems.append(Problem(("model", "params", a), "; ".join(
                f"{method.name}: unknown parameter {k!r}{did_you_mean(k, accepted)}"
                for k in unknown) + f"; parameters: {', '.join(accepted)}"))
            continue
        quick = dict(params)
        if "n_trees" in accepted:  # a small forest: the values are what is checked
            n = quick.get("n_trees", 2)
            quick["n_trees"] = min(n, 2) if isinstance(n, int) and not isinstance(n, bool) else n
        try:
            with dry_run():
                method.func(X, y, names=names, categorical=categorical, seed=0, **quick)
        except (ValueError, TypeError) as exc:
            text = str(exc)
            problems.append(Problem(("model", "params" if a in m.params else "algorithms",
                                     a if a in m.params else i),
                                    text if text.startswith(f"{method.name}:")
                                    else f"{method.name}: {text}"))
    return problems
