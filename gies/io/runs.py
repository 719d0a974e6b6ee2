"""Run folders: every run writes a new folder; "current" is switched atomically.

Layout under the outputs folder (``outputs.dir``)::

    <name>            -> .runs/<name>/<run-id>     (symbolic link: the current result)
    .runs/<name>/<run-id>/                         complete runs (the newest ``keep`` kept)
    .runs/<name>/<run-id>.partial/                 a run being written

A run writes everything into ``<run-id>.partial``, renames it to ``<run-id>`` (atomic) and
then replaces the ``<name>`` link by a new one with ``os.replace`` (atomic on POSIX). So at
any moment — including after ``kill -9`` — ``<name>`` is either the previous complete result
or the new complete one, never a half-written folder. Every complete run holds
``manifest.json`` listing each file with its size and SHA-256, so completeness can be checked.

Where symbolic links are not available (Windows without developer mode), ``<name>`` is a
real folder replaced by two renames; a crash between them leaves the previous result under
``.runs/<name>/``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from gies.errors import ExportError

__all__ = ["new_run", "publish_run", "file_digest", "verify_run", "current_run"]


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_run(root: Path, name: str) -> Path:
    """Create and return an empty ``.partial`` folder for a new run of pipeline ``name``."""
    runs = root / ".runs" / name
    # microseconds: two runs of one process within a second (a 1 s pipeline run twice)
    # must not share a folder name; names still sort by time, and the pid ends the name
    now = time.time()
    run_id = (time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
              + f".{int(now % 1 * 1e6):06d}-{os.getpid()}")
    stage = runs / f"{run_id}.partial"
    try:
        if root.exists() and not root.is_dir():
            raise ExportError(f"outputs.dir: {root} exists and is not a folder")
        runs.mkdir(parents=True, exist_ok=True)
        _clean_stale(runs)
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir()
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(
            f"outputs.dir: cannot create {stage}: {exc.strerror or exc}; choose a writable "
            "folder with outputs.dir"
        ) from None
    return stage


def _clean_stale(runs: Path) -> None:
    """Remove ``.partial`` folders of runs whose process is gone (killed runs)."""
    for p in runs.glob("*.partial"):
        try:
            pid = int(p.name.removesuffix(".partial").rsplit("-", 1)[1])
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


def current_run(root: Path, name: str) -> Path | None:
    """The folder ``<root>/<name>`` points to, or None."""
    link = root / name
    if link.is_symlink() or link.is_dir():
        return link.resolve()
    return None


def publish_run(stage: Path, root: Path, name: str, *, keep: int = 3) -> Path:
    """Make the finished ``stage`` the current result of ``name``; return its final folder."""
    final = stage.with_name(stage.name.removesuffix(".partial"))
    link = root / name
    try:
        os.replace(stage, final)
        if link.exists() and not link.is_symlink():
            # a real folder (older layout or no symlinks): keep it among the runs
            os.replace(link, final.parent / f"previous-{time.strftime('%Y%m%dT%H%M%S')}")
        tmp = root / f".{name}.link-{os.getpid()}"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        try:
            os.symlink(os.path.relpath(final, root), tmp, target_is_directory=True)
            os.replace(tmp, link)
        except (OSError, NotImplementedError):
            if tmp.is_symlink():
                tmp.unlink()
            shutil.copytree(final, link)  # no symlinks here: a real folder
    except OSError as exc:
        raise ExportError(f"cannot publish the result into {link}: {exc.strerror or exc}") from None
    _prune(final.parent, keep=keep, protect=final)
    return final


def _prune(runs: Path, *, keep: int, protect: Path) -> None:
    done = sorted((p for p in runs.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                  key=lambda p: p.name)
    for p in done[:-keep] if keep > 0 else []:
        if p != protect:
            shutil.rmtree(p, ignore_errors=True)


def verify_run(folder: Path) -> list[str]:
    """Problems with a run folder: files missing or differing from its manifest (empty = ok)."""
    import json

    man = folder / "manifest.json"
    if not man.is_file():
        return [f"{folder}: no manifest.json"]
    try:
        files = json.loads(man.read_text(encoding="utf-8"))["outputs"]
    except (ValueError, KeyError) as exc:
        return [f"{man}: unreadable ({exc})"]
    problems = []
    for entry in files:
        p = folder / entry["path"]
        if not p.is_file():
            problems.append(f"{p}: missing")
        elif p.stat().st_size != entry["bytes"] or file_digest(p) != entry["sha256"]:
            problems.append(f"{p}: differs from the manifest")
    return problems
