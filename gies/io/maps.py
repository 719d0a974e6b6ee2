"""Static maps: the class map with zone outlines and a legend (``map.png``)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.enums import Resampling

from gies.classify import CLASS_COLOURS, CLASS_LABELS, OUTSIDE

__all__ = ["class_map"]


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
) -> None:
    """Render the class raster (decimated to at most ``max_pixels`` per side, by nearest
    neighbour) with zone outlines, zone labels, and a legend giving hectares per class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    with rasterio.open(classes_path) as ds:
        scale = max(1.0, max(ds.height, ds.width) / max_pixels)
        shape = (max(1, int(ds.height / scale)), max(1, int(ds.width / scale)))
        arr = ds.read(1, out_shape=shape, resampling=Resampling.nearest)
        b = ds.bounds
    codes = sorted(CLASS_LABELS)
    lut = np.zeros(256, dtype=np.int16)
    for i, c in enumerate(codes):
        lut[c] = i
    cmap = ListedColormap([CLASS_COLOURS[c] for c in codes])
    img = np.ma.masked_equal(arr, OUTSIDE)
    fig, ax = plt.subplots(figsize=(12, 8), dpi=120)
    ax.imshow(np.ma.array(lut[img.filled(OUTSIDE)], mask=img.mask), cmap=cmap,
              vmin=-0.5, vmax=len(codes) - 0.5, extent=(b.left, b.right, b.bottom, b.top),
              interpolation="nearest")
    zones.boundary.plot(ax=ax, color="#222222", linewidth=0.7)
    if label_field:
        for _, z in zones.iterrows():
            if z.geometry is None or z.geometry.is_empty:
                continue
            p = z.geometry.representative_point()
            ax.annotate(str(z[label_field]), (p.x, p.y), ha="center", fontsize=7,
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.6, "lw": 0})
    handles = [
        Patch(facecolor=CLASS_COLOURS[c], edgecolor="#555555",
              label=f"{CLASS_LABELS[c]}: {hectares.get(c, 0.0):,.0f} ha")
        for c in codes if c != OUTSIDE and (hectares.get(c, 0) > 0 or c <= 4)
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              framealpha=0.9, title="Class")
    ax.set_title(title)
    ax.set_xlabel("x (map units)")
    ax.set_ylabel("y (map units)")
    ax.ticklabel_format(useOffset=False, style="plain")
    if credits:
        fig.text(0.01, 0.005, credits, fontsize=6, color="#444444", wrap=True)
    fig.tight_layout()
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
