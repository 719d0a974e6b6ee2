"""Every shipped pipeline gives the outputs recorded in ``tests/reference/`` (within the
tolerances a new release of a dependency may need; ``tests/reference/record.py compare``
checks them exactly)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REF = Path(__file__).resolve().parents[1] / "reference"
sys.path.insert(0, str(REF))

from outputs import compare, digest  # noqa: E402

PIPELINES = sorted(p.stem for p in (REF.parents[1] / "pipelines").glob("*.yaml"))
#: Manifest keys that changed on purpose since the reference was recorded (docs/design.md):
#: product profiles are named, and found on the profile search path (``product.profile``,
#: ``product.search_path``); the seasonal model is named (``seasonal.model``); the suitable
#: classes default to the class scheme's (``zonal.suitable`` null unless the pipeline sets it);
#: the origin analysis's sections (``origin``, ``similarity``, ``model``: null unless set);
#: the seasonal model's rainfall scoring is recorded (``seasonal.rainfall`` and the
#: combination's ``seasonal.rainfall``, ``total`` unless the pipeline sets it).
DOCUMENTED = ["config.product.profile", "config.product.search_path", "config.seasonal.model",
              "config.seasonal.rainfall", "combination.seasonal.rainfall",
              "config.zonal.suitable", "config.origin", "config.similarity", "config.model"]


def test_every_shipped_pipeline_has_a_reference():
    assert PIPELINES and all((REF / f"{name}.json").is_file() for name in PIPELINES)


@pytest.mark.parametrize("name", PIPELINES)
def test_outputs_match_the_reference(name, shipped):
    ref = json.loads((REF / f"{name}.json").read_text(encoding="utf-8"))
    diffs = compare(ref, digest(shipped(name).output_dir), exact=False,
                    ignore_manifest=DOCUMENTED)
    assert not diffs, "\n".join(diffs)
