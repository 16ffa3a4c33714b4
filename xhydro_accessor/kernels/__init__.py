"""Compiled CPU kernels (numba). Imported lazily: ``import xhydro_accessor`` stays light.

The kernels are compiled with ``cache=True``. numba caches beside the sources
(``__pycache__``) or in the user's cache folder, and refuses to compile at all when
neither is writable (a read-only install with a read-only ``$HOME``): there the cache
goes to a private folder under the system's temporary directory instead.
"""

import os
import tempfile
from pathlib import Path

import numba
from numba.misc.appdirs import AppDirs


def _writable(folder: str | Path) -> bool:
    """Whether numba can cache in ``folder`` (its own test: create it, write a file)."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def _private_temporary_cache() -> str:
    """A folder only this user can write (numba loads pickled code from it), kept across runs."""
    uid = getattr(os, "getuid", lambda: None)()
    folder = Path(tempfile.gettempdir()) / f"xhydro_accessor-numba-{uid}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()  # not a link, ours, closed to others: else a fresh folder
        if uid is not None and folder.is_dir() and info.st_uid == uid and not info.st_mode & 0o077:
            return str(folder)
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="xhydro_accessor-numba-")


def _ensure_numba_cache() -> None:
    user_wide = AppDirs("numba", appauthor=False).user_cache_dir
    # numba.config sets its attributes at import time from NUMBA_* variables: its typing lacks them
    configured = numba.config.CACHE_DIR  # type: ignore[attr-defined]
    places = [configured, Path(__file__).parent / "__pycache__", user_wide]
    if not any(place and _writable(place) for place in places):
        numba.config.CACHE_DIR = _private_temporary_cache()  # type: ignore[attr-defined]  # as above


_ensure_numba_cache()
