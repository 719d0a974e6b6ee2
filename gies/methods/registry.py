"""Registries: the one place where a name a pipeline file uses is bound to what it runs.

A :class:`Registry` maps names (and aliases) to entries of one kind: scoring curves,
combination rules, class rules, class schemes, derivations, seasonal models, resampling
methods, output products. Everything that needs the list of names reads it from here: the
configuration's validation (with did-you-mean), the JSON Schema's enums, the dispatch in
the stages and the method lists in ``docs/methods.md`` (generated, and kept equal by a
test). Adding a method is one decorated function plus its test::

    @CURVES.register("exponential")
    def exponential(layer, *, shift, base_factor, lower, upper): ...

Callables are registered as :class:`Method` records; other kinds (a class scheme, a
resampling method) register their own frozen dataclasses, which have a ``name``.

**Dry runs.** :func:`check_call` binds a method's parameters to its signature and then runs
it on a 1×1 NumPy layer inside :func:`dry_run`, so that the method's own checks validate the
parameter values when a pipeline is loaded, with no second copy of the rules. Inside a dry
run the compiled kernels of :mod:`gies.kernels.cells` run as plain Python (numba is neither
imported nor compiled) and nothing imports dask.array or rasterio.
"""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import functools
import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = ["Registry", "Method", "UnknownName", "dry_run", "in_dry_run", "check_call",
           "did_you_mean", "sample_layer", "CURVES", "RULES", "CLASS_RULES", "SCHEMES", "DERIVATIONS",
           "SEASONAL", "RESAMPLING", "SIMILARITY", "ALGORITHMS"]

T = TypeVar("T")

_DRY = contextvars.ContextVar("gies_dry_run", default=False)


@contextlib.contextmanager
def dry_run() -> Iterator[None]:
    """Within this block, kernels run as plain Python and xarray does not import dask.array
    (see the module docstring)."""
    from gies.kernels import python_mode

    token = _DRY.set(True)
    try:
        with python_mode(), _numpy_only_xarray():
            yield
    finally:
        _DRY.reset(token)


@contextlib.contextmanager
def _numpy_only_xarray() -> Iterator[None]:
    """Tell xarray that dask arrays do not exist while dask is not imported.

    xarray imports dask (0.15 s) and dask.array (0.3 s more) the first time it wraps any
    array, to ask whether the array is a dask one. A dry run wraps only tiny NumPy arrays,
    and while dask (dask.array) is not imported no object can be a dask collection (a dask
    array), so the answer is known: for the block, xarray's cached answer for dask arrays
    is "none" and its dask-collection test answers False. Both are put back afterwards;
    with an xarray release that lacks these hooks nothing is changed (dask is imported).
    """
    with contextlib.ExitStack() as stack:
        if "dask.array" not in sys.modules:
            stack.enter_context(_no_dask_arrays())
        if "dask" not in sys.modules:
            stack.enter_context(_no_dask_collections())
        yield


@contextlib.contextmanager
def _no_dask_arrays() -> Iterator[None]:
    try:
        from xarray.namedarray import pycompat

        cache = pycompat._cached_duck_array_modules
        stub = object.__new__(pycompat.DuckArrayModule)
        stub.module, stub.version, stub.type, stub.available = None, pycompat.Version("0"), (), False
    except (ImportError, AttributeError, TypeError):
        yield
        return
    placed = cache.setdefault("dask", stub) is stub
    try:
        yield
    finally:
        if placed and cache.get("dask") is stub:
            del cache["dask"]


@contextlib.contextmanager
def _no_dask_collections() -> Iterator[None]:
    try:
        from xarray.namedarray import utils
    except ImportError:
        yield
        return
    original = getattr(utils, "is_dask_collection", None)
    if original is None:
        yield
        return
    utils.is_dask_collection = _never_dask
    try:
        yield
    finally:
        if utils.is_dask_collection is _never_dask:
            utils.is_dask_collection = original


def _never_dask(x: object) -> bool:
    """No object is a dask collection while dask is not imported."""
    return False


def did_you_mean(word: Any, options) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``options``, or ``""``.

    >>> did_you_mean("gausian", ["gaussian", "linear"])
    " (did you mean 'gaussian'?)"
    >>> did_you_mean("temp", ["temperature", "rainfall"])   # a truncated name
    " (did you mean 'temperature'?)"
    >>> did_you_mean("Vs", ["VS", "S", "VmS"])   # another case
    " (did you mean 'VS'?)"
    """
    options = [str(o) for o in options]
    match = [o for o in options if o.lower() == str(word).lower()][:1]
    match = match or difflib.get_close_matches(str(word), options, n=1)
    if not match:  # a truncated name ("temp" for "temperature") is a likely slip too
        match = [o for o in options if len(str(word)) >= 3 and o.startswith(str(word))][:1]
    return f" (did you mean {match[0]!r}?)" if match else ""


class UnknownName(KeyError, ValueError):
    """A name no entry of a registry has; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Method:
    """A registered function and what the stages need to know about it.

    ``classes``: for FAO class-limit curves, ``(layer, **params) -> (classes, unmatched)``,
    the factor's FAO class layer (1 S1 .. 4 N, 0 no data) and its valid cells matched by no
    range. ``from_classes``: the curve's score computed from that class layer (so that the
    class layer is computed once). ``unmatched``: ``(layer, **params) -> layer or None``,
    the valid cells the method could not score; ``unmatched_error`` says whether such cells
    stop the run (a lookup code missing from its table) or are only reported.
    ``profile_param``: the parameter a product profile's limit-set value fills (e.g.
    ``limits``); ``None`` when the value is the mapping of all parameters. ``runs_on``: for
    derivations, the grid they run on (``source``: before any resampling).
    """

    name: str
    func: Callable[..., Any]
    kind: str
    aliases: tuple[str, ...] = ()
    classes: Callable[..., Any] | None = None
    from_classes: Callable[..., Any] | None = None
    unmatched: Callable[..., Any] | None = None
    unmatched_error: bool = False
    profile_param: str | None = None
    runs_on: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)

    @property
    def summary(self) -> str:
        """The first paragraph of the function's docstring."""
        return _summary(self.func)

    @property
    def parameters(self) -> list[str]:
        """Keyword parameters of the function (the first, the data, left out)."""
        return [p.name for p in list(inspect.signature(self.func).parameters.values())[1:]
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def call(self, fn: Callable[..., Any], data, params: Mapping[str, Any]):
        """``fn(data, **params)`` with only the parameters ``fn`` accepts (companions take a
        subset of the method's parameters)."""
        accepted = inspect.signature(fn).parameters
        if any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            return fn(data, **params)
        return fn(data, **{k: v for k, v in params.items() if k in accepted})


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ").strip()


class Registry(Mapping[str, T], Generic[T]):
    """Entries of one kind by name; aliases resolve to the same entry.

    ``what`` names the kind in messages ("scoring curve", "combination rule", ...).
    """

    def __init__(self, kind: str, what: str):
        self.kind, self.what = kind, what
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    # -- filling ---------------------------------------------------------------------------
    def add(self, entry: T, *, aliases: tuple[str, ...] = ()) -> T:
        """Register an entry (anything with a ``name``) and its aliases."""
        name = getattr(entry, "name")
        for n in (name, *aliases):
            if n in self._entries or n in self._aliases:
                raise ValueError(f"{self.what} {n!r} is registered twice")
        self._entries[name] = entry
        for a in aliases:
            self._aliases[a] = name
        return entry

    def register(self, name: str | None = None, *, aliases: tuple[str, ...] = (),
                 **options: Any) -> Callable[[Callable], Callable]:
        """Decorator registering a function as a :class:`Method` (``options`` are its
        fields: ``classes``, ``unmatched``, ``profile_param``, ``runs_on``, ...). The
        function itself is returned unchanged."""
        def deco(fn: Callable) -> Callable:
            known = set(Method.__dataclass_fields__) - {"name", "func", "kind", "aliases"}
            extra = {k: v for k, v in options.items() if k not in known}
            fields = {k: v for k, v in options.items() if k in known}
            self.add(Method(name or fn.__name__, fn, self.kind, tuple(aliases),
                            extra=extra, **fields), aliases=tuple(aliases))
            return fn
        return deco

    # -- lookup ----------------------------------------------------------------------------
    def canonical(self, name: str) -> str:
        """The entry's own name for ``name`` or one of its aliases."""
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise UnknownName(self.unknown(name))

    def unknown(self, name: Any) -> str:
        """The message for an unknown ``name``: did-you-mean and the known names."""
        return (f"unknown {self.what} {name!r}{did_you_mean(name, self.names(True))} "
                f"(known: {', '.join(self.names())})")

    def __getitem__(self, name: str) -> T:
        return self._entries[self.canonical(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def names(self, with_aliases: bool = False) -> list[str]:
        """Registered names in registration order (and the aliases, when asked)."""
        return list(self._entries) + (list(self._aliases) if with_aliases else [])

    def aliases_of(self, name: str) -> list[str]:
        """The aliases of entry ``name``."""
        return [a for a, n in self._aliases.items() if n == name]

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(self.names())})"


@functools.lru_cache(maxsize=1)
def _sample_grid_wkt() -> str:
    from pyproj import CRS

    return CRS.from_epsg(3857).to_wkt()


def sample_layer(value: float = 0.0, *, shape: tuple[int, ...] = (1, 1), dtype="float32",
                 name: str = "sample"):
    """A tiny NumPy-backed layer on a 100 m grid for dry runs: ``shape`` ``(rows, cols)`` or
    ``(bands, rows, cols)`` filled with ``value``. Its attributes and coordinates are those
    of a harmonised layer."""
    import numpy as np
    import xarray as xr
    from affine import Affine

    from gies.grid import Grid

    rows, cols = shape[-2:]
    grid = Grid(_sample_grid_wkt(), Affine(100.0, 0.0, 0.0, 0.0, -100.0, 100.0 * rows),
                (rows, cols))
    dims = ("band", "y", "x")[-len(shape):]
    with _numpy_only_xarray():
        return xr.DataArray(np.full(shape, value, dtype=dtype), dims=dims, coords=grid.coords(),
                            name=name, attrs={"units": "1"})


def check_call(method: Method, data, params: Mapping[str, Any]) -> str | None:
    """Check ``params`` against ``method``'s signature (names, then numbers where the
    signature says a number) and run it on ``data`` (a tiny NumPy layer or mapping of
    layers) in a :func:`dry_run`; ``None`` when all succeed, else the problem as one
    sentence starting with the method's name.

    A method checks its parameter values itself (raising ``ValueError`` or ``TypeError``),
    so the dry run reuses those checks instead of repeating them.

    >>> check_call(CURVES["gaussian"], sample_layer(), {"midpoint": 6.5, "spread": -1,
    ...                                                 "lower": 4, "upper": 9})
    'gaussian: spread must be > 0'
    >>> check_call(CURVES["gaussian"], sample_layer(), {"mid": 6.5, "spread": 1,
    ...                                                 "lower": 4, "upper": 9})
    "gaussian: unknown parameter 'mid' (did you mean 'midpoint'?); parameters: midpoint, spread, lower, upper, below, above, rescale"
    """
    problem = _signature_problem(method, params)
    if problem:
        return f"{method.name}: {problem}"
    try:
        with dry_run():
            method.func(data, **params)
            for companion in (method.classes, method.unmatched):
                if companion is not None:
                    method.call(companion, data, params)
    except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        return text if text.startswith(f"{method.name}:") else \
            f"{method.name}: {text.removeprefix(method.name).lstrip(': ')}"
    return None


def _signature_problem(method: Method, params: Mapping[str, Any]) -> str | None:
    sig = inspect.signature(method.func)
    accepted = list(sig.parameters.values())[1:]
    names = [p.name for p in accepted if p.kind is not p.VAR_KEYWORD]
    listing = f"parameters: {', '.join(names)}"
    if not any(p.kind is p.VAR_KEYWORD for p in accepted):
        unknown = [k for k in params if k not in names]
        if unknown:
            return "; ".join(f"unknown parameter {k!r}{did_you_mean(k, names)}"
                             for k in unknown) + f"; {listing}"
    missing = [p.name for p in accepted if p.default is p.empty
               and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in params]
    if missing:
        return f"missing parameter{'s' if len(missing) > 1 else ''} " \
               f"{', '.join(map(repr, missing))}; {listing}"
    hints = _hints(method.func)
    for k, v in params.items():
        want = hints.get(k)
        if want in ("float", "float | None", "int", "int | None") and not (
                (v is None and "None" in want)
                or (isinstance(v, (int, float)) and not isinstance(v, bool))):
            return f"parameter {k!r} must be a number, got {v!r}"
        if want == "bool" and not isinstance(v, bool):
            return f"parameter {k!r} must be true or false, got {v!r}"
    return None


def _hints(func: Callable[..., Any]) -> dict[str, str]:
    """The parameters' annotations as written (``from __future__ import annotations``)."""
    return {name: str(p.annotation) for name, p in inspect.signature(func).parameters.items()
            if p.annotation is not p.empty}


# -- the registries ------------------------------------------------------------------------------
#: Scoring curves: ``(layer, **params) -> score`` in [0, 1] (``factors.<f>.method``, a limit
#: set's ``method``).
CURVES: Registry[Method] = Registry("curve", "scoring curve")
#: Score combination rules: ``({factor: score}, **params) -> (score, limiting)``
#: (``combine.rule``, ``combine.within``, ``combine.across``).
RULES: Registry[Method] = Registry("rule", "combination rule")
#: Class combination rules: ``({factor: FAO class}, **params) -> (classes, limiting)``
#: (``combine.rule``).
CLASS_RULES: Registry[Method] = Registry("class_rule", "class combination rule")
#: Class schemes: score thresholds of the suitability classes (``classify.scheme``).
SCHEMES: Registry = Registry("scheme", "class scheme")
#: Derived layers (``layers.<l>.derive.stat``).
DERIVATIONS: Registry[Method] = Registry("derivation", "derivation")
#: Seasonal models on 12-band monthly layers (``seasonal.model``).
SEASONAL: Registry[Method] = Registry("seasonal", "seasonal model")
#: Resampling methods of harmonise (``layers.<l>.resampling``).
RESAMPLING: Registry = Registry("resampling", "resampling method")
#: Origin-similarity methods: ``(reference, **params) -> fitted`` whose ``predict(x)`` maps
#: cells × variables to named output layers (``similarity.methods``).
SIMILARITY: Registry[Method] = Registry("similarity", "similarity method")
#: Presence-background algorithms: ``(X, y, **params) -> fitted`` with ``predict(X)`` in
#: [0, 1] (``model.algorithms``).
ALGORITHMS: Registry[Method] = Registry("algorithm", "model algorithm")
