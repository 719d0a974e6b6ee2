"""The command line: exit codes, one-line messages naming the file/key, no traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gies.cli import main

REPO = Path(__file__).resolve().parents[2]
BUNGO = REPO / "pipelines" / "bungo-cocoa.yaml"


def _variant(tmp_path, edit, name="p.yaml"):
    """A copy of the Bungo pipeline in tmp_path with absolute data paths, edited."""
    text = BUNGO.read_text(encoding="utf-8").replace("../", f"{REPO}/")
    path = tmp_path / name
    path.write_text(edit(text), encoding="utf-8")
    return path


def _err(capsys):
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    return cap.err


def test_validate_ok(capsys):
    assert main(["validate", str(BUNGO)]) == 0
    assert "valid" in capsys.readouterr().out


def test_missing_pipeline_file(capsys, tmp_path):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in _err(capsys)


def test_yaml_syntax_error_has_line(capsys, tmp_path):
    p = _variant(tmp_path, lambda t: t.replace("combine:\n  rule:", "combine:\n rule: [oops\n  rule:"))
    assert main(["validate", str(p)]) == 2
    err = _err(capsys)
    assert "YAML syntax error" in err and f"{p}:" in err


def test_unknown_key_did_you_mean(capsys, tmp_path):
    p = _variant(tmp_path, lambda t: t.replace("combine:", "combin:"))
    assert main(["validate", str(p)]) == 2
    err = _err(capsys)
    assert "combin" in err and "did you mean 'combine'" in err


def test_missing_layer_file_names_key(capsys, tmp_path):
    p = _variant(tmp_path, lambda t: t.replace("clim_humidity.tif", "clim_humid.tif"))
    assert main(["validate", str(p)]) == 2
    err = _err(capsys)
    assert "layers.humidity" in err and "clim_humid.tif" in err and "file not found" in err


def test_unknown_unit_and_wrong_limit_set_reported_together(capsys, tmp_path):
    p = _variant(tmp_path, lambda t: t.replace("units: mm,", "units: furlongs,")
                 .replace("limit_set: lumens", "limit_set: lumen"))
    assert main(["validate", str(p)]) == 2
    err = _err(capsys)
    assert "furlongs" in err and "did you mean 'lumens'" in err
    assert len([ln for ln in err.splitlines() if ln.startswith("gies: error:")]) >= 2


def test_unit_conversion_refused(capsys, tmp_path):
    p = _variant(tmp_path, lambda t: t.replace("units: months,", "units: mm,"))
    assert main(["validate", str(p)]) == 2
    assert "cannot convert 'mm'" in _err(capsys)


def test_corrupted_crop_cell_rejected(capsys, tmp_path):
    prof = (REPO / "gies/data/products/cocoa.yaml").read_text().replace('"20-25", "28-32"', '"20-25", "28-Oct"')
    (tmp_path / "cocoa.yaml").write_text(prof)
    p = _variant(tmp_path, lambda t: t.replace("profile: cocoa", f"profile: {tmp_path / 'cocoa.yaml'}"))
    assert main(["validate", str(p)]) == 2
    err = _err(capsys)
    assert "28-Oct" in err and "temperature" in err and "spreadsheet date" in err


def test_failed_run_keeps_previous_output(capsys, tmp_path):
    out = tmp_path / "out"
    p = _variant(tmp_path, lambda t: t.replace(f"dir: {REPO}/outputs", f"dir: {out}"))
    prev = out / "bungo-cocoa"
    prev.mkdir(parents=True)
    (prev / "marker.txt").write_text("previous result")
    bad = _variant(tmp_path, lambda t: t.replace(f"dir: {REPO}/outputs", f"dir: {out}")
                   .replace("bungo_BSAT.tif", "missing.tif"), name="bad.yaml")
    assert main(["run", "-q", str(bad)]) == 2
    assert (prev / "marker.txt").read_text() == "previous result"
    assert not list(out.glob(".runs/*/*.partial"))  # no partial folder left
    assert p.exists()


def test_schema_is_json(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "layers" in schema["properties"] and "grid" in schema["properties"]


def test_products_and_inspect(capsys):
    assert main(["products", "list"]) == 0
    assert "cocoa" in capsys.readouterr().out
    assert main(["products", "show", "cocoa"]) == 0
    assert "25-28" in capsys.readouterr().out
    assert main(["inspect", str(REPO / "data/sample/senegal/pr.tif")]) == 0
    out = capsys.readouterr().out
    assert "12 band(s)" in out and "bounds (-17.0, 14.0, -16.0, 15.0)" in out
    assert main(["inspect", str(REPO / "data/sample/senegal/ne10m_admin1_SEN.geojson")]) == 0
    out = capsys.readouterr().out
    assert "vector 14 features, CRS EPSG:4326" in out and "adm1_code" in out
    assert "geometry" not in out.split("fields")[1]
    assert main(["inspect", "no-such-file.tif"]) == 2
    assert capsys.readouterr().err.strip() == "gies: error: no-such-file.tif: file not found"


def test_inspect_a_csv_table_is_one_message(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("a,b\n1,2\n")
    assert main(["inspect", str(table)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no geometries" in err and "Traceback" not in err


def test_products_list_into_a_closed_pipe_exits_quietly(tmp_path):
    r = subprocess.run(f"{sys.executable} -m gies products list | head -1", shell=True,
                       capture_output=True, text=True)
    assert r.stdout.count("\n") == 1 and "Error" not in r.stderr, r.stderr


def test_console_script_runs_senegal(tmp_path):
    text = (REPO / "pipelines/senegal-sorghum.yaml").read_text().replace("../", f"{REPO}/")
    text = text.replace(f"dir: {REPO}/outputs", f"dir: {tmp_path}")
    p = tmp_path / "sen.yaml"
    p.write_text(text)
    r = subprocess.run([sys.executable, "-m", "gies", "run", str(p)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Outputs:" in r.stdout and "S1" in r.stdout
    assert (tmp_path / "senegal-sorghum" / "classes.tif").is_file()


def test_memory_limit(capsys, tmp_path):
    text = (REPO / "pipelines/senegal-sorghum.yaml").read_text().replace("../", f"{REPO}/")
    out = tmp_path / "out"
    p = tmp_path / "sen.yaml"
    p.write_text(text.replace(f"dir: {REPO}/outputs", f"dir: {out}"))
    assert main(["run", "-q", "--memory-limit", "lots", str(p)]) == 2
    assert "--memory-limit: cannot read 'lots'" in _err(capsys)
    assert main(["run", "-q", "--memory-limit", "1GB", "--scheduler", "tcp://127.0.0.1:1", str(p)]) == 2
    assert "the workers' own limits apply" in _err(capsys)
    assert main(["run", "-q", "--memory-limit", "50MB", str(p)]) == 2
    assert "for one thread" in _err(capsys) and not (out / "senegal-sorghum").exists()
    assert main(["run", "-q", "--workers", "2", "--memory-limit", "100GB", str(p)]) == 0
    m = json.loads((out / "senegal-sorghum" / "manifest.json").read_text())
    assert m["processing"]["threads"] == 2 and m["processing"]["memory_limit_mb"] == 100_000
    import rasterio

    with rasterio.open(out / "senegal-sorghum" / "classes.tif") as ds:
        first = ds.read()
    # a limit that holds one thread but not two: one thread, the same classes
    from gies import runner as gp
    from gies.config import load_pipeline
    from gies.stages.plan import plan

    one = gp.LocalExecutor.for_plan(plan(load_pipeline(p)), workers=1).resources()["estimated_peak_mb"]
    assert main(["run", "-q", "--workers", "2", "--memory-limit", f"{one + 1}MB", str(p)]) == 0
    m = json.loads((out / "senegal-sorghum" / "manifest.json").read_text())
    assert m["processing"]["threads"] == 1
    with rasterio.open(out / "senegal-sorghum" / "classes.tif") as ds:
        assert (ds.read() == first).all()


def test_demo_finds_its_pipeline_or_says_where_the_sample_data_is(tmp_path, monkeypatch, capsys):
    import gies
    from gies import cli

    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "bungo-cocoa.yaml").write_text("x")
    assert cli.demo_pipeline(tmp_path) == tmp_path / "pipelines" / "bungo-cocoa.yaml"
    assert cli.demo_pipeline(tmp_path / "pipelines") == BUNGO  # the source checkout's
    # an installed package: neither the working folder nor the package's parent has it
    monkeypatch.setattr(cli, "REPO", tmp_path / "site-packages")
    monkeypatch.chdir(tmp_path / "pipelines")
    assert main(["demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "data/sample/" in err[0] and "clone" in err[0]
    r = subprocess.run([sys.executable, "-m", "gies", "--version"], capture_output=True, text=True)
    assert r.stdout.strip() == f"gies {gies.__version__}"
