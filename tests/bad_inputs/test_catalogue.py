"""Run every case of the bad-input catalogue (cases.py) through the command line."""

from __future__ import annotations

import errno
import json

import pytest

from gies.cli import main

from .cases import CASES, REPO, Case, base

DOC = REPO / "docs" / "bad_inputs.md"
NAME = "senegal-sorghum"


def _pipeline(case: Case, tmp_path):
    if case.id == "missing-pipeline":
        return tmp_path / "nope.yaml"
    if case.id == "pipeline-is-folder":
        return tmp_path
    if case.id == "output-parent-is-file":
        (tmp_path / "file.txt").write_text("x")
        text = base(tmp_path).replace(f"dir: {tmp_path / 'out'}", f"dir: {tmp_path / 'file.txt' / 'out'}")
    elif case.build is None:
        text = base(tmp_path)
    else:
        text = case.build(tmp_path)
    p = tmp_path / "pipeline with spaces é.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _inject(case: Case, monkeypatch):
    if case.id == "disk-full":
        def full(*a, **k):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr("gies.io.tables._csv", full)
    elif case.id == "permission-denied":
        def denied(*a, **k):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr("gies.runner.write_rasters", denied)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, tmp_path, monkeypatch, capsys):
    path = _pipeline(case, tmp_path)
    prev = tmp_path / "out" / NAME
    prev.mkdir(parents=True)
    (prev / "marker.txt").write_text("previous result")
    _inject(case, monkeypatch)
    args = [case.command] + (["-q"] if case.command == "run" and case.kind == "error" else []) + [str(path)]
    rc = main(args)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err + cap.out
    if case.kind == "error":
        assert rc == 2, (cap.out, cap.err)
        lines = [ln for ln in cap.err.splitlines() if ln.strip()]
        assert lines and all(ln.startswith("gies: error: ") for ln in lines), cap.err
        for text in case.expect:
            assert text.lower() in cap.err.lower(), (text, cap.err)
        assert (prev / "marker.txt").read_text() == "previous result"
        runs = tmp_path / "out" / ".runs" / NAME
        assert not runs.exists() or not any(runs.iterdir()), list(runs.iterdir())
    else:
        assert rc == 0, cap.err
        for text in case.expect:
            assert text in cap.out, (text, cap.out)
        man = json.loads((tmp_path / "out" / NAME / "manifest.json").read_text())
        assert any(case.expect[0] in w for w in man["warnings"])


def render() -> str:
    """The catalogue as Markdown (docs/bad_inputs.md)."""
    out = [
        "# Bad inputs: what gies answers",
        "",
        "Generated from `tests/bad_inputs/cases.py`, where each case is also a test. An **error**",
        "exits with code 2, prints one `gies: error:` line per problem naming the file and key",
        "(no traceback), writes no new output and leaves the previous result in place. A",
        "**warning** lets the run finish; it is printed in the summary and kept in `manifest.json`.",
        "",
        "| id | kind | input | the message contains | turn a warning into an error |",
        "|---|---|---|---|---|",
    ]
    strict = {
        "implausible-values": "`quality.drop_factor_above: 1` keeps the factor, and an all-implausible layer is then an error (all-nodata)",
        "zones-invalid-geometry": "fix the geometry in the source file",
        "zones-outside": "remove the zones or widen the AOI",
    }
    for c in CASES:
        expect = ", ".join(f"`{e}`" for e in c.expect)
        out.append(f"| `{c.id}` | {c.kind} | {c.what} | {expect} | {strict.get(c.id, '')} |")
    return "\n".join(out) + "\n"


def test_every_scoring_curve_has_a_bad_value_case():
    from gies.methods.registry import CURVES

    from .cases import CURVE_CASES

    assert sorted(c[0] for c in CURVE_CASES) == sorted(CURVES.names())


def test_catalogue_is_documented_and_large_enough():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    assert DOC.read_text(encoding="utf-8") == render(), "regenerate docs/bad_inputs.md with render()"
