"""Publishing the origin analysis: QGIS styles of its rasters, its figures and its report
section.

Reads only the run folder (the rasters, ``origin_reference.csv``, ``origin_background.csv``,
``origin.gpkg``) and the manifest's ``origin`` entry. Styles:

* ``similarity_*.tif`` and ``model_*.tif``: a sequential ramp on [0, 1];
* ``mess.tif``: a diverging ramp on [−100, 100] %, white at 0 (the edge of the origin's
  range of some variable), red below (novel), blue above;
* ``exdet_nt1.tif`` on [−1, 0] (0 = inside the univariate ranges) and ``exdet_nt2.tif`` on
  [0, 2] (1 = the most extreme combination of the reference);
* ``mess_variable.tif``, ``agreement.tif``, ``similar.tif``: paletted, with category names
  in the ``.aux.xml``.

Figures: ``origin_fingerprint.png`` (per variable, the origin's weighted distribution
against the AOI's), ``origin_maps.png`` (every surface, small multiples, with the origin),
``model_curves.png`` (response curves and permutation importance of each algorithm).
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from gies.io.outputs import AGREEMENT_COLOURS, SIMILAR_COLOURS
from gies.io.rasters import write_categories
from gies.methods.schemes import NODATA
from gies.publish import qgis
from gies.publish.maps import FACTOR_COLOURS

__all__ = ["origin_styles", "origin_figures", "origin_section", "origin_project_layers",
           "surface_files"]

#: Sequential ramp of similarity and model surfaces (viridis, 5 stops).
SEQUENTIAL = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]
#: Diverging ramp of MESS (RdBu, 5 stops, white at the centre).
DIVERGING = ["#ca0020", "#f4a582", "#f7f7f7", "#92c5de", "#0571b0"]


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def surface_files(out: Path) -> list[str]:
    """The origin's continuous rasters present in ``out``, in a stable order."""
    names = [p.name for p in sorted(out.glob("*.tif"))]
    order = ("similarity_", "mess.tif", "exdet_", "model_")
    return [n for pre in order for n in names if n.startswith(pre) and n != "mess_variable.tif"]


def _renderer(fname: str) -> str:
    if fname == "mess.tif":
        return qgis.pseudocolor_renderer(vmin=-100, vmax=100, colours=DIVERGING, labels={
            -100.0: "-100 novel", 0.0: "0 edge of the origin's range", 100.0: "100 median"})
    if fname == "exdet_nt1.tif":
        return qgis.pseudocolor_renderer(vmin=-1, vmax=0, colours=DIVERGING[:3], labels={
            -1.0: "-1 novel", 0.0: "0 inside the ranges"})
    if fname == "exdet_nt2.tif":
        return qgis.pseudocolor_renderer(vmin=0, vmax=2, colours=DIVERGING[::-1][:3] + [
            "#f4a582", "#ca0020"], labels={0.0: "0 centre", 1.0: "1 edge", 2.0: "2 novel"})
    return qgis.pseudocolor_renderer(vmin=0, vmax=1, colours=SEQUENTIAL,
                                     labels={0.0: "0 dissimilar", 1.0: "1 alike"})


def _categories(ctx: dict, tr: dict) -> dict[str, list[tuple[int, str, str]]]:
    o = (ctx.get("manifest") or {}).get("origin") or {}
    names = o.get("variables") or []
    out = {"mess_variable.tif": [(i + 1, FACTOR_COLOURS[i % len(FACTOR_COLOURS)], n)
                                 for i, n in enumerate(names)]
           + [(0, "#ffffff", tr["no_data"])]}
    out["agreement.tif"] = [(c, AGREEMENT_COLOURS[c], tr[f"agreement_{k}"])
                            for c, k in ((1, "both"), (2, "requirements_only"),
                                         (3, "similarity_only"), (4, "neither"))]
    out["agreement.tif"] += [(253, AGREEMENT_COLOURS[253], tr["excluded"]),
                             (NODATA, AGREEMENT_COLOURS[NODATA], tr["no_data"])]
    out["similar.tif"] = [(1, SIMILAR_COLOURS[1], tr["origin_similar"]),
                          (2, SIMILAR_COLOURS[2], tr["origin_not_similar"]),
                          (NODATA, SIMILAR_COLOURS[NODATA], tr["no_data"])]
    return out


def origin_styles(out: Path, ctx: dict, tr: dict) -> tuple[dict[str, str], list[str]]:
    """Write the ``.qml`` of every origin raster in ``out`` (and the category names of the
    code rasters); return the renderer XML per file and the files written."""
    renderers, written = {}, []
    for fname in surface_files(out):
        renderers[fname] = _renderer(fname)
    for fname, entries in _categories(ctx, tr).items():
        if (out / fname).is_file():
            renderers[fname] = qgis.paletted_renderer(entries)
            written.append(write_categories(out / fname, {c: n for c, _, n in entries},
                                            {c: col for c, col, _ in entries}).name)
    if (out / "origin.gpkg").is_file():
        from gies.io import gpkg

        rend, _ = _origin_style(out)
        gpkg.set_gpkg_default_style(out / "origin.gpkg", "origin", qgis.vector_qml(rend),
                                    name="gies origin", description=tr["origin_inside"])
        written.append("origin.gpkg")
    for fname, rend in renderers.items():
        qml = (out / fname).with_suffix(".qml")
        paletted = rend.startswith('<rasterrenderer type="paletted"')
        qml.write_text(qgis.raster_qml(rend, resampling="nearestNeighbour" if paletted
                                       else "bilinear"), encoding="utf-8")
        written.append(qml.name)
    return renderers, written


def origin_project_layers(out: Path, tr: dict, renderers: dict[str, str]) -> list:
    """The origin group of ``project.qgz``: the origin's features, the cut (visible) and
    every surface."""
    layers = []
    if (out / "origin.gpkg").is_file():
        style, (geom, kind) = _origin_style(out)
        layers.append(qgis.ProjectLayer(
            name=tr["origin_inside"], source="origin.gpkg", layer_name="origin", kind="vector",
            style=style, group=tr["group_origin"], wkb_type=geom.replace(" ", ""),
            geometry=kind, visible=True, id="origin_features"))
    for fname, vis in (("agreement.tif", True), ("similar.tif", True),
                       ("mess_variable.tif", False)):
        if (out / fname).is_file() and fname in renderers:
            name = {"agreement.tif": tr["agreement_title"], "similar.tif": tr["origin_similar"],
                    "mess_variable.tif": tr["most_dissimilar"]}[fname]
            layers.append(qgis.ProjectLayer(name=name, source=fname, kind="raster",
                                            style=renderers[fname], group=tr["group_origin"],
                                            visible=vis))
    for fname in surface_files(out):
        layers.append(qgis.ProjectLayer(name=fname[:-4], source=fname, kind="raster",
                                        style=renderers[fname], group=tr["group_origin"],
                                        visible=False))
    return layers


def _origin_style(out: Path) -> tuple[str, tuple[str, str]]:
    """The renderer of ``origin.gpkg`` (black outlines for polygons, dots for points) and
    its ``(geometry type, Point | Polygon)``."""
    import pyogrio

    geom = pyogrio.read_info(out / "origin.gpkg", layer="origin")["geometry_type"] or "Point"
    kind = "Point" if "Point" in geom else "Polygon"
    rend = qgis.outline_renderer("#000000", 0.8) if kind == "Polygon" else _point_renderer()
    return rend, (geom, kind)


def _point_renderer() -> str:
    return (
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
        '<symbols><symbol type="marker" name="0" alpha="1" clip_to_extent="1" '
        'force_rhr="0"><layer class="SimpleMarker" enabled="1" locked="0" pass="0">'
        '<Option type="Map"><Option name="color" type="QString" value="0,0,0,255"/>'
        '<Option name="name" type="QString" value="circle"/>'
        '<Option name="outline_color" type="QString" value="255,255,255,255"/>'
        '<Option name="size" type="QString" value="2"/></Option></layer></symbol></symbols>'
        "</renderer-v2>")


# -- figures ----------------------------------------------------------------------------------------
def _plt():
    from gies.publish.maps import _plt as plt

    return plt()


def _panels(n: int, cols: int, size: tuple[float, float]):
    """A figure of ``n`` panels in rows of ``cols`` (the spare ones hidden): ``(plt, fig,
    axes)`` with ``axes`` the ``n`` panels in order."""
    plt = _plt()
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig, grid = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    flat = [ax for row in grid for ax in row]
    for ax in flat[n:]:
        ax.axis("off")
    return plt, fig, flat[:n]


def _hist_weights(v: np.ndarray, w: np.ndarray, edges: np.ndarray) -> np.ndarray:
    h, _ = np.histogram(v, bins=edges, weights=w)
    total = h.sum()
    return h / total if total > 0 else h


def fingerprint_figure(out: Path, ref: pd.DataFrame, bg: pd.DataFrame, names: list[str],
                       tr: dict, path: Path) -> None:
    """Small histograms per variable: the origin's weighted distribution (filled) against
    the AOI's (outline), both as shares of their total weight."""
    plt, fig, axes = _panels(len(names), 4, (3.1, 2.3))
    for ax, name in zip(axes, names):
        a = bg[name].to_numpy(dtype=float)
        r = ref[name].to_numpy(dtype=float)
        lo, hi = np.nanmin(np.r_[a, r]), np.nanmax(np.r_[a, r])
        edges = np.linspace(lo, hi if hi > lo else lo + 1, 31)
        ha = _hist_weights(a, bg["weight_m2"].to_numpy(), edges)
        hr = _hist_weights(r, ref["weight_m2"].to_numpy(), edges)
        mid = (edges[:-1] + edges[1:]) / 2
        ax.bar(mid, hr, width=np.diff(edges), color="#1b9e77", alpha=0.75,
               label=tr["origin_inside"])
        ax.step(edges[:-1], ha, where="post", color="#333333", lw=1.2, label=tr["aoi_whole"])
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    axes[0].legend(fontsize=7, frameon=False)
    fig.suptitle(tr["origin_fingerprint"], fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


#: What the colour range of a surface means, in the small maps' titles.
_RANGE_NOTE = {"mess.tif": "%, < 0 novel", "exdet_nt1.tif": "<= 0, < 0 novel",
               "exdet_nt2.tif": "> 1 novel combination"}


def maps_figure(out: Path, files: list[str], zones, origin, tr: dict, path: Path,
                max_pixels: int = 600) -> None:
    """Every origin surface as a small map with the zones and the origin."""
    from gies.publish.maps import _read

    plt, fig, axes = _panels(len(files), 3, (4.2, 3.6))
    for ax, fname in zip(axes, files):
        arr, b, crs = _read(out / fname, max_pixels)
        arr = np.where(np.isfinite(arr), arr, np.nan)
        if fname == "mess.tif":
            kw = {"cmap": "RdBu", "vmin": -100, "vmax": 100}
        elif fname == "exdet_nt1.tif":
            kw = {"cmap": "Reds_r", "vmin": -1, "vmax": 0}
        elif fname == "exdet_nt2.tif":
            kw = {"cmap": "RdBu_r", "vmin": 0, "vmax": 2}
        else:
            kw = {"cmap": "viridis", "vmin": 0, "vmax": 1}
        im = ax.imshow(arr, extent=(b.left, b.right, b.bottom, b.top), interpolation="nearest",
                       **kw)
        if zones is not None:
            zones.boundary.plot(ax=ax, color="#555555", linewidth=0.3)
        if origin is not None:
            if origin.geom_type.isin(["Point", "MultiPoint"]).all():
                origin.plot(ax=ax, color="black", markersize=3)
            else:
                origin.boundary.plot(ax=ax, color="black", linewidth=0.8)
        ax.set_xlim(b.left, b.right)
        ax.set_ylim(b.bottom, b.top)
        if crs is not None and crs.is_geographic:
            ax.set_aspect(1 / math.cos(math.radians((b.bottom + b.top) / 2)))
        ax.set_title(f"{fname[:-4]} ({_RANGE_NOTE.get(fname, '0-1')})", fontsize=9)
        ax.tick_params(labelsize=6)
        fig.colorbar(im, ax=ax, shrink=0.75)
    fig.suptitle(tr["map_origin"], fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curves_figure(models: dict, names: list[str], tr: dict, path: Path) -> None:
    """Response curves (one panel per variable, a line per algorithm) and the permutation
    importance of each algorithm (bars)."""
    n = len(names)
    plt, fig, axes = _panels(n + 1, 4, (3.1, 2.4))
    colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"]
    for ax, name in zip(axes, names):
        for i, (alg, d) in enumerate(models.items()):
            g, r = d.get("response_curves", {}).get(name, ([], []))
            ax.plot(g, r, color=colours[i % 4], lw=1.4, label=alg)
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    ax = axes[n]
    width = 0.8 / max(len(models), 1)
    for i, (alg, d) in enumerate(models.items()):
        imp = d.get("importance", {})
        ax.barh(np.arange(n) + i * width, [imp.get(v, [0, 0])[0] for v in names], height=width,
                color=colours[i % 4], label=alg)
    ax.set_yticks(np.arange(n) + width * (len(models) - 1) / 2, [v.replace("_", " ")
                                                                  for v in names], fontsize=7)
    ax.set_title(tr["importance"], fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, frameon=False)
    fig.suptitle(tr["response_curves"], fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def origin_figures(out: Path, ctx: dict, tr: dict, zones) -> list[str]:
    """Write the origin's figures (module docstring); return their names."""
    o = (ctx.get("manifest") or {}).get("origin") or {}
    names = list(o.get("variables") or [])
    written = []
    ref_p, bg_p = out / "origin_reference.csv", out / "origin_background.csv"
    if names and ref_p.is_file() and bg_p.is_file():
        fingerprint_figure(out, pd.read_csv(ref_p), pd.read_csv(bg_p), names, tr,
                           out / "origin_fingerprint.png")
        written.append("origin_fingerprint.png")
    files = surface_files(out)
    if files:
        origin = None
        if (out / "origin.gpkg").is_file():
            import geopandas as gpd

            origin = gpd.read_file(out / "origin.gpkg", layer="origin")
        maps_figure(out, files, zones, origin, tr, out / "origin_maps.png")
        written.append("origin_maps.png")
    for fname in ("agreement.tif", "similar.tif"):
        if (out / fname).is_file():
            written.append(_cut_map(out, fname, ctx, tr, zones))
    models = (o.get("model") or {}).get("algorithms") or {}
    if models:
        curves_figure(models, names, tr, out / "model_curves.png")
        written.append("model_curves.png")
    return written


def _cut_map(out: Path, fname: str, ctx: dict, tr: dict, zones) -> str:
    """The agreement (or similarity cut) map, laid out as the class map, with hectares."""
    from gies.publish.maps import DEFAULT_DISCLAIMER, class_map

    entries = _categories(ctx, tr)[fname]
    prefix = "agreement" if fname == "agreement.tif" else "origin"
    codes = _AGREEMENT_KEYS if prefix == "agreement" else _SIMILAR_KEYS
    aoi = pd.read_csv(out / "aoi_summary.csv").iloc[0] if (out / "aoi_summary.csv").is_file() \
        else {}
    hectares = {c: float(aoi.get(f"{prefix}_{k}_ha", 0.0)) for c, k in codes.items()}
    cut = ((ctx.get("manifest") or {}).get("origin") or {}).get("agreement", {}).get("rule", "")
    title = tr["agreement_title"] if prefix == "agreement" else tr["origin_similar"].capitalize()
    png = out / fname.replace(".tif", ".png")
    label_field = (ctx.get("zones_layers") or [{}])[0].get("label_field")
    class_map(out / fname, zones, png, title=f"{title} – {ctx.get('title', '')}",
              subtitle=f"{tr['origin_cut']}: {cut}", hectares=hectares,
              label_field=label_field, credits=ctx.get("credits", ""),
              disclaimer=ctx.get("disclaimer", DEFAULT_DISCLAIMER),
              class_labels={c: n for c, _, n in entries},
              class_colours={c: col for c, col, _ in entries},
              n_classes=len([c for c in codes if c < 250]), tr=tr)
    return png.name


_AGREEMENT_KEYS = {1: "both", 2: "requirements_only", 3: "similarity_only", 4: "neither",
                   253: "excluded", NODATA: "nodata"}
_SIMILAR_KEYS = {1: "similar", 2: "not_similar", NODATA: "nodata"}


# -- report -----------------------------------------------------------------------------------------
def _num(v, digits: int = 3) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(f):
        return ""
    return f"{f:,.{digits}g}" if abs(f) >= 1000 else f"{f:.{digits}g}"


def origin_section(out: Path, ctx: dict, tr: dict, table, img) -> list[str]:
    """The report's origin section (HTML pieces): the reference sample, the fingerprint,
    the similarity methods and the cut, the agreement hectares, the models' metrics and
    figures. ``table(headers, rows, numeric)`` and ``img(path, alt)`` are the report's own
    helpers."""
    m = ctx.get("manifest") or {}
    o = m.get("origin")
    if not o:
        return []
    s = [f"<h2>{_e(tr['origin_title'])}</h2>", f"<p>{_e(tr['origin_intro'])}</p>"]
    ref = o.get("reference", {})
    s.append(f"<h3>{_e(tr['origin_reference'])}</h3>")
    if ref.get("kind") == "points":
        kv = [(tr["records"], ref.get("records")), (tr["distinct_cells"], ref.get("cells")),
              (tr["duplicates"], ref.get("duplicates")),
              ("outside the grid", len(ref.get("outside_grid", []))),
              ("outside the AOI", len(ref.get("outside_aoi", []))),
              ("on no data", len(ref.get("on_nodata", []))),
              ("on a cell edge", ref.get("on_cell_edge")),
              ("reference cells used", ref.get("rows"))]
        s.append(table(["", ""], [[_e(k), _e(v)] for k, v in kv], {1}))
        s.append(f'<p class="small">{_e(ref.get("edge_rule", ""))}</p>')
    else:
        kv = [(tr["cells_covered"], ref.get("cells")), ("sampled", ref.get("sampled")),
              ("on no data", ref.get("on_nodata_cells")),
              ("reference cells used", ref.get("rows"))]
        s.append(table(["", ""], [[_e(k), _e(v)] for k, v in kv], {1}))
    if ref.get("capped"):
        s.append(f'<p class="small">At most {ref.get("max_samples")} cells '
                 f'(origin.max_samples), drawn at random with seed {o.get("seed")}.</p>')
    fp = o.get("fingerprint") or []
    if fp:
        s.append(f"<h3>{_e(tr['origin_fingerprint'])}</h3>")
        qs = (5, 25, 50, 75, 95)
        rows = [[_e(r["variable"])] + [_num(r[f"origin_p{q}"], 4) for q in qs]
                + [_num(r[f"aoi_p{q}"], 4) for q in qs] for r in fp]
        heads = [tr["variable"]] + [f"{tr['origin_inside']} P{q}" for q in qs] + [
            f"{tr['aoi_whole']} P{q}" for q in qs]
        s.append(table(heads, rows, set(range(1, 11))))
        s.append(f'<p class="small">{_e(tr["origin_fingerprint_note"])}</p>')
        s.append(img(out / "origin_fingerprint.png", tr["origin_fingerprint"]))
    sim = o.get("similarity") or {}
    if sim:
        s.append(f"<h3>{_e(tr['origin_similarity'])}</h3>")
        from gies.methods.registry import SIMILARITY

        rows = [[_e(k), _e(SIMILARITY[k].summary if k in SIMILARITY else "")] for k in sim]
        s.append(table([tr["method"], ""], rows))
        ag = o.get("agreement") or {}
        if ag:
            s.append(f"<p><b>{_e(tr['origin_cut'])}</b>: {_e(ag.get('rule'))} "
                     f"<span class='small'>({_e(ag.get('how'))})</span></p>")
        aoi = out / "aoi_summary.csv"
        if aoi.is_file():
            a = pd.read_csv(aoi).iloc[0]
            prefix = "agreement" if (out / "agreement.tif").is_file() else "origin"
            keys = list((_AGREEMENT_KEYS if prefix == "agreement" else _SIMILAR_KEYS).values())
            label = {"similar": tr["origin_similar"], "not_similar": tr["origin_not_similar"],
                     "excluded": tr["excluded"], "nodata": tr["no_data"]}
            rows = [[_e(label.get(k) or tr.get(f"agreement_{k}", k)),
                     f"{float(a.get(f'{prefix}_{k}_ha', 0.0)):,.0f}",
                     f"{float(a.get(f'{prefix}_{k}_share', 0.0)):.1%}"]
                    for k in keys if f"{prefix}_{k}_ha" in a]
            if rows:
                if prefix == "agreement":
                    s.append(f"<h3>{_e(tr['agreement_title'])}</h3>")
                s.append(table([tr["class"], tr["hectares"], tr["share"]], rows, {1, 2}))
                s.append(img(out / ("agreement.png" if prefix == "agreement" else "similar.png"),
                             tr["agreement_title"]))
        s.append(img(out / "origin_maps.png", tr["map_origin"]))
    models = (o.get("model") or {}).get("algorithms") or {}
    if models:
        cv = o["model"].get("cv", {})
        s.append(f"<h3>{_e(tr['models_title'])}</h3>")
        s.append(f"<p>{_e(tr['models_note'])}</p>")
        size = cv.get("block_size")
        s.append(f"<p class='small'>{_e(cv.get('method'))}, {cv.get('folds')} folds"
                 + (f", blocks of {_num(size, 4)} (grid units; {_e(cv.get('block_size_rule', 'given'))})"
                    if size is not None else "")
                 + (f", buffer {cv.get('buffer')}" if cv.get("buffer") else "") + "</p>")
        rows = []
        for alg, d in models.items():
            for label, key in ((tr["cv_spatial"] if cv.get("method") == "spatial_blocks"
                                else tr["cv_random"], "cv"), (tr["cv_random"], "random_split_cv")):
                res = d.get(key) or {}
                mean, sd = res.get("mean") or {}, res.get("sd") or {}
                cells = [f"{_num(mean.get(k))} ± {_num(sd.get(k), 2)}" if k in mean else ""
                         for k in ("auc", "boyce", "tss", "omission")]
                rows.append([_e(alg), _e(label), *cells])
        s.append(table([tr["algorithm"], "CV", "AUC", "Boyce", "TSS", "omission (10 %)"],
                       rows, {2, 3, 4, 5}))
        s.append(img(out / "model_curves.png", tr["response_curves"]))
    return s
