"""Packaging habits: one version source, typed, and optional libraries never imported at import time."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import xhydro_accessor

ROOT = Path(__file__).resolve().parents[1]


def test_version_comes_from_the_package_metadata() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert xhydro_accessor.__version__ == declared


def test_package_declares_its_type_hints() -> None:
    assert (Path(xhydro_accessor.__file__).parent / "py.typed").is_file()
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["xhydro_accessor"]


def test_import_loads_no_optional_library() -> None:
    code = (
        "import sys, xhydro_accessor; "
        "print(sorted(m for m in ('torch', 'jax', 'cupy', 'tensorflow', 'mlx', 'rioxarray', 'geopandas', "
        "'matplotlib', 'pyflwdir') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
