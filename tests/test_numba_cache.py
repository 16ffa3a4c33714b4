"""Deployment: the package works installed read-only, with a read-only ``$HOME``.

numba's ``cache=True`` raises at import when neither the sources' ``__pycache__`` nor
the user's cache folder is writable; the kernels then cache in a private folder under
``$TMPDIR``. As root (CI), permissions do not stop writes: the run then sees the
package and ``$HOME`` through read-only bind mounts in a private mount namespace.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import xhydro_accessor

SCRIPT = """
import numpy as np, numba, xhydro_accessor as xa
net = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4]]))
print(xa.accumulate(net, np.ones((2, 3))).tolist())
print(xa.__file__)
print(numba.config.CACHE_DIR)
"""


def _read_only(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            os.chmod(Path(folder) / name, 0o444)
        os.chmod(folder, 0o555)


def _read_only_mounts(*folders: Path) -> list[str]:
    """A command prefix running the rest with ``folders`` mounted read-only (root only)."""
    mounts = " && ".join(f'mount --bind "{f}" "{f}" && mount -o remount,bind,ro "{f}"' for f in folders)
    prefix = ["unshare", "-m", "sh", "-c", f'{mounts} && exec "$@"', "sh"]
    probe = subprocess.run([*prefix, "touch", str(folders[0] / "probe")], capture_output=True, text=True)
    if "Read-only file system" not in probe.stderr:
        pytest.skip(f"cannot make read-only mounts as root here: {probe.stderr.strip()[:200]}")
    return prefix


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_read_only_install_and_home_still_accumulate() -> None:
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="xhydro-readonly-"))  # outside pytest's 0700 tree
    try:
        os.chmod(base, 0o755)
        site, home, tmp = base / "site", base / "home", base / "tmp"
        shutil.copytree(
            Path(xhydro_accessor.__file__).parent,
            site / "xhydro_accessor",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        home.mkdir()
        tmp.mkdir(mode=0o777)
        os.chmod(tmp, 0o777 | stat.S_ISVTX)
        _read_only(site)
        _read_only(home)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_", "PYTHON"))}
        env.update(HOME=str(home), TMPDIR=str(tmp), PYTHONPATH=str(site), PYTHONDONTWRITEBYTECODE="1")
        command = [sys.executable, "-c", SCRIPT]
        if as_root:
            command = [*_read_only_mounts(site, home), *command]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=base,
            env=env,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        counts, package, cache = done.stdout.split("\n")[:3]
        assert counts == "[[1.0, 1.0, 1.0], [1.0, 6.0, 1.0]]"
        assert Path(package).is_relative_to(site)  # the read-only copy ran
        assert Path(cache).is_relative_to(tmp) and any(Path(cache).rglob("*.nbi"))  # cached there
        assert not any(site.rglob("*.nbi"))
    finally:
        for folder, _, _ in os.walk(base):
            os.chmod(folder, 0o755)
        shutil.rmtree(base)
