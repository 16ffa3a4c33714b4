"""Run every script in ``examples/`` so none rots.

Each example runs in a subprocess as ``python examples/NAME.py OUTPUT_DIR`` with
the environment variable ``XHYDRO_EXAMPLE_SMALL=1``: an example that can be slow
reads it and shrinks its sizes. An example importing an optional dependency that
is not installed (torch, jax, cupy, matplotlib, ...) is skipped, not failed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
OPTIONAL = ("torch", "jax", "cupy", "matplotlib", "earthkit", "pyflwdir", "rioxarray", "zarr", "distributed")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][\w]*)", re.MULTILINE)


def _missing_optional(path: Path) -> list[str]:
    imported = set(_IMPORT.findall(path.read_text()))
    return sorted(m for m in imported & set(OPTIONAL) if importlib.util.find_spec(m) is None)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(path: Path, tmp_path: Path) -> None:
    missing = _missing_optional(path)
    if missing:
        pytest.skip(f"{path.name} needs {', '.join(missing)}")
    env = dict(os.environ, XHYDRO_EXAMPLE_SMALL="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([str(path.parents[1]), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(path), str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    not_found = re.search(r"ModuleNotFoundError: No module named '(\w+)", done.stderr)
    if done.returncode and not_found and not_found.group(1) in OPTIONAL:
        pytest.skip(f"{path.name} needs {not_found.group(1)}")
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
