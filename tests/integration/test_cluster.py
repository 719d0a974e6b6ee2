"""The same pipeline on a distributed cluster (worker processes on loopback) and locally."""

from pathlib import Path

import numpy as np
import pytest
import rasterio

import gies

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as c:
        yield c


@pytest.mark.parametrize("name", ["senegal-sorghum-laea.yaml", "bungo-cocoa.yaml"])
def test_cluster_run_matches_local_run(cluster, name, tmp_path, repo):
    path = REPO / "pipelines" / name
    local = gies.run(path, output_root=tmp_path / "local", force=True)
    remote = gies.run(path, output_root=tmp_path / "remote", force=True,
                      scheduler=cluster.scheduler_address)
    for tif in sorted(p.name for p in local.output_dir.glob("*.tif")):
        with rasterio.open(local.output_dir / tif) as a, rasterio.open(remote.output_dir / tif) as b:
            x, y = a.read(1), b.read(1)
        if x.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-6, equal_nan=True, err_msg=tif)
        else:
            assert np.array_equal(x, y), tif
    assert (local.aoi_summary.drop(columns=["zone_name"]).round(6).equals(
        remote.aoi_summary.drop(columns=["zone_name"]).round(6)))
    assert remote.quality == local.quality


def test_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    from gies.cli import main
    rc = main(["run", "-q", "--scheduler", "tcp://127.0.0.1:1",
               str(REPO / "pipelines" / "senegal-sorghum.yaml")])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot reach the Dask scheduler" in err and "Traceback" not in err
