"""Unit tests of gies.config / gies.config.yamlio: pipeline validation messages."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gies.config import load_pipeline
from gies.errors import ConfigError
from gies.config.yamlio import load_yaml

ROOT = Path(__file__).resolve().parents[3]
PIPELINE = ROOT / "pipelines" / "bungo-cocoa.yaml"


@pytest.fixture()
def text() -> str:
    """The bundled pipeline with its ``../`` paths made absolute."""
    return PIPELINE.read_text(encoding="utf-8").replace("../", f"{ROOT}/")


def _write(tmp_path, body: str) -> Path:
    p = tmp_path / "pipe.yaml"
    p.write_text(body, encoding="utf-8")
    return p


def _line_of(body: str, fragment: str) -> int:
    return next(i for i, ln in enumerate(body.splitlines(), 1) if fragment in ln)


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_pipeline(path)
    assert str(exc.value) == "\n".join(exc.value.problems)
    return exc.value.problems


def test_valid_copy_loads(tmp_path, text):
    lp = load_pipeline(_write(tmp_path, text))
    assert lp.config.name == "bungo-cocoa"
    assert lp.config.combine.rule == "maximum_limitation"
    assert lp.profile.product == "cocoa"
    assert set(lp.config.factors) >= {"temperature", "dry_months", "soil_depth"}
    assert lp.limit_set.method == "class_limits"


def test_relative_paths_resolve_against_file(tmp_path, text):
    lp = load_pipeline(_write(tmp_path, text.replace("dir: " + str(ROOT) + "/outputs",
                                                      "dir: out")))
    assert lp.output_dir == (tmp_path / "out" / "bungo-cocoa").resolve()


def test_yaml_syntax_error_reports_line(tmp_path, text):
    body = text.replace("  rule: maximum_limitation", "  rule: [maximum_limitation")
    n = _line_of(body, "rule: [maximum_limitation")  # unclosed flow sequence
    p = _write(tmp_path, body)
    probs = _problems(p)
    assert len(probs) == 1
    assert "YAML syntax error" in probs[0]
    # the error is reported at or just after the broken line
    line = int(probs[0].split(f"{p}:")[1].split(":")[0])
    assert n <= line <= n + 3


def test_yaml_syntax_error_bad_indent_line(tmp_path):
    body = "format_version: 1\nname: x\n  title: bad indent\n"
    p = _write(tmp_path, body)
    probs = _problems(p)
    assert probs[0].startswith(f"{p}:3:") and "YAML syntax error" in probs[0]


def test_unknown_key_did_you_mean(tmp_path, text):
    body = text.replace("combine:\n  rule:", "combin:\n  rule:")
    assert "combin:\n" in body
    probs = _problems(_write(tmp_path, body))
    assert len(probs) == 1
    line = _line_of(body, "combin:")
    assert f":{line}: combin: unknown key (did you mean 'combine'?)" in probs[0]


def test_unknown_nested_key_did_you_mean(tmp_path, text):
    body = text.replace("  on_limit: worse", "  on_limt: worse")
    probs = _problems(_write(tmp_path, body))
    assert len(probs) == 1
    assert "scoring.on_limt" in probs[0] and "did you mean 'on_limit'" in probs[0]


def test_factor_with_missing_layer(tmp_path, text):
    body = text.replace("slope: {layer: slope}", "slope: {layer: slop}")
    probs = _problems(_write(tmp_path, body))
    assert len(probs) == 1
    line = _line_of(body, "slope: {layer: slop}")
    assert f":{line}: factors.slope.layer: no layer 'slop'" in probs[0]
    assert "did you mean 'slope'" in probs[0]


def test_wrong_limit_set_lists_available(tmp_path, text):
    body = text.replace("limit_set: lumens", "limit_set: lumen")
    probs = _problems(_write(tmp_path, body))
    assert len(probs) == 1
    line = _line_of(body, "limit_set: lumen")
    assert f":{line}: product.limit_set" in probs[0]
    assert "'lumen'" in probs[0] and "lumens" in probs[0] and "ecocrop" in probs[0]


def test_three_mistakes_three_problems(tmp_path, text):
    body = (text.replace("slope: {layer: slope}", "slope: {layer: slop}")
                .replace("ph: {layer: ph}", "ph: {layer: pH_layer}")
                .replace("limit_set: lumens", "limit_set: lumen"))
    probs = _problems(_write(tmp_path, body))
    assert len(probs) == 3
    assert any("factors.slope.layer" in p for p in probs)
    assert any("factors.ph.layer" in p for p in probs)
    assert any("product.limit_set" in p for p in probs)


def test_three_schema_mistakes_three_problems(tmp_path, text):
    body = (text.replace("combine:\n  rule:", "combin:\n  rule:")
                .replace("  on_limit: worse", "  on_limit: sideways")
                .replace("format_version: 1", "format_version: 2"))
    probs = _problems(_write(tmp_path, body))
    assert len(probs) == 3
    assert any("combin" in p and "did you mean 'combine'" in p for p in probs)
    assert any("scoring.on_limit" in p and "sideways" in p for p in probs)
    assert any("format_version" in p for p in probs)


def test_mixed_mistakes_all_reported(tmp_path, text):
    body = (text.replace("combine:\n  rule:", "combin:\n  rule:")
                .replace("slope: {layer: slope}", "slope: {layer: slop}")
                .replace("limit_set: lumens", "limit_set: lumen"))
    probs = _problems(_write(tmp_path, body))
    assert len(probs) == 3


def test_missing_required_key(tmp_path, text):
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("title:")) + "\n"
    probs = _problems(_write(tmp_path, body))
    assert any("title: required key is missing" in p for p in probs)


def test_duplicate_key(tmp_path, text):
    body = text + "combine:\n  rule: minimum\n"
    probs = _problems(_write(tmp_path, body))
    assert "duplicate key 'combine'" in probs[0]


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_pipeline(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="empty"):
        load_pipeline(_write(tmp_path, "# nothing\n"))


def test_python_tags_never_construct_objects(tmp_path):
    with pytest.raises(ConfigError):
        load_yaml(_write(tmp_path, "name: !!python/name:os.system\n"))
    y = load_yaml(_write(tmp_path, "name: !!python/object/apply:os.system ['true']\n"))
    assert y.data == {"name": ["true"]}  # plain data only, nothing called


BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_alias_bomb_fails_fast(tmp_path):
    p = _write(tmp_path, BOMB)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as exc:
        load_pipeline(p)
    assert time.perf_counter() - t0 < 5
    assert "alias bomb" in str(exc.value)
    with pytest.raises(ConfigError):
        load_yaml(p)


def test_small_aliases_allowed(tmp_path):
    y = load_yaml(_write(tmp_path, "a: &x [1, 2]\nb: *x\n"))
    assert y.data == {"a": [1, 2], "b": [1, 2]}
    assert y.line_of(("b",)) == 2
    assert y.line_of(("a", 1)) == 1


def test_geographic_bounds_out_of_range(tmp_path):
    # found by the config fuzz test: a latitude of -196 crashed grid building in PROJ
    src = (ROOT / "pipelines" / "senegal-sorghum-laea.yaml").read_text(encoding="utf-8")
    body = src.replace("../", f"{ROOT}/").replace("bounds: [-17, 14, -16, 15]",
                                                  "bounds: [-17, -196, -16, 15]")
    assert body != src.replace("../", f"{ROOT}/")
    probs = _problems(_write(tmp_path, body))
    assert len(probs) == 1 and "aoi" in probs[0] and "-90..90" in probs[0]


# -- class schemes -------------------------------------------------------------------------------
def _without_improve(text: str) -> str:
    lines, out, skip = text.splitlines(keepends=True), [], False
    for ln in lines:
        if ln.startswith("improve:"):
            skip = True
        elif skip and ln.strip() and not ln.startswith(" "):
            skip = False
        if not skip:
            out.append(ln)
    return "".join(out)


def test_gaez_scheme_with_its_own_bounds_and_suitable_classes(tmp_path, text):
    body = _without_improve(text).replace("combine:\n  rule: maximum_limitation\nclassify:\n  scheme: fao\n",
                        "combine:\n  rule: minimum\nclassify:\n  scheme: gaez\n"
                        "  thresholds: {VS: 0.85, mS: 0.1}\nzonal:\n  suitable: [VS, S]\n")
    lp = load_pipeline(_write(tmp_path, body))
    assert lp.scheme.name == "gaez"
    assert lp.scheme.bounds == {"VS": 0.85, "S": 0.6, "MS": 0.4, "mS": 0.1, "VmS": 0.0}
    assert lp.config.zonal.suitable == ["VS", "S"]


def test_scheme_mistakes_are_named_with_their_line(tmp_path, text):
    body = text.replace("classify:\n  scheme: fao\n",
                        "classify:\n  scheme: gaez\n  thresholds: {S1: 0.7}\n"
                        "zonal:\n  suitable: [VS, Vs]\n")
    problems = _problems(_write(tmp_path, body))
    joined = "\n".join(problems)
    assert f":{_line_of(body, 'thresholds: {S1')}: classify.thresholds: ['S1'] is not a class" in joined
    assert ("zonal.suitable.1: 'Vs' is not a class of scheme 'gaez' (did you mean 'VS'?)"
            in joined)
    # the maximum-limitation rule needs FAO's classes
    assert "combine.rule: FAO class methods need classify.scheme: fao" in joined


def test_fao_thresholds_that_do_not_fall(tmp_path, text):
    body = text.replace("classify:\n  scheme: fao\n",
                        "classify:\n  scheme: fao\n  thresholds: {S1: 0.5, S2: 0.6}\n")
    (problem,) = [p for p in _problems(_write(tmp_path, body)) if "classify" in p]
    assert "classify.thresholds: class scheme 'fao': bounds must fall" in problem
