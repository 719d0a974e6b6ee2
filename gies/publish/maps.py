"""Static maps: the class map (``map.png``/``map.pdf``), factor scores (``factors.png``) and
the limiting factor (``limiting.png``).

Each map has zone outlines and names, a legend, a scale bar, a north arrow, a coordinate grid,
a title, credits and the boundary disclaimer. Rasters are decimated by nearest neighbour to at
most ``max_pixels`` per side, so a national grid renders in constant memory. Text uses DejaVu
Sans (matplotlib's own copy), which covers Latin accents (Thiès, Sédhiou).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.enums import Resampling

from gies.grid import crs_label
from gies.methods.schemes import EXCLUDED, NODATA, OUTSIDE, SCHEMES

__all__ = ["class_map", "factors_map", "limiting_map", "DEFAULT_DISCLAIMER", "FACTOR_COLOURS"]

DEFAULT_DISCLAIMER = (
    "The boundaries and names shown and the designations used on this map do not imply the "
    "expression of any opinion whatsoever on the part of FAO concerning the legal status of any "
    "country, territory, city or area or of its authorities, or concerning the delimitation of "
    "its frontiers and boundaries."
)
# Qualitative colours for limiting factors (ColorBrewer Set1 + Dark2, colour-blind aware order)
FACTOR_COLOURS = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
                  "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#666666"]
NO_LIMIT_COLOUR = "#ffffcc"


def factor_colour(code: int) -> str:
    """Colour of limiting factor ``code`` (0 = no limitation, 253 = excluded, 254 = no data)."""
    if code == 0:
        return NO_LIMIT_COLOUR
    if code in (NODATA, EXCLUDED):
        return SCHEMES["fao"].colours[code]
    return FACTOR_COLOURS[(code - 1) % len(FACTOR_COLOURS)]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = "DejaVu Sans"
    return plt


def _read(path: Path, max_pixels: int):
    with rasterio.open(path) as ds:
        scale = max(1.0, max(ds.height, ds.width) / max_pixels)
        shape = (max(1, int(ds.height / scale)), max(1, int(ds.width / scale)))
        arr = ds.read(1, out_shape=shape, resampling=Resampling.nearest)
        return arr, ds.bounds, ds.crs


def _nice(x: float) -> float:
    """The largest 1/2/5×10^k not above ``x``."""
    if x <= 0:
        return 1.0
    k = 10 ** math.floor(math.log10(x))
    for m in (5, 2, 1):
        if m * k <= x:
            return m * k
    return k


def _metres_per_unit(crs, bounds) -> float:
    if crs is not None and crs.is_geographic:
        lat = (bounds.bottom + bounds.top) / 2
        return 111_320.0 * math.cos(math.radians(lat))
    return 1.0


def _scale_bar(ax, crs, bounds, *, fontsize=7) -> None:
    mpu = _metres_per_unit(crs, bounds)
    width_m = (bounds.right - bounds.left) * mpu
    length_m = _nice(width_m / 5)
    length = length_m / mpu
    x0 = bounds.left + (bounds.right - bounds.left) * 0.04
    y0 = bounds.bottom + (bounds.top - bounds.bottom) * 0.04
    h = (bounds.top - bounds.bottom) * 0.012
    for i in range(2):
        ax.add_patch(_rect(x0 + i * length / 2, y0, length / 2, h,
                           "#222222" if i == 0 else "white"))
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    for x, t in ((x0, "0"), (x0 + length, label)):
        ax.text(x, y0 + h * 1.6, t, ha="center", va="bottom", fontsize=fontsize,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "alpha": 0.7, "lw": 0})


def _rect(x, y, w, h, fc):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=fc, edgecolor="#222222", linewidth=0.6, zorder=5)


def _north_arrow(ax, label: str = "N") -> None:
    ax.annotate("", xy=(0.95, 0.93), xytext=(0.95, 0.83), xycoords="axes fraction",
                arrowprops={"facecolor": "black", "edgecolor": "white", "width": 4,
                            "headwidth": 12, "headlength": 10}, zorder=6)
    ax.text(0.95, 0.945, label, transform=ax.transAxes, ha="center", va="bottom", fontsize=11,
            fontweight="bold", zorder=6,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0})


def _grid(ax, crs, tr: dict | None, fontsize=7) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    tr = tr or {}
    ax.grid(True, color="#555555", linewidth=0.3, alpha=0.6, linestyle="--")
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.tick_params(labelsize=fontsize)
    if crs is not None and crs.is_geographic:
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda v, _: f"{abs(v):.4g}°{'W' if v < 0 else 'E' if v > 0 else ''}"))
        ax.yaxis.set_major_formatter(FuncFormatter(
            lambda v, _: f"{abs(v):.4g}°{'S' if v < 0 else 'N' if v > 0 else ''}"))
        ax.set_xlabel(tr.get("longitude", "Longitude"), fontsize=fontsize)
        ax.set_ylabel(tr.get("latitude", "Latitude"), fontsize=fontsize)
    else:
        fmt = FuncFormatter(lambda v, _: f"{v:,.0f}")
        ax.xaxis.set_major_formatter(fmt)
        ax.yaxis.set_major_formatter(fmt)
        ax.set_xlabel(tr.get("easting", "Easting (m)"), fontsize=fontsize)
        ax.set_ylabel(tr.get("northing", "Northing (m)"), fontsize=fontsize)
        plt_labels = ax.get_yticklabels()
        for lab in plt_labels:
            lab.set_rotation(90)
            lab.set_va("center")


def _crs_name(crs) -> str:
    if crs is None:
        return ""
    return crs_label(crs.to_wkt())


def _zones(ax, zones: gpd.GeoDataFrame | None, label_field: str | None, *, fontsize=7,
           labels: bool = True) -> None:
    if zones is None or zones.empty:
        return
    z = zones[~(zones.geometry.is_empty | zones.geometry.isna())]
    if z.empty:
        return
    # outlines are drawn at map resolution: simplify to ~1/2000 of the extent first (a
    # national boundary file can hold millions of vertices that no printed map shows)
    x0, y0, x1, y1 = z.total_bounds
    tol = max(x1 - x0, y1 - y0) / 2000.0
    outlines = z.boundary.simplify(tol, preserve_topology=False) if tol > 0 else z.boundary
    outlines.plot(ax=ax, color="#222222", linewidth=0.6, zorder=3)
    if not (labels and label_field and label_field in z.columns):
        return
    for _, row in z.iterrows():
        geom = row.geometry
        if geom.geom_type.startswith("Multi"):
            geom = max(geom.geoms, key=lambda g: g.area)
        p = geom.representative_point()
        ax.annotate(str(row[label_field]), (p.x, p.y), ha="center", va="center",
                    fontsize=fontsize, zorder=4, annotation_clip=True,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.75, "lw": 0})


def _footer(fig, credits: str, disclaimer: str, *, width_chars: int = 170, fontsize=6.5) -> None:
    lines = []
    if credits:
        lines += textwrap.wrap(credits, width_chars)
    if disclaimer:
        lines += textwrap.wrap(disclaimer, width_chars)
    if lines:
        fig.text(0.02, 0.012, "\n".join(lines), fontsize=fontsize, color="#333333",
                 va="bottom", ha="left", linespacing=1.3)


def _footer_height(credits: str, disclaimer: str, width_chars: int = 170) -> int:
    return len(textwrap.wrap(credits or "", width_chars)) + len(
        textwrap.wrap(disclaimer or "", width_chars))


def class_map(
    classes_path: Path,
    zones: gpd.GeoDataFrame,
    out: Path,
    *,
    title: str,
    hectares: dict[int, float],
    label_field: str | None = None,
    max_pixels: int = 2000,
    credits: str = "",
    disclaimer: str = "",
    class_labels: dict[int, str] | None = None,
    class_colours: dict[int, str] | None = None,
    subtitle: str = "",
    tr: dict | None = None,
    pdf: Path | None = None,
    dpi: int = 150,
    n_classes: int = 4,
) -> None:
    """The class map with zone outlines and names, a legend with hectares per class, scale
    bar, north arrow, coordinate grid, title, credits and disclaimer. Also writes ``pdf`` (a
    vector A4-landscape page with the same layout) when given. Codes above ``n_classes``
    (the scheme's classes; default FAO's four) are in the legend only where they hold land."""
    plt = _plt()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    labels = class_labels or SCHEMES["fao"].labels
    colours = class_colours or SCHEMES["fao"].colours
    tr = tr or {}
    arr, b, crs = _read(classes_path, max_pixels)
    codes = sorted(c for c in colours if c != OUTSIDE)
    lut = np.zeros(256, dtype=np.int16)
    for i, c in enumerate(codes):
        lut[c] = i
    cmap = ListedColormap([colours[c] for c in codes])
    mask = arr == OUTSIDE

    fig = plt.figure(figsize=(11.69, 8.27), dpi=dpi)
    foot = _footer_height(credits, disclaimer)
    bottom = 0.07 + 0.016 * foot
    ax = fig.add_axes((0.07, bottom, 0.64, 0.86 - bottom))
    ax.imshow(np.ma.array(lut[arr], mask=mask), cmap=cmap, vmin=-0.5, vmax=len(codes) - 0.5,
              extent=(b.left, b.right, b.bottom, b.top), interpolation="nearest", zorder=1)
    _zones(ax, zones, label_field)
    ax.set_xlim(b.left, b.right)
    ax.set_ylim(b.bottom, b.top)
    ax.set_aspect("equal" if not (crs and crs.is_geographic) else
                  1 / math.cos(math.radians((b.bottom + b.top) / 2)))
    ax.set_anchor("NW")
    _grid(ax, crs, tr)
    _scale_bar(ax, crs, b)
    _north_arrow(ax, tr.get("north", "N"))
    total = sum(v for c, v in hectares.items() if c != OUTSIDE)
    handles = []
    for c in codes:
        ha = hectares.get(c, 0.0)
        if c > n_classes and ha <= 0:
            continue
        share = f" ({ha / total:.1%})" if total else ""
        handles.append(Patch(facecolor=colours[c], edgecolor="#555555",
                             label=f"{labels.get(c, c)}\n{ha:,.0f} ha{share}"))
    lax = fig.add_axes((0.73, bottom, 0.25, 0.86 - bottom))
    lax.axis("off")
    lax.legend(handles=handles, loc="upper left", fontsize=8.5, frameon=False,
               title=tr.get("legend_class", "Class (hectares)"), title_fontsize=9.5,
               labelspacing=1.0, handleheight=1.6)
    lax.text(0.0, 0.0, (f"{tr.get('total_area', 'Total area')}: {total:,.0f} ha\n" if total
                        else "") + f"CRS: {_crs_name(crs)}",
             fontsize=8.5, transform=lax.transAxes, va="bottom", linespacing=1.5)
    fig.text(0.07, 0.955, title, fontsize=15, fontweight="bold", va="bottom")
    if subtitle:
        fig.text(0.07, 0.925, subtitle, fontsize=10, color="#333333", va="bottom")
    _footer(fig, credits, disclaimer)
    fig.savefig(out, dpi=dpi)
    if pdf is not None:
        fig.savefig(pdf)
    plt.close(fig)


def factors_map(
    scores: dict[str, Path],
    out: Path,
    *,
    title: str,
    zones: gpd.GeoDataFrame | None = None,
    factor_labels: dict[str, str] | None = None,
    credits: str = "",
    disclaimer: str = "",
    tr: dict | None = None,
    max_pixels: int = 800,
    dpi: int = 130,
) -> None:
    """Small multiples of the factor scores (0-1, red-yellow-green) with one colour bar."""
    plt = _plt()
    tr = tr or {}
    names = list(scores)
    n = max(1, len(names))
    ncols = min(4, n)
    nrows = math.ceil(n / ncols)
    foot = _footer_height(credits, disclaimer, 150)
    with rasterio.open(next(iter(scores.values()))) as ds:
        bb, gcrs = ds.bounds, ds.crs
    aspect = (bb.top - bb.bottom) / max(1e-12, bb.right - bb.left)
    if gcrs is not None and gcrs.is_geographic:
        aspect /= math.cos(math.radians((bb.bottom + bb.top) / 2))
    panel_h = 3.4 * min(1.6, max(0.4, aspect))
    fig_h = (panel_h + 0.45) * nrows + 1.0 + 0.14 * foot
    fig = plt.figure(figsize=(3.6 * ncols + 0.8, fig_h), dpi=dpi)
    top = 1 - 0.7 / fig_h
    bottom = (0.35 + 0.14 * foot) / fig_h
    gs = fig.add_gridspec(nrows, ncols, left=0.04, right=0.9, top=top, bottom=bottom,
                          hspace=0.25, wspace=0.12)
    im = None
    for i, f in enumerate(names):
        ax = fig.add_subplot(gs[i // ncols, i % ncols])
        arr, b, crs = _read(scores[f], max_pixels)
        im = ax.imshow(np.ma.masked_invalid(arr.astype("float32")), cmap="RdYlGn", vmin=0, vmax=1,
                       extent=(b.left, b.right, b.bottom, b.top), interpolation="nearest")
        _zones(ax, zones, None, labels=False)
        ax.set_xlim(b.left, b.right)
        ax.set_ylim(b.bottom, b.top)
        if crs and crs.is_geographic:
            ax.set_aspect(1 / math.cos(math.radians((b.bottom + b.top) / 2)))
        ax.set_title((factor_labels or {}).get(f, f), fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    if im is not None:
        cax = fig.add_axes((0.92, bottom + 0.1 * (top - bottom), 0.015, 0.8 * (top - bottom)))
        cb = fig.colorbar(im, cax=cax)
        cb.set_label(tr.get("score_legend", "Score (0 = not suitable, 1 = optimal)"), fontsize=8)
        cb.ax.tick_params(labelsize=7)
    fig.text(0.04, 1 - 0.35 / fig_h, title, fontsize=13, fontweight="bold", va="center")
    _footer(fig, credits, disclaimer, width_chars=150, fontsize=6)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def limiting_map(
    limiting_path: Path,
    out: Path,
    *,
    title: str,
    factor_codes: dict[int, str],
    hectares: dict[int, float] | None = None,
    zones: gpd.GeoDataFrame | None = None,
    label_field: str | None = None,
    factor_labels: dict[str, str] | None = None,
    credits: str = "",
    disclaimer: str = "",
    tr: dict | None = None,
    max_pixels: int = 2000,
    dpi: int = 130,
    classes_path: Path | None = None,
) -> None:
    """The limiting factor map: one colour per factor, legend with hectares. With
    ``classes_path`` (the run's ``classes.tif``), excluded land is drawn and listed as such,
    as the zone sums count it, rather than in the colour of the factor that would limit it."""
    plt = _plt()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    tr = tr or {}
    hectares = hectares or {}
    arr, b, crs = _read(limiting_path, max_pixels)
    codes = [0, *sorted(factor_codes), NODATA]
    if classes_path is not None:
        cls, _, _ = _read(classes_path, max_pixels)
        if cls.shape == arr.shape and (cls == EXCLUDED).any():
            arr = np.where(cls == EXCLUDED, EXCLUDED, arr).astype(arr.dtype)
            codes.insert(-1, EXCLUDED)
    lut = np.zeros(256, dtype=np.int16)
    for i, c in enumerate(codes):
        lut[c] = i
    cmap = ListedColormap([factor_colour(c) for c in codes])
    fig = plt.figure(figsize=(11.69, 8.27), dpi=dpi)
    foot = _footer_height(credits, disclaimer)
    bottom = 0.07 + 0.016 * foot
    ax = fig.add_axes((0.07, bottom, 0.64, 0.86 - bottom))
    ax.imshow(np.ma.array(lut[arr], mask=arr == OUTSIDE), cmap=cmap, vmin=-0.5,
              vmax=len(codes) - 0.5, extent=(b.left, b.right, b.bottom, b.top),
              interpolation="nearest")
    _zones(ax, zones, label_field)
    ax.set_xlim(b.left, b.right)
    ax.set_ylim(b.bottom, b.top)
    if crs and crs.is_geographic:
        ax.set_aspect(1 / math.cos(math.radians((b.bottom + b.top) / 2)))
    ax.set_anchor("NW")
    _grid(ax, crs, tr)
    _scale_bar(ax, crs, b)
    _north_arrow(ax, tr.get("north", "N"))
    present = set(np.unique(arr).tolist())
    handles = []
    for c in codes:
        if c not in present and hectares.get(c, 0) <= 0:
            continue
        name = (tr.get("none_limiting", "no limitation") if c == 0 else
                tr.get("no_data", "no data") if c == NODATA else
                tr.get("excluded", "excluded") if c == EXCLUDED else
                (factor_labels or {}).get(factor_codes[c], factor_codes[c]))
        ha = hectares.get(c)
        handles.append(Patch(facecolor=factor_colour(c), edgecolor="#555555",
                             label=f"{name}" + (f"\n{ha:,.0f} ha" if ha is not None else "")))
    lax = fig.add_axes((0.73, bottom, 0.25, 0.86 - bottom))
    lax.axis("off")
    lax.legend(handles=handles, loc="upper left", fontsize=8.5, frameon=False,
               title=tr.get("map_limiting", "Limiting factor"), title_fontsize=9.5,
               labelspacing=1.0, handleheight=1.6)
    lax.text(0.0, 0.0, f"CRS: {_crs_name(crs)}", fontsize=8.5, transform=lax.transAxes,
             va="bottom")
    fig.text(0.07, 0.955, title, fontsize=15, fontweight="bold", va="bottom")
    _footer(fig, credits, disclaimer)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
