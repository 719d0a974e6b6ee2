"""FAO methods on factor *classes*: the maximum-limitation rule, suitability subclasses and
the count of limiting factors (FAO 1976, ch. 3; Sys et al. 1993).

Factor classes are uint8 codes 1 = S1, 2 = S2, 3 = S3, 4 = N and 0 = no data
(:func:`gies.methods.class_limits.class_limits_classes`). :func:`maximum_limitation` is
registered in :data:`gies.methods.registry.CLASS_RULES` (``combine.rule:
maximum_limitation``); it is kept apart from the score rules, which it cannot be mixed with.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from gies.methods._layers import finish, stack_layers
from gies.methods.registry import CLASS_RULES
from gies.methods.rules import NO_LIMITATION

__all__ = ["maximum_limitation", "fao_subclasses", "subclass_code_table", "count_limiting",
           "SUBCLASS_LETTERS", "GROUP_LETTER"]

GROUP_LETTER = {"climate": "c", "soil": "s", "terrain": "t"}
"""Default FAO subclass letter of a product profile's factor group."""


@CLASS_RULES.register("maximum_limitation", score_rule="minimum")
def maximum_limitation(classes: Mapping[str, xr.DataArray]) -> tuple[xr.DataArray, xr.DataArray]:
    """FAO maximum-limitation rule: the overall class is the worst factor class.

    Factor classes are codes 1=S1 ... 4=N and 0=no data. ``overall = max_i class_i``, and 0
    where any factor is 0. The limiting factor is the first factor (in the order given) with
    the worst class, or ``NO_LIMITATION`` where every factor is S1.

    Examples
    --------
    >>> from gies.testing import make_layer
    >>> import numpy as np
    >>> t = make_layer(np.array([[1, 2, 3, 1]], dtype="uint8"))
    >>> r = make_layer(np.array([[1, 3, 3, 0]], dtype="uint8"))
    >>> c, lim = maximum_limitation({"t": t, "r": r})
    >>> c.values.tolist(), lim.values.tolist()
    ([[1, 3, 3, 0]], [[0, 2, 1, 0]])
    """
    stack = stack_layers(classes)
    names = list(classes)
    worst = stack.max("factor")
    any_missing = (stack == 0).any("factor")
    overall = xr.where(any_missing, 0, worst).astype(np.uint8)
    idx = stack.argmax("factor").astype(np.uint8) + 1
    limiting = xr.where(any_missing | (worst <= 1), NO_LIMITATION, idx).astype(np.uint8)
    first = next(iter(classes.values()))
    codes = {str(i + 1): n for i, n in enumerate(names)}
    return (
        finish(first, overall.data, "classes", "class", {"rule": "maximum_limitation"}),
        finish(first, limiting.data, "limiting_factor", "class", {"factors": codes}),
    )


# -- FAO subclasses --------------------------------------------------------------------
SUBCLASS_LETTERS = "cnstw"
"""FAO subclass letters and their bit (1 << position): c climate 1, n nutrients 2,
s soil 4, t topography 8, w wetness/water 16."""


def subclass_code_table() -> dict[int, str]:
    """All subclass codes and labels: ``{0: 'no data', 1: 'S1', 65: 'S2c', ...}``.

    Encoding (uint8): ``0`` no data; ``1`` S1 (FAO gives S1 no subclass); otherwise
    ``code = 32 * class + mask`` with class 2 = S2, 3 = S3, 4 = N and ``mask`` the sum of the
    bits of the limiting groups' letters (c 1, n 2, s 4, t 8, w 16), so ``class = code // 32``
    and ``mask = code % 32``; codes 65..159, letters written in the order c n s t w (S3 with
    nutrients and topography: 32*3 + 2 + 8 = 106 = ``S3nt``). The table depends on nothing
    but this encoding.

    >>> t = subclass_code_table()
    >>> t[1], t[65], t[106], t[159], len(t)
    ('S1', 'S2c', 'S3nt', 'Ncnstw', 95)
    """
    table = {0: "no data", 1: "S1"}
    for cls, name in ((2, "S2"), (3, "S3"), (4, "N")):
        for mask in range(1, 32):
            letters = "".join(ch for i, ch in enumerate(SUBCLASS_LETTERS) if mask & (1 << i))
            table[32 * cls + mask] = name + letters
    return table


def fao_subclasses(
    classes: Mapping[str, xr.DataArray], *, groups: Mapping[str, str]
) -> tuple[xr.DataArray, dict[int, str]]:
    """FAO suitability subclass per cell (FAO 1976 ch. 3: subclass letters name the kinds of
    limitation that set the class).

    ``classes``: factor -> class layer (1 S1 ... 4 N, 0 no data); ``groups``: factor ->
    letter among ``c n s t w``. The overall class is the worst factor class (maximum
    limitation; 0 where any factor is 0); the subclass letters are the groups of *every*
    factor at that worst class. Returns ``(codes uint8, code table)``; see
    :func:`subclass_code_table` for the encoding.

    >>> from gies.testing import make_layer
    >>> import numpy as np
    >>> u8 = lambda v: make_layer(np.array([v], dtype="uint8"))
    >>> codes, table = fao_subclasses({"t": u8([1, 2, 3, 3]), "ph": u8([1, 1, 3, 0]),
    ...                                "slope": u8([1, 2, 2, 1])},
    ...                               groups={"t": "c", "ph": "n", "slope": "t"})
    >>> [table[int(c)] for c in codes.values[0]]
    ['S1', 'S2ct', 'S3cn', 'no data']
    """
    bad = {f: g for f, g in groups.items() if g not in SUBCLASS_LETTERS or len(g) != 1}
    missing = [f for f in classes if f not in groups]
    if bad or missing:
        raise ValueError(f"fao_subclasses: every factor needs one letter of "
                         f"{SUBCLASS_LETTERS!r}; missing {missing}, invalid {bad}")
    stack = stack_layers(classes).astype(np.int16)
    worst = stack.max("factor")
    any_missing = (stack == 0).any("factor")
    bits = xr.DataArray([1 << SUBCLASS_LETTERS.index(groups[f]) for f in classes], dims="factor")
    at_worst = (stack == worst)
    # OR of the bits of the factors at the worst class (sum of distinct bits via max per bit)
    mask = xr.zeros_like(worst)
    for b in (1, 2, 4, 8, 16):
        mask = mask + b * (at_worst & (bits == b)).any("factor")
    code = xr.where(worst <= 1, 1, 32 * worst + mask)
    code = xr.where(any_missing, 0, code).astype(np.uint8)
    first = next(iter(classes.values()))
    table = subclass_code_table()
    out = finish(first, code.transpose(*first.dims).data, "subclasses", "class",
                  {"codes": {str(k): v for k, v in table.items()}, "groups": dict(groups)})
    return out, table


def count_limiting(classes: Mapping[str, xr.DataArray]) -> xr.DataArray:
    """Number of factors at the worst (overall) class, per cell (uint8); 0 where the
    overall class is S1 (nothing limits) or any factor has no data (class 0).

    >>> from gies.testing import make_layer
    >>> import numpy as np
    >>> u8 = lambda v: make_layer(np.array([v], dtype="uint8"))
    >>> count_limiting({"a": u8([1, 3, 2, 0]), "b": u8([1, 3, 3, 2])}).values.tolist()
    [[0, 2, 1, 0]]
    """
    stack = stack_layers(classes)
    worst = stack.max("factor")
    n = (stack == worst).sum("factor")
    n = xr.where((stack == 0).any("factor") | (worst <= 1), 0, n).astype(np.uint8)
    first = next(iter(classes.values()))
    return finish(first, n.transpose(*first.dims).data, "n_limiting", "1", {})

