"""The documentation builds with warnings as errors (skipped without Sphinx)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    pytest.importorskip("sphinx", reason="the docs need Sphinx: pip install -e '.[docs]'")
    pytest.importorskip("myst_parser", reason="the docs need myst-parser: pip install -e '.[docs]'")
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-q",
        "-b",
        "html",
        str(DOCS),
        str(tmp_path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-5000:]
    for page in ("index", "getting_started", "concepts", "howto", "cli", "comparison", "api"):
        assert (tmp_path / f"{page}.html").is_file(), page
    assert "open_network" in (tmp_path / "api.html").read_text()
