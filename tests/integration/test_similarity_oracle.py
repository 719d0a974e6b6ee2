"""gies's ``mess`` and ``bioclim`` against an R oracle on real data.

``tests/reference/similarity_oracle.R`` computed MESS (with the most dissimilar variable)
and BIOCLIM cell by cell in plain R, from the definitions of the R packages predicts and
dismo, on the South America bioclim stack (8 variables: bio9 duplicates bio1) with the
distinct cells of the *Bradypus variegatus* presence points as the reference. It wrote the
reference sample (``similarity_oracle_ref.csv``) and the scored cells, their values and the
oracle's results (``similarity_oracle.csv``): the reference cells themselves (ties, the
minima and maxima) and 500 random valid cells (about half outside the reference's range).
This test needs neither R nor the rasters.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from gies.methods.similarity import Reference, bioclim, mess

HERE = Path(__file__).resolve().parents[1] / "reference"
#: the per-variable tails of the oracle's ``bioclim_tails`` column
TAILS = {"bio1": "both", "bio5": "high", "bio6": "low", "bio7": "both", "bio8": "low",
         "bio12": "high", "bio16": "both", "bio17": "low"}


def read(name: str) -> tuple[list[str], np.ndarray]:
    with open(HERE / name, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], dtype=float)


@pytest.fixture(scope="module")
def oracle():
    ref_header, ref = read("similarity_oracle_ref.csv")
    header, table = read("similarity_oracle.csv")
    names = tuple(ref_header[1:])
    assert tuple(header[1:1 + len(names)]) == names == tuple(TAILS)
    x = table[:, 1:1 + len(names)]
    reference = Reference(ref[:, 1:], names, (False,) * len(names), x.min(axis=0),
                          x.max(axis=0))
    columns = {h: table[:, i] for i, h in enumerate(header)}
    return reference, x, columns


def test_the_oracle_covers_inside_outside_and_the_reference_itself(oracle):
    reference, x, columns = oracle
    assert reference.n == 94 and x.shape == (594, 8)
    assert 200 < (columns["mess"] < 0).sum() < 400 and (columns["mess"] == 0).any()
    assert np.isin(columns["cell"], read("similarity_oracle_ref.csv")[1][:, 0]).sum() == 94


def test_mess_matches_the_oracle(oracle):
    reference, x, columns = oracle
    fitted = mess(reference)
    # computed in float64: equal to the oracle's 15 significant digits
    np.testing.assert_allclose(fitted.similarities(x).min(axis=1), columns["mess"], rtol=0,
                               atol=1e-9)
    # the float32 layer: within 1e-5, or float32's own spacing for |mess| > 64
    out = fitted.predict(x)
    np.testing.assert_allclose(out["mess"], columns["mess"], rtol=1e-7, atol=1e-5)
    np.testing.assert_array_equal(out["mess_variable"], columns["mess_variable"])


@pytest.mark.parametrize("tails, column", [("both", "bioclim"), (TAILS, "bioclim_tails")])
def test_bioclim_matches_the_oracle(oracle, tails, column):
    reference, x, columns = oracle
    got = bioclim(reference, tails=tails).predict(x)["similarity_bioclim"]
    np.testing.assert_allclose(got, columns[column], rtol=0, atol=1e-5)
    assert (got == 0).sum() == (columns[column] == 0).sum()
