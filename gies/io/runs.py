"""Run folders: every run writes a new folder; the current result is swapped in whole.

Layout under the outputs folder (``outputs.dir``)::

    <name>/                                        the current result (a real folder)
    .runs/<name>/<run-id>/                         earlier complete runs (``keep`` in all)
    .runs/<name>/<run-id>.partial/                 a run being written

A run writes everything into ``<run-id>.partial`` and renames it to ``<run-id>`` when it is
complete. Publishing then swaps ``<run-id>`` and ``<name>`` in one atomic step
(``renameat2(RENAME_EXCHANGE)``, Linux 3.15+ on ext4, XFS, Btrfs, tmpfs, ...) and files the
previous result under ``.runs/<name>/`` by its own run id. So at any moment, including after
``kill -9``, ``<name>`` is a complete result, previous or new, and never a half-written or
missing folder; it is a plain folder, so a QGIS project saved with relative paths next to it
and a copy (``cp -r outputs/<name> /media/usb/``) see one complete run.

Where the exchange is not available (other systems, some network file systems) the
previous result is renamed aside first and the new one renamed into place: for the instant
between the two renames ``<name>`` does not exist (a crash there leaves both runs complete
under ``.runs/<name>/``, and the next run publishes again). Every complete run holds
``manifest.json`` listing each file with its size and SHA-256, so completeness can be
checked (:func:`verify_run`), and a hidden ``.run`` file with its run id. A ``<name>``
symbolic link left by older versions of gies is replaced by the folder.
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
    """The current result of ``name`` (the folder ``<root>/<name>``), or None."""
    link = root / name
    if link.is_symlink() or link.is_dir():
        return link.resolve()
    return None


#: ``renameat2`` flag (linux/fs.h) and the ``AT_FDCWD`` directory descriptor.
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (``renameat2(RENAME_EXCHANGE)``); False where the system
    or file system cannot, so that the caller falls back to two renames."""
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _file_away(old: Path, runs: Path) -> None:
    """Put a previous result (moved to ``old``) among the runs, under its own run id."""
    if old.is_symlink():  # the link of older versions: its target is already a run
        old.unlink()
        return
    marker = old / ".run"
    run_id = (marker.read_text(encoding="utf-8").strip() if marker.is_file()
              else "previous-" + time.strftime("%Y%m%dT%H%M%S", time.gmtime(old.stat().st_mtime)))
    dest = runs / run_id
    if dest.exists() and dest != old:
        dest = runs / f"{run_id}-{os.getpid()}"
    if dest != old:
        os.replace(old, dest)


def publish_run(stage: Path, root: Path, name: str, *, keep: int = 3) -> Path:
    """Make the finished ``stage`` the current result ``<root>/<name>`` (see the module
    docstring) and keep the newest ``keep`` complete runs in all; return ``<root>/<name>``."""
    runs = stage.parent
    run_id = stage.name.removesuffix(".partial")
    final = runs / run_id
    current = root / name
    try:
        (stage / ".run").write_text(run_id + "\n", encoding="utf-8")
        os.replace(stage, final)
        if not current.exists() and not current.is_symlink():
            os.rename(final, current)
        elif _exchange(final, current):
            _file_away(final, runs)  # ``final`` now holds the previous result
        else:
            aside = runs / f"{run_id}.previous"
            os.rename(current, aside)
            os.rename(final, current)
            _file_away(aside, runs)
    except OSError as exc:
        raise ExportError(f"cannot publish the result into {current}: "
                          f"{exc.strerror or exc}") from None
    _prune(runs, keep=keep - 1)
    return current


def _prune(runs: Path, *, keep: int) -> None:
    """Keep the newest ``keep`` earlier runs (by run id, which sorts by time)."""
    done = sorted((p for p in runs.iterdir() if p.is_dir() and not p.name.endswith(".partial")),
                  key=lambda p: p.name)
    for p in done[:-keep] if keep > 0 else done:
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
