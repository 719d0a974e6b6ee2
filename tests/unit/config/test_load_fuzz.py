"""Mutated pipeline files never reach the user as a traceback: only ConfigError/GiesError."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gies.config import load_pipeline
from gies.errors import GiesError
from gies.stages.plan import plan
from gies.stages.preflight import check_data

REPO = Path(__file__).resolve().parents[3]
BASES = {
    name: yaml.safe_load((REPO / "pipelines" / name).read_text(encoding="utf-8"))
    for name in ("bungo-cocoa.yaml", "senegal-sorghum.yaml", "bungo-cocoa-ahp.yaml",
                 "senegal-sorghum-seasonal.yaml", "senegal-sorghum-laea.yaml")
}

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.lists(st.integers(-5, 5), max_size=4), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(BASES)))
    data = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "replace", "rename"]))
        key = path[-1]
        if action == "delete":
            if isinstance(parent, dict):
                parent.pop(key, None)
            elif isinstance(parent, list) and parent:
                parent.pop(key)
        elif action == "replace":
            parent[key] = draw(scalars)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = parent.pop(key)
    return name, data


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_mutated_pipelines_give_clear_errors(tmp_path_factory, case):
    name, data = case
    folder = tmp_path_factory.mktemp("fuzz")
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False).replace("../", f"{REPO}/")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    try:
        p = load_pipeline(path)
        pl = plan(p)  # metadata, AOI, zones, grid, coverage: the rest of validation
        check_data(pl)
    except GiesError as exc:
        assert str(exc).strip(), "an error must say something"
