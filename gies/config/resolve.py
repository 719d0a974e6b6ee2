"""A pipeline resolved into frozen records: what each stage runs, decided once.

A pipeline file leaves much to defaults and to the product profile: a factor without a
``method`` is scored by its limit set's curve with the profile's limits (or an override), in
the profile's units, with a subclass letter from its factor group; class-limit curves take
``on_limit`` (unless the factor gives its own), ``bare_number``, ``signs`` and
``class_scores`` from the ``scoring`` section. :func:`resolve` decides all of
that once, when the pipeline is loaded, into the records below; the configuration checks
dry-run exactly these records (:mod:`gies.config.checks`) and the stages run exactly them,
so that "which method and which parameters score factor *f*" has one answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gies.config.products import LimitSet, Profile
from gies.config.schema import Pipeline
from gies.config.yamlio import LoadedYaml
from gies.methods.fao import GROUP_LETTER
from gies.methods.registry import CLASS_RULES, CURVES, RULES, SCHEMES, SEASONAL
from gies.methods.rules import normalise_weights
from gies.methods.schemes import ClassScheme

__all__ = ["Origin", "FactorPlan", "SeasonalPlan", "CombinePlan", "resolve_factors",
           "resolve_seasonal", "resolve_combine", "resolve_scheme", "SEASONAL_FACTOR"]

#: The name the seasonal model's score takes among the factors.
SEASONAL_FACTOR = "seasonal"

#: ``scoring`` keys passed to the curves that take the parameter of the same meaning.
_SCORING_DEFAULTS = {"on_limit": "on_limit", "bare_number": "bare_number", "signs": "signs",
                     "scores": "class_scores"}

#: The parameters that say how a class-limit table is read (the manifest's ``limit_reading``).
LIMIT_READING = ("on_limit", "bare_number", "signs")

#: ``scoring`` keys a factor may set for itself (``factors.<name>.<key>``).
FACTOR_SCORING_KEYS = ("on_limit",)

#: ``scoring.mode: interpolated`` scores these curves by the curve named here instead.
_INTERPOLATED = {"class_limits": "class_interpolated"}


def frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only view of a copy of ``mapping``."""
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Origin:
    """Where a value comes from: a key path in the pipeline file (``source`` None) or in a
    product profile (``source``: its loaded YAML)."""

    loc: tuple
    source: LoadedYaml | None = None


@dataclass(frozen=True)
class FactorPlan:
    """One factor, resolved.

    ``method``: the curve of :data:`~gies.methods.registry.CURVES` (its own name, aliases
    resolved); ``params``: its keyword parameters, exactly as the score stage passes them;
    ``units``: the units the parameters are in (the layer is converted to them before
    scoring); ``group``: the profile's factor group (``other`` when the profile has no such
    factor); ``subclass``: the FAO subclass letter; ``limits``: the limits as written (the
    manifest's ``limits_used``); ``origin``: where the parameters come from.
    """

    name: str
    layer: str
    method: str
    params: Mapping[str, Any]
    units: str
    group: str
    subclass: str
    limits: Any
    origin: Origin

    @property
    def has_classes(self) -> bool:
        """Whether the curve gives FAO factor classes (class-limit curves)."""
        return CURVES[self.method].classes is not None


@dataclass(frozen=True)
class SeasonalPlan:
    """The seasonal model, resolved: ``model`` of :data:`~gies.methods.registry.SEASONAL`,
    its monthly input layers, its keyword parameters (limits from the limit set) and the
    units its limits are in, per input (``tavg``, ``prec``, ``tmin``: the units of the
    profile's temperature and rainfall factors), into which the layers are converted."""

    model: str
    tavg: str
    prec: str
    tmin: str | None
    params: Mapping[str, Any]
    origin: Origin
    units: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CombinePlan:
    """The combination, resolved: ``rule`` as written (a score rule of
    :data:`~gies.methods.registry.RULES` or a class rule of
    :data:`~gies.methods.registry.CLASS_RULES`), the factor weights (from ``weights`` or the
    AHP matrix, over every factor of the pipeline), ``groups`` (factor -> group, for
    ``grouped``), the group weights, and the AHP result. :meth:`params_for` gives the rule's
    parameters for the factors actually scored (some may have been dropped by the quality
    checks: their weights go, the others are normalised again)."""

    rule: str
    weights: Mapping[str, float] | None
    groups: Mapping[str, str]
    group_weights: Mapping[str, float] | None
    gamma: float | None
    order_weights: tuple[float, ...] | None
    within: str
    across: str
    ahp: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_class_rule(self) -> bool:
        """A rule on FAO factor classes (maximum limitation)."""
        return self.rule in CLASS_RULES

    @property
    def score_rule(self) -> str:
        """The score rule that gives the overall score (a class rule's ``score_rule``)."""
        if self.is_class_rule:
            return CLASS_RULES[self.rule].extra.get("score_rule", "minimum")
        return RULES.canonical(self.rule)

    def params_for(self, names: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(parameters of the score rule, combination info for the manifest)`` for the
        factors ``names`` (in their order)."""
        names = list(names)
        rule = self.score_rule
        info: dict[str, Any] = {}
        if self.ahp is not None:
            info["ahp"] = dict(self.ahp)
        weights = None if self.weights is None else {f: w for f, w in self.weights.items()
                                                      if f in names}
        if rule in ("weighted_mean", "weighted_geometric_mean"):
            w = weights or dict.fromkeys(names, 1.0)
            info["weights"] = normalise_weights(w, names)
            return {"weights": w}, info
        if rule == "fuzzy_gamma":
            return {"gamma": self.gamma}, info
        if rule == "owa":
            return {"order_weights": list(self.order_weights or ())}, info
        if rule == "grouped":
            groups = {f: self.groups.get(f, "other") for f in names}
            present = sorted(set(groups.values()))
            gw = self.group_weights if self.group_weights is not None else self.weights
            gw = None if gw is None else {g: w for g, w in gw.items() if g in present}
            info["groups"] = groups
            if gw:
                info["group_weights"] = normalise_weights(gw, present)
            params: dict[str, Any] = {"groups": groups, "within": self.within,
                                      "across": self.across}
            if self.across in ("weighted_mean", "weighted_geometric_mean"):
                params["weights"] = gw
            for key, rule_name in (("within_params", self.within), ("across_params", self.across)):
                if RULES.canonical(rule_name) == "fuzzy_gamma" and self.gamma is not None:
                    params[key] = {"gamma": self.gamma}
            return params, info
        return {}, info


def _curve_params(method: str, own: Mapping[str, Any], cfg: Pipeline, spec,
                  scoring_ok: bool) -> dict[str, Any]:
    """``own`` parameters plus the ``scoring`` defaults the curve accepts, a factor's own
    key (``factors.<name>.on_limit``) before the ``scoring`` section's."""
    params = dict(own)
    accepted = CURVES[method].parameters
    for param, key in _SCORING_DEFAULTS.items():
        if param in accepted and param not in params:
            if key == "class_scores":
                if scoring_ok and cfg.scoring.class_scores:
                    params[param] = dict(cfg.scoring.class_scores)
            elif key in FACTOR_SCORING_KEYS and getattr(spec, key) is not None:
                params[param] = getattr(spec, key)
            else:
                params[param] = getattr(cfg.scoring, key)
    return params


def resolve_factors(cfg: Pipeline, profile: Profile, ls: LimitSet,
                    profile_yaml: LoadedYaml | None, *,
                    scoring_ok: bool = True) -> dict[str, FactorPlan]:
    """Every factor of a checked pipeline resolved (see the module docstring);
    ``scoring_ok=False`` leaves out ``scoring.class_scores`` (when they are wrong, so that
    the dry runs do not report them a second time)."""
    out = {}
    overrides = cfg.product.overrides
    for name, spec in cfg.factors.items():
        if spec.method:
            method, own, limits = spec.method, dict(spec.params), dict(spec.params)
            origin = Origin(("factors", name, "params"))
        else:
            method = ls.method
            if name in overrides:
                value = overrides[name]
                origin = Origin(("product", "overrides", name))
            else:
                value = ls.limits[name]
                origin = Origin(("limit_sets", cfg.product.limit_set, "limits", name),
                                profile_yaml)
            param = CURVES[method].profile_param
            own = {param: value} if param else dict(value) if isinstance(value, Mapping) else {}
            limits = value
        method = CURVES.canonical(method)
        if cfg.scoring.mode == "interpolated":
            method = _INTERPOLATED.get(method, method)
        pdef = profile.factors.get(name)
        group = pdef.group if pdef is not None else "other"
        out[name] = FactorPlan(
            name=name, layer=spec.layer, method=method,
            params=frozen(_curve_params(method, own, cfg, spec, scoring_ok)),
            units=spec.units or (pdef.units if pdef is not None else ""),
            group=group, subclass=spec.subclass or GROUP_LETTER.get(group, "s"),
            limits=limits, origin=origin)
    return out


#: The profile factor whose units each input of a seasonal model takes.
SEASONAL_INPUT_FACTOR = {"tavg": "temperature", "tmin": "temperature", "prec": "rainfall"}


def seasonal_units(profile: Profile) -> dict[str, str]:
    """The units the seasonal model's inputs are scored in (those of the profile's
    temperature and rainfall factors; °C and mm when the profile does not say)."""
    default = {"temperature": "degC", "rainfall": "mm"}
    out = {}
    for key, factor in SEASONAL_INPUT_FACTOR.items():
        f = profile.factors.get(factor)
        out[key] = (f.units if f is not None and f.units else None) or default[factor]
    return out


def resolve_seasonal(cfg: Pipeline, ls: LimitSet, profile_yaml: LoadedYaml | None,
                     profile: Profile | None = None) -> SeasonalPlan | None:
    """The seasonal model with its parameters: the ``seasonal`` keys the model accepts and
    the limit-set limits it names (``limits``: e.g. temperature and rainfall)."""
    s = cfg.seasonal
    if s is None:
        return None
    model = SEASONAL[s.model]
    params: dict[str, Any] = {}
    for factor in model.extra.get("limits", ()):
        if factor in cfg.product.overrides:
            params[factor] = cfg.product.overrides[factor]
        elif factor in ls.limits:
            params[factor] = ls.limits[factor]
    # a section key reaches the parameter the model names for it (``config_keys``), never
    # one of the limits taken from the limit set above
    renamed = model.extra.get("config_keys", {})
    for key in type(s).model_fields:
        param = renamed.get(key, key)
        if (key not in ("model", "tavg", "prec", "tmin") and param in model.parameters
                and param not in model.extra.get("limits", ())):
            params[param] = getattr(s, key)
    units = seasonal_units(profile) if profile is not None else {}
    return SeasonalPlan(model.name, s.tavg, s.prec, s.tmin, frozen(params),
                        Origin(("seasonal",)), MappingProxyType(units))


def resolve_combine(cfg: Pipeline, factors: Mapping[str, FactorPlan]) -> CombinePlan:
    """The combination of a checked pipeline (AHP weights computed here, once)."""
    from gies.methods.ahp import ahp

    c = cfg.combine
    result = None
    weights = None if c.weights is None else dict(c.weights)
    if c.ahp is not None:
        result = ahp(c.ahp.factors, c.ahp.matrix, allow_inconsistent=c.ahp.allow_inconsistent)
        weights = dict(result["weights"])
    if c.groups:
        groups = {f: g for g, fs in c.groups.items() for f in fs}
    else:
        groups = {f: fp.group for f, fp in factors.items()}
    return CombinePlan(
        rule=c.rule, weights=None if weights is None else frozen(weights),
        groups=frozen(groups),
        group_weights=None if c.group_weights is None else frozen(c.group_weights),
        gamma=c.gamma, order_weights=None if c.order_weights is None else tuple(c.order_weights),
        within=c.within, across=c.across, ahp=None if result is None else frozen(result))


def resolve_scheme(cfg: Pipeline) -> ClassScheme:
    """The class scheme with the pipeline's bound overrides (``classify.thresholds``;
    ``ValueError`` names a class without a bound or bounds that do not fall)."""
    return SCHEMES[cfg.classify.scheme].with_bounds(cfg.classify.thresholds)


def suitable_classes(cfg: Pipeline, scheme: ClassScheme) -> tuple[str, ...]:
    """The classes counted as suitable land: ``zonal.suitable``, or the scheme's own."""
    return tuple(cfg.zonal.suitable) if cfg.zonal.suitable is not None else scheme.suitable
