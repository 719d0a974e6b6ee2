"""Run folders (gies.io.runs): two runs of one process within a second publish both."""

from __future__ import annotations

import os

from gies.io.runs import new_run, publish_run


def test_back_to_back_runs_get_their_own_folders(tmp_path):
    # a small pipeline runs in under a second: the second run of the same process used to
    # get the first one's folder name and failed to publish ("Directory not empty")
    finals = []
    for i in range(3):
        stage = new_run(tmp_path, "demo")
        (stage / "result.txt").write_text(str(i))
        finals.append(publish_run(stage, tmp_path, "demo", keep=5))
    assert len({f.name for f in finals}) == 3
    assert sorted(f.name for f in finals) == [f.name for f in finals]  # names sort by time
    assert all(f.name.endswith(f"-{os.getpid()}") for f in finals)
    assert (tmp_path / "demo" / "result.txt").read_text() == "2"
