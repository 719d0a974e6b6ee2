"""The limiting-factor map draws excluded land as excluded, as the zone sums count it."""

from __future__ import annotations

import numpy as np
import rasterio
from affine import Affine
from PIL import Image

from gies.methods.schemes import EXCLUDED, SCHEMES
from gies.publish.maps import factor_colour, limiting_map


def _tif(path, data):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0],
                       count=1, dtype="uint8", crs="EPSG:32748", nodata=255,
                       transform=Affine(100, 0, 0, 0, -100, 5000)) as dst:
        dst.write(data, 1)
    return path


def _has(png, colour: str) -> bool:
    rgb = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    a = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    return bool((a == rgb).all(axis=1).any())


def test_excluded_land_is_drawn_and_listed_as_excluded(tmp_path):
    lim = np.full((50, 50), 1, dtype="uint8")      # rainfall limits everything ...
    cls = np.full((50, 50), 2, dtype="uint8")
    cls[:, :25] = EXCLUDED                          # ... but the west half is excluded
    lp, cp = _tif(tmp_path / "limiting.tif", lim), _tif(tmp_path / "classes.tif", cls)
    excluded = SCHEMES["fao"].colours[EXCLUDED]
    assert factor_colour(EXCLUDED) == excluded
    limiting_map(lp, tmp_path / "plain.png", title="t", factor_codes={1: "rainfall"},
                 hectares={1: 12.5})
    limiting_map(lp, tmp_path / "with.png", title="t", factor_codes={1: "rainfall"},
                 hectares={1: 12.5, EXCLUDED: 12.5}, classes_path=cp)
    assert not _has(tmp_path / "plain.png", excluded)
    assert _has(tmp_path / "with.png", excluded)
    assert _has(tmp_path / "with.png", factor_colour(1))
