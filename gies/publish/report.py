"""``report.html``: one self-contained page (images as base64) that can be e-mailed.

Texts come from the translation catalogue (:mod:`gies.publish.i18n`); the data from the run folder's
tables and images and the :func:`gies.publish.publish` context.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from gies.methods.schemes import EXCLUDED, NODATA, OUTSIDE
from gies.publish.maps import factor_colour

__all__ = ["write_report"]

_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#222;max-width:1100px;
margin:0 auto;padding:16px 28px;line-height:1.4;font-size:14px}
h1{font-size:24px;margin:8px 0 2px}h2{font-size:18px;border-bottom:2px solid #1a9641;
padding-bottom:3px;margin-top:28px}h3{font-size:15px;margin:14px 0 6px}
.sub{color:#555;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td:first-child{white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.sw{display:inline-block;width:12px;height:12px;border:1px solid #666;margin-right:6px;
vertical-align:middle}
img{max-width:100%;border:1px solid #ddd;margin:6px 0}
.bar{height:14px;display:inline-block;vertical-align:middle;border:1px solid #555}
.warn{background:#fff4e5;border-left:4px solid #ff9800;padding:6px 10px;margin:4px 0;
font-size:13px}
.small{font-size:12px;color:#555}.mono{font-family:"DejaVu Sans Mono",monospace;font-size:12px}
.kv td:first-child{font-weight:bold;background:#fafafa;width:220px}
@media print{h2{page-break-after:avoid}img{page-break-inside:avoid}}
"""


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _img(path: Path, alt: str) -> str:
    if not path.is_file():
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _ha(v) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v:,.0f}"


def _pct(v) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(v) else f"{v:.1%}"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset(),
           cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                         for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _limits_text(v) -> str:
    if isinstance(v, dict):
        return "; ".join(f"{k}: {', '.join(map(str, r)) if isinstance(r, list) else r}"
                         for k, r in v.items())
    if isinstance(v, list):
        return "[" + ", ".join("–" if x is None else f"{x:g}" if isinstance(x, (int, float))
                               else str(x) for x in v) + "]"
    return str(v)


def write_report(out: Path, ctx: dict, tr: dict, labels: dict[int, str]) -> Path:
    """Write ``report.html`` in ``out``."""
    m = ctx.get("manifest") or {}
    cfg = m.get("config", {})
    prod = m.get("product", {})
    from gies.publish import scheme_of, suitable_of

    cs = scheme_of(ctx)
    names = cs.names
    suit_names = suitable_of(ctx, cs)
    suit_codes = [cs.code(n) for n in suit_names]
    colours = {int(k): v for k, v in (ctx.get("class_colours") or cs.colours).items()}
    fcodes = {int(k): v for k, v in ctx["factor_codes"].items()}
    hectares = {int(k): float(v) for k, v in (ctx.get("hectares") or {}).items()}
    total = sum(v for c, v in hectares.items() if c != OUTSIDE)
    suitable = sum(hectares.get(c, 0.0) for c in suit_codes)
    bounds_text = ", ".join(f"{k} ≥ {v}" for k, v in cs.bounds.items())
    s: list[str] = []
    title = ctx.get("title", "")
    product = ctx.get("product", "")
    if not ctx.get("requirements", True):
        return _write(out, ctx, tr, product, title, _origin_only(out, ctx, tr, m, title))
    s.append(f"<h1>{_e(tr['report_title'])}: {_e(product)}</h1>")
    s.append(f'<p class="sub">{_e(title)} · {_e(ctx.get("country", ""))} · '
             f'{_e(tr["generated"])} {_e(m.get("created", ""))}</p>')

    # summary
    s.append(f"<h2>{_e(tr['summary'])}</h2>")
    rule = cfg.get("combine", {}).get("rule", "")
    rule_txt = tr.get(f"{rule}_rule", rule)
    scheme = m.get("class_scheme", {})
    kv = [
        (tr["product"], product),
        (tr["species"], ctx.get("species") or ""),
        (tr["country"], ctx.get("country", "")),
        (tr["area_of_interest"], title),
        (tr["method"], ctx.get("method", "")),
        (tr["total_area"], f"{_ha(total)} ha"),
        (tr["suitable_area"], f"{_ha(suitable)} ha ({_pct(suitable / total) if total else ''})"),
    ]
    s.append(_table(["", ""], [[_e(k), _e(v)] for k, v in kv if v], cls="kv")
             .replace("<thead><tr><th></th><th></th></tr></thead>", ""))
    rows = []
    for c in sorted(labels):
        if c == OUTSIDE or (c > len(names) and hectares.get(c, 0) <= 0):
            continue
        ha = hectares.get(c, 0.0)
        rows.append([f'<span class="sw" style="background:{colours.get(c, "#fff")}"></span>'
                     f"{_e(labels[c])}", _ha(ha), _pct(ha / total) if total else ""])
    s.append(_table([tr["class"], tr["hectares"], tr["share"]], rows, {1, 2}))

    # maps
    s.append(f"<h2>{_e(tr['maps'])}</h2>")
    for fname, key in (("map.png", "map_classes"), ("factors.png", "map_factors"),
                       ("limiting.png", "map_limiting")):
        img = _img(out / fname, tr[key])
        if img:
            s.append(f"<h3>{_e(tr[key])}</h3>{img}")

    # zones
    tables = ctx.get("zone_tables") or ([("zones", out / "zone_stats.csv")]
                                        if (out / "zone_stats.csv").is_file() else [])
    for layer, zs_path in tables:
        z = pd.read_csv(zs_path, dtype={"zone_id": str})
        z = z.sort_values(["suitable_ha", "area_ha"], ascending=False, kind="stable")
        s.append(f"<h2>{_e(tr['zones'])}: {_e(layer)}</h2>")
        rows = []
        for _, r in z.iterrows():
            empty = bool(r.get("empty", False)) and str(r.get("empty")) != "False"
            rows.append([_e(r["zone_id"]), _e(r.get("zone_name", "")), _ha(r["area_ha"]),
                         *[_ha(r[f"{k}_ha"]) for k in cs.keys],
                         _ha(r["suitable_ha"]), _pct(r["suitable_share"]),
                         "" if pd.isna(r["score_mean"]) else f"{r['score_mean']:.2f}",
                         _e(tr["empty_zone"]) if empty else _e(
                             "" if pd.isna(r["limiting_dominant"]) else r["limiting_dominant"])])
        s.append(_table(["ID", tr["zone"], f"{tr['total_area']} (ha)",
                         *[f"{n} (ha)" for n in names], f"{tr['suitable_area']} (ha)",
                         tr["share"], tr["score_mean"], tr["limiting_dominant"]], rows,
                        set(range(2, len(names) + 6))))

    from gies.publish.origin import origin_section

    s += origin_section(out, ctx, tr, _table, _img)

    # factor x class
    fch = ctx.get("factor_class_hectares") or {}
    if fch:
        s.append(f"<h2>{_e(tr['factor_classes'])}</h2>")
        rows = []
        for f, d in fch.items():
            tot = sum(v for c, v in d.items() if c != OUTSIDE)
            rows.append([_e(f.replace("_", " "))]
                        + [_ha(d.get(c, 0.0)) for c in range(1, len(names) + 1)]
                        + [_pct(sum(d.get(c, 0) for c in suit_codes) / tot) if tot else ""])
        s.append(_table([tr["factor"], *names, f"{' + '.join(suit_names)} ({tr['share']})"],
                        rows, set(range(1, len(names) + 2))))
        s.append(f'<p class="small">{_e(tr["thresholds"])}: {_e(bounds_text)}</p>')

    # limiting chart
    lim = {int(k): float(v) for k, v in (ctx.get("limiting_hectares") or {}).items()}
    if lim:
        s.append(f"<h2>{_e(tr['limiting_chart'])}</h2>")
        top = max(lim.values()) or 1.0
        ltot = sum(lim.values()) or 1.0
        rows = []
        for c, ha in sorted(lim.items(), key=lambda kv: -kv[1]):
            if ha == 0 and c in (EXCLUDED, NODATA):
                continue
            name = (tr["none_limiting"] if c == 0 else tr["no_data"] if c == NODATA
                    else tr["excluded"] if c == EXCLUDED
                    else fcodes.get(c, str(c)).replace("_", " "))
            w = max(1, int(400 * ha / top))
            rows.append([f'<span class="sw" style="background:{factor_colour(c)}"></span>{_e(name)}',
                         f'<span class="bar" style="width:{w}px;background:{factor_colour(c)}">'
                         "</span>", _ha(ha), _pct(ha / ltot)])
        s.append(_table([tr["factor"], "", tr["hectares"], tr["share"]], rows, {2, 3}))

    # method
    s.append(f"<h2>{_e(tr['method'])}</h2>")
    meth = prod.get("method", "")
    s.append(f"<p><b>{_e(tr['limit_set'])}</b>: {_e(prod.get('limit_set', ''))} "
             f"({_e(meth)}). {_e(tr.get(f'{meth}_method', ''))}</p>")
    s.append(f"<p><b>{_e(tr['combine_rule'])}</b>: {_e(rule_txt)}</p>")
    s.append(f"<p><b>{_e(tr['class_scheme'])}</b>: {_e(scheme.get('name', ''))}, "
             f"{_e(bounds_text)}. <span class='small'>{_e(scheme.get('reference', ''))}"
             "</span></p>")
    if prod.get("source") or ctx.get("limit_source"):
        s.append(f"<p><b>{_e(tr['source'])}</b>: {_e(prod.get('source') or ctx.get('limit_source'))}</p>")
    limits = prod.get("limits_used") or {}
    if limits:
        units = ctx.get("factor_units") or {}
        rows = [[_e(f.replace("_", " ")), _e(units.get(f, "")), _e(_limits_text(v))]
                for f, v in limits.items()]
        s.append(f"<h3>{_e(tr['limits'])}</h3>")
        s.append(_table([tr["factor"], tr["units"], tr["limits"]], rows))
    weights = cfg.get("combine", {}).get("weights") or m.get("weights")
    if weights:
        s.append(f"<h3>{_e(tr['weights'])}</h3>")
        s.append(_table([tr["factor"], tr["weights"]],
                        [[_e(k), f"{float(v):.3f}"] for k, v in weights.items()], {1}))
    ahp = m.get("ahp") or cfg.get("combine", {}).get("ahp")
    if isinstance(ahp, dict) and ahp.get("consistency_ratio") is not None:
        s.append(f"<p><b>{_e(tr['ahp_consistency'])}</b>: {float(ahp['consistency_ratio']):.3f}</p>")

    s += _provenance(ctx, tr, m, cfg)
    return _write(out, ctx, tr, product, title, s)


def _origin_only(out: Path, ctx: dict, tr: dict, m: dict, title: str) -> list[str]:
    """The report of a pipeline without requirements: the origin analysis alone."""
    from gies.publish.origin import origin_section

    sub = " · ".join(x for x in (_e(ctx.get("country", "")),
                                 f'{_e(tr["generated"])} {_e(m.get("created", ""))}') if x)
    s = [f"<h1>{_e(tr['origin_title'])}: {_e(title)}</h1>", f'<p class="sub">{sub}</p>',
         f"<p>{_e(tr['no_requirements'])}</p>"]
    s += origin_section(out, ctx, tr, _table, _img)
    for layer, zs_path in ctx.get("zone_tables") or []:
        z = pd.read_csv(zs_path, dtype={"zone_id": str})
        if "origin_similar_ha" not in z:
            continue
        z = z.sort_values(["origin_similar_ha", "area_ha"], ascending=False, kind="stable")
        s.append(f"<h2>{_e(tr['zone'])}: {_e(layer)}</h2>")
        rows = [[_e(r["zone_id"]), _e(r.get("zone_name", "")), _ha(r["area_ha"]),
                 _ha(r["origin_similar_ha"]), _pct(r["origin_similar_share"])]
                for _, r in z.iterrows()]
        s.append(_table(["ID", tr["zone"], f"{tr['total_area']} (ha)",
                         f"{tr['origin_similar']} (ha)", tr["share"]], rows, {2, 3, 4}))
    s += _provenance(ctx, tr, m, m.get("config", {}))
    return s


def _provenance(ctx: dict, tr: dict, m: dict, cfg: dict) -> list[str]:
    """Inputs, warnings, versions, files and the disclaimer."""
    s: list[str] = []
    # inputs
    s.append(f"<h2>{_e(tr['inputs'])}</h2>")
    layers = cfg.get("layers", {})
    used = {v["layer"] for v in cfg.get("factors", {}).values()} if cfg.get("factors") else set()
    if used:
        used |= set((cfg.get("origin") or {}).get("variables") or [])
    rows = []
    for name, spec in layers.items():
        if used and name not in used:
            continue
        files = [spec["path"]] if spec.get("path") else list(
            (spec.get("depth_mean") or {}).get("paths", {}).values())
        names = ", ".join(Path(f).name for f in files)
        rows.append([_e(name), f'<span class="mono">{_e(names)}</span>',
                     _e(spec.get("units", "")), _e(spec.get("source", ""))])
    if rows:
        s.append(_table([tr["layer"], tr["file"], tr["units"], tr["source"]], rows))
    inputs = m.get("inputs") or []
    if inputs:
        rows = [[f'<span class="mono">{_e(Path(i["path"]).name)}</span>', _ha(i.get("bytes")),
                 f'<span class="mono">{_e(i.get("sha256", "")[:16])}…</span>'] for i in inputs]
        s.append(_table([tr["file"], "bytes", "SHA-256"], rows, {1}))
    if ctx.get("sources"):
        s.append(f"<p><b>{_e(tr['data'])}</b>: {_e(ctx['sources'])}</p>")
    if ctx.get("licences"):
        s.append(f"<p><b>{_e(tr['licences'])}</b>: {_e(ctx['licences'])}</p>")

    # warnings
    s.append(f"<h2>{_e(tr['warnings'])}</h2>")
    warns = ctx.get("warnings") or []
    s.append("".join(f'<div class="warn">{_e(w)}</div>' for w in warns)
             or f"<p>{_e(tr['no_warnings'])}</p>")

    # versions, files, disclaimer
    s.append(f"<h2>{_e(tr['versions'])}</h2>")
    vers = ctx.get("versions") or m.get("versions") or {}
    s.append(_table([tr["software"], tr["version"]], [[_e(k), _e(v)] for k, v in vers.items()]))
    if ctx.get("files"):
        s.append(f"<h2>{_e(tr['files'])}</h2>")
        s.append("<p class='mono'>" + " · ".join(_e(f) for f in ctx["files"]) + "</p>")
    if ctx.get("disclaimer"):
        s.append(f"<h2>{_e(tr['disclaimer'])}</h2><p class='small'>{_e(ctx['disclaimer'])}</p>")
    return s


def _write(out: Path, ctx: dict, tr: dict, product: str, title: str, s: list[str]) -> Path:
    lang = ctx.get("language", "en")
    page = (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}"><head><meta charset="utf-8">'
        f"<title>{_e(tr['report_title'])}: {_e(product)} – {_e(title)}</title>"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(s) + "\n</body></html>\n"
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
