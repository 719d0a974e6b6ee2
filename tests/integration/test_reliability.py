"""Outputs you can trust: atomic publication under kill -9, deterministic results."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio

from gies.io.runs import current_run, verify_run

REPO = Path(__file__).resolve().parents[2]


def _pipeline(tmp_path, name, out):
    text = (REPO / "pipelines" / name).read_text().replace("../", f"{REPO}/")
    text = text.replace(f"dir: {REPO}/outputs", f"dir: {out}")
    p = tmp_path / name
    p.write_text(text)
    return p


def _run(p):
    return subprocess.run([sys.executable, "-m", "gies", "run", "-q", str(p)],
                          capture_output=True, text=True)


def test_kill_9_leaves_old_or_new_complete_result(tmp_path):
    out = tmp_path / "out"
    p = _pipeline(tmp_path, "bungo-cocoa.yaml", out)
    assert _run(p).returncode == 0
    first = current_run(out, "bungo-cocoa")
    assert verify_run(first) == []
    seen = set()
    for delay in (0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 7.0):
        proc = subprocess.Popen([sys.executable, "-m", "gies", "run", "-q", str(p)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        cur = current_run(out, "bungo-cocoa")
        assert cur is not None and cur.is_dir()
        assert verify_run(cur) == [], (delay, verify_run(cur))
        seen.add(cur)
    assert len(seen) >= 1
    # the next run cleans the folders the killed runs left behind and succeeds
    assert _run(p).returncode == 0
    assert not [x for x in (out / ".runs" / "bungo-cocoa").iterdir() if x.name.endswith(".partial")]
    assert verify_run(current_run(out, "bungo-cocoa")) == []


def test_two_runs_are_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    assert _run(_pipeline(tmp_path / "x", "senegal-sorghum.yaml", a)).returncode == 0
    assert _run(_pipeline(tmp_path / "y", "senegal-sorghum.yaml", b)).returncode == 0
    ra, rb = current_run(a, "senegal-sorghum"), current_run(b, "senegal-sorghum")
    for csv in sorted(x.name for x in ra.glob("*.csv")):
        assert (ra / csv).read_bytes() == (rb / csv).read_bytes(), csv
    for tif in sorted(x.name for x in ra.glob("*.tif")):
        with rasterio.open(ra / tif) as x, rasterio.open(rb / tif) as y:
            np.testing.assert_array_equal(x.read(), y.read())


def test_inputs_are_not_modified(tmp_path, repo):
    data = repo / "data" / "sample" / "senegal"
    before = {f.name: (f.stat().st_mtime_ns, f.read_bytes()) for f in data.iterdir()}
    assert _run(_pipeline(tmp_path, "senegal-sorghum.yaml", tmp_path / "o")).returncode == 0
    after = {f.name: (f.stat().st_mtime_ns, f.read_bytes()) for f in data.iterdir()}
    assert before == after


def test_no_layer_cache_by_default(tmp_path):
    import json

    out = tmp_path / "out"
    p = _pipeline(tmp_path, "senegal-sorghum-laea.yaml", out)
    r = _run(p)
    assert r.returncode == 0, r.stderr
    m = json.loads((current_run(out, "senegal-sorghum-laea") / "manifest.json").read_text())
    assert m["cache"]["enabled"] is False and m["cache"]["added"] == [] and m["cache"]["bytes"] == 0
    assert not list((out / ".cache").glob("*.tif"))


def test_cache_reuses_harmonised_layers_after_a_weight_change(tmp_path):
    out = tmp_path / "out"
    p = _pipeline(tmp_path, "senegal-sorghum-laea.yaml", out)
    p.write_text(p.read_text() + "\nprocessing: {layer_cache: true}\n")
    r1 = _run(p)
    assert r1.returncode == 0, r1.stderr
    import json

    m1 = json.loads((current_run(out, "senegal-sorghum-laea") / "manifest.json").read_text())
    assert m1["cache"]["enabled"] is True
    assert m1["cache"]["reused"] == [] and len(m1["cache"]["added"]) == 4
    first = {t.name: rasterio.open(t).read() for t in current_run(out, "senegal-sorghum-laea").glob("score_*.tif")}
    # change only how factors combine: the harmonised layers are reused, scores unchanged
    p.write_text(p.read_text().replace("combine: {rule: minimum}",
                                       "combine: {rule: weighted_mean, weights: {temperature: 1, rainfall: 2, ph: 1, slope: 1}}"))
    assert _run(p).returncode == 0
    run2 = current_run(out, "senegal-sorghum-laea")
    m2 = json.loads((run2 / "manifest.json").read_text())
    assert sorted(m2["cache"]["reused"]) == sorted(m1["cache"]["added"]) and m2["cache"]["added"] == []
    assert m2["timings_s"]["harmonise"] <= m1["timings_s"]["harmonise"] + 0.5
    for name, arr in first.items():
        np.testing.assert_array_equal(rasterio.open(run2 / name).read(), arr)
    # --force recomputes every layer and gives the same result
    r3 = subprocess.run([sys.executable, "-m", "gies", "run", "-q", "--force", str(p)],
                        capture_output=True, text=True)
    assert r3.returncode == 0, r3.stderr
    run3 = current_run(out, "senegal-sorghum-laea")
    m3 = json.loads((run3 / "manifest.json").read_text())
    assert m3["cache"]["reused"] == []
    with rasterio.open(run2 / "suitability.tif") as a, rasterio.open(run3 / "suitability.tif") as b:
        np.testing.assert_array_equal(a.read(), b.read())
    # gies cache clear empties it
    c = subprocess.run([sys.executable, "-m", "gies", "cache", "clear", str(p)],
                       capture_output=True, text=True)
    assert c.returncode == 0 and "cleared" in c.stdout
    assert not (out / ".cache").exists()


def test_published_result_is_a_folder_that_outlives_later_runs(tmp_path):
    import shutil

    import gies

    out = tmp_path / "out"
    p = gies.load_pipeline(_pipeline(tmp_path, "senegal-sorghum.yaml", out)).replace(
        outputs={"publish": False, "keep_runs": 2})
    gies.run(p)
    cur = out / "senegal-sorghum"
    # an analyst's project beside the outputs, with the relative path QGIS would save: QGIS
    # resolves links, so it must find nothing to resolve
    assert os.path.realpath(cur / "classes.tif") == str(cur / "classes.tif")
    backup = tmp_path / "usb" / "senegal-sorghum"
    shutil.copytree(cur, backup)
    first = verify_run(backup)
    for _ in range(3):
        gies.run(p)
    # three runs later (keep_runs 2): the same relative path opens the newest complete run,
    # the copy is still complete, and one earlier run is kept beside it
    with rasterio.open(cur / "classes.tif") as ds:
        assert ds.read(1).size == 3600
    assert verify_run(cur) == [] and first == [] and verify_run(backup) == []
    assert len(list((out / ".runs" / "senegal-sorghum").iterdir())) == 1


def test_a_full_disk_is_one_message(tmp_path):
    # outputs on a 3 MB tmpfs: Bungo's outputs do not fit
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3M", "tmpfs", str(small)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        out = small / "out"
        prev = out / "bungo-cocoa"
        prev.mkdir(parents=True)
        (prev / "marker.txt").write_text("previous result")
        r = _run(_pipeline(tmp_path, "bungo-cocoa.yaml", out))
        assert r.returncode == 2
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert lines == [f"gies: error: outputs.dir: the disk holding {out} is full: the run's "
                         "outputs do not fit (nothing was published; the previous result is "
                         "unchanged); free space, or choose another outputs.dir"], r.stderr
        assert "No space" not in r.stdout and "ERROR" not in r.stdout
        assert (prev / "marker.txt").read_text() == "previous result"
        assert not list(out.glob(".runs/*/*"))
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)
