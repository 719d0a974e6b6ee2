"""Run folders (gies.io.runs): two runs of one process within a second publish both."""

from __future__ import annotations

import os

from gies.io.runs import new_run, publish_run


def test_back_to_back_runs_get_their_own_folders(tmp_path):
    # a small pipeline runs in under a second: the second run of the same process used to
    # get the first one's folder name and failed to publish ("Directory not empty")
    for i in range(3):
        stage = new_run(tmp_path, "demo")
        (stage / "result.txt").write_text(str(i))
        assert publish_run(stage, tmp_path, "demo", keep=5) == tmp_path / "demo"
    ids = sorted(p.name for p in (tmp_path / ".runs" / "demo").iterdir())
    ids.append((tmp_path / "demo" / ".run").read_text().strip())
    assert len(set(ids)) == 3
    assert sorted(ids) == ids  # names sort by time
    assert all(i.endswith(f"-{os.getpid()}") for i in ids)
    assert (tmp_path / "demo" / "result.txt").read_text() == "2"


def _publish(root, text, keep=3):
    stage = new_run(root, "demo")
    (stage / "result.txt").write_text(text)
    return publish_run(stage, root, "demo", keep=keep)


def test_the_current_result_is_a_real_folder_and_earlier_runs_stay_beside_it(tmp_path):
    import shutil

    for i in range(5):
        assert _publish(tmp_path, f"run {i}") == tmp_path / "demo"
    cur = tmp_path / "demo"
    assert cur.is_dir() and not cur.is_symlink()
    assert os.path.realpath(cur) == str(cur)  # nothing for a QGIS project to resolve
    assert (cur / "result.txt").read_text() == "run 4"
    # keep = 3 in all: the current one and the two before it, under their own run ids
    earlier = sorted((tmp_path / ".runs" / "demo").iterdir())
    assert [(p / "result.txt").read_text() for p in earlier] == ["run 2", "run 3"]
    assert all((p / ".run").read_text().strip() == p.name for p in earlier)
    # a copy of the published folder is the whole run, not a link
    shutil.copytree(cur, tmp_path / "usb" / "demo")
    assert (tmp_path / "usb" / "demo" / "result.txt").read_text() == "run 4"
    assert not any(p.is_symlink() for p in (tmp_path / "usb").rglob("*"))


def test_a_link_of_the_older_layout_is_replaced_by_the_folder(tmp_path):
    runs = tmp_path / ".runs" / "demo"
    old = runs / "20250101T000000.000000-1"
    old.mkdir(parents=True)
    (old / "result.txt").write_text("old")
    os.symlink(os.path.relpath(old, tmp_path), tmp_path / "demo", target_is_directory=True)
    _publish(tmp_path, "new")
    assert not (tmp_path / "demo").is_symlink()
    assert (tmp_path / "demo" / "result.txt").read_text() == "new"
    assert (old / "result.txt").read_text() == "old"  # the earlier run is kept


def test_without_an_atomic_exchange_two_renames_publish_the_same(tmp_path, monkeypatch):
    import gies.io.runs as runs_mod

    monkeypatch.setattr(runs_mod, "_exchange", lambda a, b: False)
    for i in range(4):
        _publish(tmp_path, f"run {i}")
    assert (tmp_path / "demo" / "result.txt").read_text() == "run 3"
    earlier = sorted((tmp_path / ".runs" / "demo").iterdir())
    assert [(p / "result.txt").read_text() for p in earlier] == ["run 1", "run 2"]


def test_the_current_result_never_disappears_while_publishing(tmp_path):
    import threading

    from gies.io.runs import _exchange

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    if not _exchange(a, b):
        import pytest

        pytest.skip("no atomic exchange on this file system")
    _publish(tmp_path, "first")
    missing, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            if not (tmp_path / "demo" / "result.txt").is_file():
                missing.append(1)

    t = threading.Thread(target=watch)
    t.start()
    try:
        for i in range(40):
            _publish(tmp_path, f"run {i}")
    finally:
        stop.set()
        t.join()
    assert missing == []
    assert (tmp_path / "demo" / "result.txt").read_text() == "run 39"
