"""Compiled kernels (numba): the per-cell loops behind scoring, warping and zone sums.

Formulas and references are with the functions that call the kernels (:mod:`gies.methods`,
:mod:`gies.stages`); each kernel here is one pass over a block. Kernels are imported on first
use, so that a process that computes nothing (``gies validate``, ``gies --version``) never
imports numba:

* :mod:`gies.kernels.cells` (scores, minimum, classes, counts) compiles each function on its
  first call (:func:`jit`); inside :func:`python_mode` (the dry runs of
  :func:`gies.methods.registry.check_call`) the same functions run as plain Python;
* :mod:`gies.kernels.warp`, :mod:`~gies.kernels.coverage`, :mod:`~gies.kernels.zonal` and
  :mod:`~gies.kernels.ranks` import numba when they are imported (kernels there call each
  other, which numba resolves at compile time).

``cache=True`` everywhere: machine code is compiled once per machine and argument types and
then read from ``__pycache__``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["jit", "Kernel", "python_mode", "warm", "numba_cache_ready"]

_PYTHON = contextvars.ContextVar("gies_kernels_python", default=False)


@contextlib.contextmanager
def python_mode() -> Iterator[None]:
    """Run :class:`Kernel` functions as plain Python within this block (no numba)."""
    token = _PYTHON.set(True)
    try:
        yield
    finally:
        _PYTHON.reset(token)


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (made if missing)."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


_CACHE_LOCK = threading.Lock()


def numba_cache_ready() -> str | None:
    """Make sure numba can cache compiled kernels before it first compiles one.

    numba caches beside the source (``gies/kernels/__pycache__``), else in the user's cache
    folder (``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``); with neither writable (an
    installed package and no writable home: a service account, ``docker run -u``) every
    ``cache=True`` kernel would fail to compile ("no locator available"). Then
    ``NUMBA_CACHE_DIR`` is set to a folder of the system's temporary directory (per user),
    which changes where machine code is kept, never what it computes. Returns the folder
    set, or ``None`` when numba's own locations (or a ``NUMBA_CACHE_DIR`` the user set) are
    used."""
    import os
    import sys
    import tempfile

    with _CACHE_LOCK:
        if os.environ.get("NUMBA_CACHE_DIR"):
            return None
        home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        if _writable(Path(__file__).parent / "__pycache__") or _writable(Path(home) / "numba"):
            return None
        uid = os.getuid() if hasattr(os, "getuid") else "user"
        folder = Path(tempfile.gettempdir()) / f"gies-numba-cache-{uid}"
        if not _writable(folder):
            folder = Path(tempfile.mkdtemp(prefix="gies-numba-cache-"))
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        if "numba" in sys.modules:  # numba read its configuration already
            sys.modules["numba"].config.CACHE_DIR = str(folder)
        return str(folder)


class Kernel:
    """A function compiled by numba on its first call, or run as Python in
    :func:`python_mode` (its source is plain Python: ``py_func``)."""

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]):
        functools.update_wrapper(self, fn)
        self.py_func, self.options = fn, options
        self._compiled: Callable[..., Any] | None = None
        self._lock = threading.Lock()

    def compiled(self) -> Callable[..., Any]:
        """The numba dispatcher (created once)."""
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    numba_cache_ready()
                    import numba

                    self._compiled = numba.njit(**self.options)(self.py_func)
        return self._compiled

    def __call__(self, *args):
        if _PYTHON.get():
            return self.py_func(*args)
        return (self._compiled or self.compiled())(*args)


def jit(**options: Any) -> Callable[[Callable[..., Any]], Kernel]:
    """``numba.njit(**options)`` applied on first call (see :class:`Kernel`)."""
    def deco(fn: Callable[..., Any]) -> Kernel:
        return Kernel(fn, options)
    return deco


def warm() -> None:
    """Get numba ready in a background thread while a run validates and plans: the first
    compiled kernel a process calls costs ~0.3 s (numba's import and code generator set-up,
    then its cached machine code), most of it outside the GIL; later ones load in
    milliseconds."""
    def run() -> None:
        try:
            import numpy as np

            from gies.kernels import cells

            cells.count_valid(np.zeros(1, dtype=np.float32))
        except Exception:  # noqa: BLE001 - only a head start; the run reports real errors
            pass

    threading.Thread(target=run, name="gies-warm-kernels", daemon=True).start()
