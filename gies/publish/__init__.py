"""Publishing a run folder for people: QGIS styles, categories, project, maps and report.

:func:`publish` runs after the rasters, ``zone_stats.csv``, ``aoi_summary.csv`` and
``zones.gpkg`` are written and before ``manifest.json``. It reads only the files in the folder
and the ``context`` dict (keys in ``docs/qgis.md``), and writes:

* ``<raster>.qml`` beside every raster (auto-loaded by QGIS), ``classes.tif.aux.xml`` and
  ``limiting_factor.tif.aux.xml`` (GDAL category names + attribute table);
* the default style of each zones layer in ``zones.gpkg`` (GeoPackage 1.2 ``layer_styles``);
* ``project.qgz`` (groups Zones / Suitability / Factors, relative paths, AOI extent);
* ``map.png``, ``map.pdf``, ``factors.png``, ``limiting.png``;
* ``report.html`` (one self-contained file).

:func:`context_from_manifest` builds a context from a finished run's ``manifest.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from gies.methods.schemes import NODATA, OUTSIDE, SCHEMES, ClassScheme
from gies.io import gpkg
from gies.publish import qgis
from gies.publish.i18n import catalogue
from gies.publish.maps import DEFAULT_DISCLAIMER, class_map, factor_colour, factors_map, limiting_map
from gies.io.rasters import write_categories

__all__ = ["publish", "context_from_manifest", "raster_areas", "scheme_of", "suitable_of"]


def scheme_of(ctx: dict) -> ClassScheme:
    """The run's class scheme (``class_scheme``, default ``fao``) with its bounds
    (``class_thresholds``)."""
    scheme = SCHEMES[ctx.get("class_scheme") or "fao"]
    bounds = {k: v for k, v in (ctx.get("class_thresholds") or {}).items() if k in scheme.bounds}
    return scheme.with_bounds(bounds)


def suitable_of(ctx: dict, scheme: ClassScheme) -> tuple[str, ...]:
    """The classes counted as suitable land (``suitable_classes``, default the scheme's)."""
    return tuple(ctx.get("suitable_classes") or scheme.suitable)


def _class_key(scheme: ClassScheme, name: str) -> str:
    """The catalogue key of a class name: bare for ``fao`` and the shared codes, else
    ``<scheme>_<class>``."""
    return name if scheme.fao or name not in scheme.names else f"{scheme.name}_{name}"


def _class_labels(ctx: dict, tr: dict) -> dict[int, str]:
    scheme = scheme_of(ctx)
    base = {int(k): v for k, v in (ctx.get("class_labels") or scheme.labels).items()}
    if ctx.get("language", "en") != "en":
        keys = {c: _class_key(scheme, n) for c, n in scheme.table_codes.items()}
        base.update({c: tr[k] for c, k in keys.items() if k in tr})
    return base


def _factor_label(f: str, units: dict) -> str:
    return f.replace("_", " ")


def _zones_layers(ctx: dict) -> list[dict]:
    z = ctx.get("zones_layers") or ctx.get("zones_layer") or "zones"
    items = z if isinstance(z, list) else [z]
    out = []
    for it in items:
        d = {"layer": it} if isinstance(it, str) else dict(it)
        d.setdefault("id_field", ctx.get("zone_id_field"))
        d.setdefault("name_field", ctx.get("zone_name_field"))
        d.setdefault("label_field", ctx.get("zone_label_field") or d.get("name_field")
                     or d.get("id_field"))
        out.append(d)
    return out


def raster_areas(path: Path, *, block_rows: int = 1024, classify=None) -> dict[int, float]:
    """Hectares per pixel value of a single-band raster (true cell areas, pixel centres).

    ``classify``, if given, maps each block of values to integer codes first (for scores)."""
    from gies.area import cell_areas
    from gies.grid import Grid

    out: dict[int, float] = {}
    with rasterio.open(path) as ds:
        grid = Grid(ds.crs.to_wkt(), ds.transform, (ds.height, ds.width))
        for r0 in range(0, ds.height, block_rows):
            r1 = min(ds.height, r0 + block_rows)
            win = rasterio.windows.Window(0, r0, ds.width, r1 - r0)
            vals = ds.read(1, window=win)
            if classify is not None:
                vals = classify(vals)
            area = cell_areas(grid, slice(r0, r1)) / 10_000.0
            codes, inv = np.unique(vals, return_inverse=True)
            sums = np.bincount(inv.ravel(), weights=area.ravel())
            for c, s in zip(codes.tolist(), sums.tolist()):
                out[int(c)] = out.get(int(c), 0.0) + s
    return out


def _score_classes(scheme: ClassScheme):
    """Class codes of score values by ``scheme`` (:meth:`ClassScheme.classify`), NaN outside."""

    def f(v):
        out = scheme.classify(v)
        out[out == NODATA] = OUTSIDE
        return out

    return f


def _factor_classes(out: Path, ctx: dict) -> dict[str, dict[int, float]]:
    """Hectares per class of each factor alone over the AOI: from ``aoi_factor_class_areas.csv``
    when the run wrote it, else from the factor score rasters and the class thresholds."""
    tidy = out / "aoi_factor_class_areas.csv"
    scheme = scheme_of(ctx)
    codes = {n: scheme.code(n) for n in scheme.names} | {"excluded": 253, "nodata": NODATA,
                                                        "no data": NODATA}
    if tidy.is_file():
        t = pd.read_csv(tidy)
        res: dict[str, dict[int, float]] = {}
        for _, r in t.iterrows():
            c = codes.get(str(r["class"]))
            if c is not None:
                res.setdefault(str(r["factor"]), {})[c] = float(r["hectares"])
        return res
    res = {}
    for f, fname in (ctx.get("factor_scores_files") or {}).items():
        if (out / fname).is_file():
            res[f] = raster_areas(out / fname, classify=_score_classes(scheme))
    return res


# ---------------------------------------------------------------------------------------------


def _styles(out: Path, ctx: dict, tr: dict, labels: dict[int, str]) -> tuple[dict, list[str]]:
    """Write the .qml sidecars and category names; return renderer XML per raster file."""
    written: list[str] = []
    scheme = scheme_of(ctx)
    colours = {int(k): v for k, v in (ctx.get("class_colours") or scheme.colours).items()}
    fcodes = {int(k): v for k, v in ctx["factor_codes"].items()}
    renderers: dict[str, str] = {}
    class_entries = [(c, colours[c], labels[c]) for c in sorted(labels) if c != OUTSIDE]
    renderers["classes.tif"] = qgis.paletted_renderer(class_entries)
    lim_names = {0: tr["none_limiting"], **{c: _factor_label(f, {}) for c, f in fcodes.items()},
                 NODATA: tr["no_data"]}
    renderers["limiting_factor.tif"] = qgis.paletted_renderer(
        [(c, factor_colour(c), n) for c, n in sorted(lim_names.items())])
    score_labels = {0.0: f"0 {labels[len(scheme.classes)]}", 1.0: "1 optimal" if ctx.get("language", "en") == "en"
                    else "1 optimal"}
    pseudo = qgis.pseudocolor_renderer(labels=score_labels)
    renderers["suitability.tif"] = pseudo
    for f, fname in (ctx.get("factor_scores_files") or {}).items():
        renderers[fname] = pseudo
    renderers["classes_potential.tif"] = renderers["classes.tif"]
    extra_names = _extra_categories(ctx, tr, labels, colours)
    for fname, entries in extra_names.items():
        renderers[fname] = qgis.paletted_renderer(entries)
    for fname, rend in renderers.items():
        tif = out / fname
        if not tif.is_file():
            continue
        qml = tif.with_suffix(".qml")
        resampling = "nearestNeighbour" if rend.startswith('<rasterrenderer type="paletted"') \
            else "bilinear"
        qml.write_text(qgis.raster_qml(rend, resampling=resampling), encoding="utf-8")
        written.append(qml.name)
    written.append(write_categories(out / "classes.tif",
                                    {c: n for c, n in labels.items() if c != OUTSIDE},
                                    colours).name)
    written.append(write_categories(out / "limiting_factor.tif", lim_names,
                                    {c: factor_colour(c) for c in lim_names}).name)
    if (out / "classes_potential.tif").is_file():
        written.append(write_categories(out / "classes_potential.tif",
                                        {c: n for c, n in labels.items() if c != OUTSIDE},
                                        colours).name)
    for fname, entries in extra_names.items():
        if (out / fname).is_file():
            written.append(write_categories(out / fname, {c: n for c, _, n in entries},
                                            {c: col for c, col, _ in entries}).name)
    return renderers, written


def _extra_categories(ctx: dict, tr: dict, labels: dict, colours: dict) -> dict[str, list]:
    """Paletted entries (code, colour, label) of the optional categorical outputs."""
    m = ctx.get("manifest") or {}
    out: dict[str, list] = {}
    sub = {int(k): v for k, v in (m.get("subclass_codes") or {}).items()}
    if sub:
        entries = []
        for code, name in sorted(sub.items()):
            cls = 4 if name.startswith("N") else int(name[1]) if name[:1] == "S" and name[1:2].isdigit() else 0
            colour = colours.get(cls, "#bdbdbd")
            entries.append((code, colour, name))
        entries.append((NODATA, colours.get(NODATA, "#bdbdbd"), tr["no_data"]))
        out["subclasses.tif"] = entries
        greys = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
                 "#bd0026", "#800026"]
        n = len(ctx.get("factors") or ctx.get("factor_codes") or {})
        out["n_limiting.tif"] = [(i, greys[min(i, len(greys) - 1)], str(i)) for i in range(n + 1)]
        out["n_limiting.tif"].append((NODATA, colours.get(NODATA, "#bdbdbd"), tr["no_data"]))
    if m.get("combination", {}).get("seasonal"):
        import colorsys

        entries = [(0, "#bdbdbd", tr["no_season"])]
        for i, name in enumerate(tr["months"]):
            r, g, b = colorsys.hsv_to_rgb(i / 12, 0.65, 0.9)
            entries.append((i + 1, f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}", name))
        entries.append((NODATA, colours.get(NODATA, "#bdbdbd"), tr["no_data"]))
        out["best_start_month.tif"] = entries
    return out


def _zones_style(ctx: dict, tr: dict, label_field: str | None) -> tuple[str, str]:
    """The zones' default style: graded by the suitable share (by the share similar to the
    origin in a pipeline without requirements)."""
    cols = qgis.RDYLGN
    ranges = [(i / 5, (i + 1) / 5, cols[i], f"{i * 20} – {(i + 1) * 20} %") for i in range(5)]
    attr = "suitable_share" if ctx.get("requirements", True) else "origin_similar_share"
    rend = qgis.graduated_renderer(attr, ranges)
    lab = qgis.simple_labeling(label_field) if label_field else ""
    return rend, lab


def _gpkg(out: Path, ctx: dict, tr: dict) -> tuple[list[dict], list[str]]:
    """GeoPackage 1.2 with a default style per zones layer; returns layer descriptions."""
    import geopandas as gpd
    import pyogrio

    path = out / "zones.gpkg"
    if not path.is_file():
        return [], []
    layers = _zones_layers(ctx)
    present = [n for n, _ in pyogrio.list_layers(path)]
    layers = [lyr for lyr in layers if lyr["layer"] in present]
    if gpkg.gpkg_version(path) != 10200:
        # written before write_gpkg was wired in: rewrite every layer as GeoPackage 1.2
        frames = {n: gpd.read_file(path, layer=n) for n in present}
        path.unlink()
        for name, gdf in frames.items():
            gpkg.write_gpkg(gdf, path, name)
    info = {n: g for n, g in pyogrio.list_layers(path)}
    for lyr in layers:
        rend, lab = _zones_style(ctx, tr, lyr.get("label_field"))
        lyr["style"] = rend + lab
        lyr["geometry_type"] = info.get(lyr["layer"]) or "MultiPolygon"
        gpkg.set_gpkg_default_style(path, lyr["layer"], qgis.vector_qml(rend, lab),
                                    name=f"gies {lyr['layer']}",
                                    description=_share_legend(ctx, tr))
    return layers, [path.name]


def _share_legend(ctx: dict, tr: dict) -> str:
    return tr["suitable_share_legend"] if ctx.get("requirements", True) else \
        f"{tr['share']}: {tr['origin_similar']}"


def _project(out: Path, ctx: dict, tr: dict, renderers: dict, zlayers: list[dict]) -> str:
    # Zones on top: outlines with names (visible, so the class map shows through), then the
    # graduated suitable-share style of zones.gpkg (unchecked)
    labels = []
    for i, z in enumerate(zlayers):
        wkb = z["geometry_type"].replace(" ", "")
        geom = "Polygon" if "Polygon" in wkb else "Line" if "Line" in wkb else "Point"
        lab = qgis.simple_labeling(z["label_field"]) if z.get("label_field") else ""
        labels.append(qgis.ProjectLayer(
            name=z["layer"], source="zones.gpkg", layer_name=z["layer"], kind="vector",
            style=qgis.outline_renderer() + lab, group=tr["group_zones"], labels=bool(lab),
            wkb_type=wkb, geometry=geom, visible=i == 0, id=f"{z['layer']}_outline"))
        labels.append(qgis.ProjectLayer(
            name=f"{z['layer']}: {_share_legend(ctx, tr)}", source="zones.gpkg",
            layer_name=z["layer"], kind="vector", style=z["style"], group=tr["group_zones"],
            labels=bool(lab), wkb_type=wkb, geometry=geom, visible=False,
            id=f"{z['layer']}_suitable_share"))
    layers = labels
    suit = [("classes.tif", tr["map_classes"], True),
            ("classes_potential.tif", tr["map_potential"], False),
            ("subclasses.tif", tr["map_subclasses"], False),
            ("n_limiting.tif", tr["map_n_limiting"], False),
            ("best_start_month.tif", tr["map_best_month"], False),
            ("limiting_factor.tif", tr["map_limiting"], False),
            ("suitability.tif", tr["score_legend"].split(" (")[0], False)]
    for fname, name, vis in suit:
        if (out / fname).is_file() and fname in renderers:
            layers.append(qgis.ProjectLayer(name=name, source=fname, kind="raster",
                                            style=renderers[fname], group=tr["group_suitability"],
                                            visible=vis))
    for f, fname in (ctx.get("factor_scores_files") or {}).items():
        if (out / fname).is_file():
            layers.append(qgis.ProjectLayer(name=_factor_label(f, {}), source=fname,
                                            kind="raster", style=renderers[fname],
                                            group=tr["group_factors"], visible=False))
    from gies.publish.origin import origin_project_layers

    origin = origin_project_layers(out, tr, renderers)
    layers += origin
    groups = [tr["group_zones"]] + ([tr["group_origin"]] if origin else [])
    if ctx.get("requirements", True):
        groups += [tr["group_suitability"], tr["group_factors"]]
    qgis.write_project(out / "project.qgz", layers, title=ctx.get("title", ""),
                       crs_wkt=ctx["crs"], extent=tuple(ctx["aoi_bounds"]), groups=groups)
    return "project.qgz"


def _credits(ctx: dict, tr: dict) -> str:
    parts = []
    if ctx.get("sources"):
        parts.append(f"{tr['data']}: {ctx['sources']}")
    if ctx.get("licences"):
        parts.append(f"{tr['licences']}: {ctx['licences']}")
    if ctx.get("limit_source"):
        src = ctx["limit_source"]
        src = src if len(src) <= 140 else src[:src.rfind(" ", 0, 140)] + " …"
        parts.append(f"{tr['credits_limits']}: {src}")
    parts.append(tr["made_with"] + ".")
    return " ".join(p if p.endswith((".", "…")) else p + "." for p in parts)


def publish(out_dir: Path, context: dict) -> list[str]:
    """Write the QGIS styles, project, maps and report of a run folder; return the names of
    the files written (relative to ``out_dir``)."""
    out = Path(out_dir)
    ctx = dict(context)
    scheme = scheme_of(ctx)
    suitable = " + ".join(suitable_of(ctx, scheme))
    tr = catalogue(ctx.get("language", "en"))
    tr = {**tr, **{k: tr[k].format(classes=suitable)
                   for k in ("suitable_area", "suitable_share_legend")}}
    labels = _class_labels(ctx, tr)
    written: list[str] = []
    requirements = ctx.get("requirements", True)
    from gies.publish.origin import origin_figures, origin_styles

    renderers, w = _styles(out, ctx, tr, labels) if requirements else ({}, [])
    written += w
    orenderers, w = origin_styles(out, ctx, tr)
    renderers.update(orenderers)
    written += w
    zlayers, w = _gpkg(out, ctx, tr)
    written += w
    written.append(_project(out, ctx, tr, renderers, zlayers))

    import geopandas as gpd

    zones, label_field = None, None
    if zlayers:
        zones = gpd.read_file(out / "zones.gpkg", layer=zlayers[0]["layer"])
        label_field = zlayers[0].get("label_field")
    ctx.setdefault("credits", _credits(ctx, tr))
    written += origin_figures(out, ctx, tr, zones)
    if requirements:
        written += _requirement_maps(out, ctx, tr, labels, zones, label_field)

    from gies.publish.report import write_report

    tables = []
    for z in zlayers or [{"layer": "zones"}]:
        for cand in (f"zone_stats_{z['layer']}.csv", "zone_stats.csv"):
            if (out / cand).is_file():
                tables.append((z["layer"], out / cand))
                break
    ctx["zone_tables"] = tables
    ctx["files"] = sorted(set(written) | {p.name for p in out.iterdir() if p.is_file()}
                          | {"report.html", "manifest.json"})
    write_report(out, ctx, tr, labels)
    written.append("report.html")
    return written


def _limiting_hectares(out: Path) -> dict[int, float]:
    """Hectares of the AOI per limiting code (0 none, factors or groups, 253 excluded, 254 no
    data) from the coverage-weighted zone sums (``aoi_class_areas.csv``, ``kind =
    limiting``), the sums every other area of the run comes from; from the raster's whole
    cells (:func:`raster_areas`) only for a run folder written before those rows existed."""
    path = out / "aoi_class_areas.csv"
    if path.is_file():
        t = pd.read_csv(path)
        t = t[t["kind"] == "limiting"]
        if len(t):
            return {int(c): float(h) for c, h in zip(t["class_code"], t["hectares"])}
    return {c: v for c, v in raster_areas(out / "limiting_factor.tif").items() if c != OUTSIDE}


def _requirement_maps(out: Path, ctx: dict, tr: dict, labels, zones, label_field) -> list[str]:
    """The class map, factor scores and limiting-factor maps (and the statistics the report
    takes from their rasters)."""
    written = []
    scheme = scheme_of(ctx)
    fcodes = {int(k): v for k, v in ctx["factor_codes"].items()}
    ctx.setdefault("limiting_hectares", _limiting_hectares(out))
    lim_ha = {int(k): float(v) for k, v in ctx["limiting_hectares"].items()}
    ctx.setdefault("factor_class_hectares", _factor_classes(out, ctx))
    credits = _credits(ctx, tr)
    disclaimer = ctx.get("disclaimer", DEFAULT_DISCLAIMER)
    hectares = {int(k): float(v) for k, v in (ctx.get("hectares") or {}).items()}
    title = ctx.get("title", "")
    product = ctx.get("product", "")
    subtitle = f"{tr['method']}: {ctx.get('method', '')}".replace("_", " ")
    map_title = f"{product[:1].upper()}{product[1:]} – {title}" if product else title
    class_map(out / "classes.tif", zones, out / "map.png", title=map_title, subtitle=subtitle,
              hectares=hectares, label_field=label_field, credits=credits,
              disclaimer=disclaimer, class_labels=labels,
              class_colours={int(k): v for k, v in (ctx.get("class_colours") or scheme.colours).items()},
              n_classes=len(scheme.classes), tr=tr, pdf=out / "map.pdf")
    written += ["map.png", "map.pdf"]
    scores = {f: out / fn for f, fn in (ctx.get("factor_scores_files") or {}).items()
              if (out / fn).is_file()}
    if scores:
        factors_map(scores, out / "factors.png", title=f"{map_title}: {tr['map_factors']}",
                    zones=zones, factor_labels={f: _factor_label(f, {}) for f in scores},
                    credits=credits, disclaimer=disclaimer, tr=tr)
        written.append("factors.png")
    limiting_map(out / "limiting_factor.tif", out / "limiting.png",
                 title=f"{map_title}: {tr['map_limiting']}", factor_codes=fcodes,
                 hectares=lim_ha, zones=zones, label_field=label_field,
                 factor_labels={f: _factor_label(f, {}) for f in fcodes.values()},
                 credits=credits, disclaimer=disclaimer, tr=tr,
                 classes_path=out / "classes.tif")
    written.append("limiting.png")
    return written


# ---------------------------------------------------------------------------------------------


def context_from_manifest(out_dir: Path, manifest: dict | None = None, *,
                          language: str = "en") -> dict:
    """A :func:`publish` context rebuilt from a finished run's ``manifest.json`` and tables."""
    out = Path(out_dir)
    m = manifest or json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    cfg = m["config"]
    prod = m["product"]
    fcodes = {int(k): v for k, v in m["factor_codes"].items()}
    # the limiting codes name groups with the grouped rule: the factors are those used
    factors = list(m.get("factors_used") or fcodes.values())
    aoi = pd.read_csv(out / "aoi_summary.csv")
    scheme = SCHEMES[m["class_scheme"].get("name", "fao")]
    requirements = bool(prod)
    ha = {code: float(aoi[f"{col}_ha"].iloc[0]) for code, col in scheme.table_codes.items()
          if code != OUTSIDE and f"{col}_ha" in aoi}
    first_raster = out / "classes.tif" if requirements else sorted(out.glob("*.tif"))[0]
    with rasterio.open(first_raster) as ds:
        crs = ds.crs.to_wkt()
        b = ds.bounds
    zcfg = cfg.get("zones", {})
    if "path" in zcfg:  # one zones layer (format before several layers were allowed)
        zcfg = {"zones": zcfg}
    try:
        import geopandas as gpd

        first = next(iter(zcfg), None)
        bounds = tuple(gpd.read_file(out / "zones.gpkg", layer=first).total_bounds.tolist())
        if not np.all(np.isfinite(bounds)):
            raise ValueError
    except Exception:
        bounds = (b.left, b.bottom, b.right, b.top)
    layers = cfg.get("layers", {})
    used_layers = {cfg["factors"][f]["layer"] for f in factors if f in cfg.get("factors", {})}
    seasonal = cfg.get("seasonal") or {}
    used_layers |= {seasonal[k] for k in ("tavg", "prec", "tmin") if seasonal.get(k)}
    used_layers |= set((cfg.get("origin") or {}).get("variables") or [])
    srcs = sorted({layers[n]["source"] for n in used_layers if layers[n].get("source")})
    limit_set = prod.get("limit_set")
    rule = cfg.get("combine", {}).get("rule")
    origin = m.get("origin") or {}
    method = f"{limit_set} ({prod.get('method')}), {rule}" if requirements else ", ".join(
        list(origin.get("similarity") or {}) + list((origin.get("model") or {}).get(
            "algorithms") or {}))
    return {
        "requirements": requirements,
        "title": cfg.get("title") or cfg.get("name"),
        "product": prod.get("product") or "",
        "species": prod.get("species") or "",
        "country": cfg.get("country", ""),
        "method": method,
        "language": language,
        "class_codes": {int(k): v for k, v in m["class_codes"].items()},
        "class_scheme": scheme.name,
        "suitable_classes": list(cfg.get("zonal", {}).get("suitable") or scheme.suitable),
        "class_labels": dict(scheme.labels),
        "class_colours": dict(scheme.colours),
        "class_thresholds": {k: m["class_scheme"][k] for k in scheme.bounds},
        "factor_codes": fcodes,
        "factors": factors,
        "factor_units": {f: layers.get(cfg["factors"][f]["layer"], {}).get("units", "")
                         for f in factors if f in cfg.get("factors", {})},
        "factor_scores_files": {f: f"score_{f}.tif" for f in factors},
        "zones_layers": [{"layer": n, "id_field": z.get("id_field"),
                          "name_field": z.get("name_field"),
                          "label_field": z.get("name_field") or z.get("id_field")}
                         for n, z in zcfg.items()],
        "aoi_bounds": bounds,
        "crs": crs,
        "warnings": list(m.get("warnings", [])),
        "sources": "; ".join(srcs),
        "limit_source": prod.get("source", ""),
        "licences": "",
        "disclaimer": DEFAULT_DISCLAIMER,
        "hectares": ha,
        "manifest": m,
        "versions": m.get("versions", {}),
    }


