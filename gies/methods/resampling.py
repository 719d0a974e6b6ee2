"""Resampling methods harmonise may use to put a layer onto the grid, by GDAL's names
(``gdalwarp -r``), registered in :data:`gies.methods.registry.RESAMPLING`.

Each method is either a *kernel* (an interpolation at the target cell's centre; GDAL widens
the kernel when downsampling) or a *footprint statistic* (of the source cells a target cell
covers). Only methods that return values present in the source are allowed for categorical
layers (``categorical``). With ``processing.warp_engine: gies`` the methods marked
``gies_kernel`` are computed by gies's own kernels (:mod:`gies.kernels.warp`, GDAL's
formulas); GDAL computes the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from gies.methods.registry import RESAMPLING

__all__ = ["Resampling", "CATEGORICAL", "KERNELS", "GIES_KERNELS"]


@dataclass(frozen=True)
class Resampling:
    """One resampling method (see the module docstring)."""

    name: str
    description: str
    kernel: bool
    categorical: bool
    gies_kernel: bool = False

    @property
    def summary(self) -> str:
        """The description (for the generated method lists)."""
        return self.description


for _r in (
    Resampling("nearest", "Value of the source cell holding the target cell's centre", True, True, True),
    Resampling("bilinear", "Bilinear interpolation of the 2×2 nearest source cells (a widened "
               "triangle when downsampling)", True, False, True),
    Resampling("cubic", "Cubic convolution of the 4×4 nearest source cells", True, False),
    Resampling("cubic_spline", "Cubic B-spline of the 4×4 nearest source cells", True, False),
    Resampling("lanczos", "Lanczos windowed sinc of the 6×6 nearest source cells", True, False),
    Resampling("average", "Mean of the covered source cells, weighted by their overlap",
               False, False),
    Resampling("mode", "Most frequent value of the covered source cells", False, True),
    Resampling("min", "Lowest covered source value", False, True),
    Resampling("max", "Highest covered source value", False, True),
    Resampling("med", "Median of the covered source values", False, True),
    Resampling("q1", "First quartile of the covered source values", False, True),
    Resampling("q3", "Third quartile of the covered source values", False, True),
    Resampling("sum", "Sum of the covered source values, weighted by their overlap", False, False),
    Resampling("rms", "Root mean square of the covered source values", False, False),
):
    RESAMPLING.add(_r)

#: Names of the methods allowed for categorical layers (they never invent values).
CATEGORICAL = tuple(n for n, r in RESAMPLING.items() if r.categorical)
#: Names of the kernel methods (GDAL widens them when downsampling).
KERNELS = tuple(n for n, r in RESAMPLING.items() if r.kernel)
#: Names of the methods gies's own warp kernels compute.
GIES_KERNELS = tuple(n for n, r in RESAMPLING.items() if r.gies_kernel)
