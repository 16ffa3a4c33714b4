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


# --------------------------------------------------------------------------- #
# the snippets run and say what the code does
# --------------------------------------------------------------------------- #

ROOT = DOCS.parent


def _python_block(path: Path, containing: str) -> str:
    """The fenced ```python block of ``path`` that contains ``containing``."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), re.DOTALL)
    found = [b for b in blocks if containing in b]
    assert len(found) == 1, f"{path.name}: {len(found)} python blocks contain {containing!r}"
    return found[0]


def _lat_lon_network():
    """Rhine-like test grid: 0.5° cells over 46.5–52.5 N, 5–9 E, all flowing north to pits."""
    import numpy as np
    import xarray as xr

    import xhydro_accessor as xa

    lat, lon = np.arange(52.25, 46.5, -0.5), np.arange(5.25, 9.0, 0.5)
    ldd = np.full((lat.size, lon.size), 8)
    ldd[0] = 5
    return xa.RiverNetwork.from_ldd(xr.DataArray(ldd, dims=("lat", "lon"), coords={"lat": lat, "lon": lon}))


def test_readme_first_accumulation_runs() -> None:
    import numpy as np

    namespace: dict = {}
    exec(_python_block(ROOT / "README.md", "xa.accumulate(net, np.ones((2, 3)))"), namespace)
    out = namespace["xa"].accumulate(namespace["net"], np.ones((2, 3)))
    np.testing.assert_array_equal(out, [[1, 1, 1], [1, 6, 1]])  # what the snippet's comment shows


def test_readme_torch_snippet_gives_a_finite_loss_and_gradient() -> None:
    torch = pytest.importorskip("torch")
    import numpy as np
    import xarray as xr

    import xhydro_accessor as xa

    ldd = np.full((4, 3), 8)
    ldd[0] = 5
    ldd[:, 2] = 255  # off the network: NaN in the accumulation
    net = xa.RiverNetwork.from_ldd(ldd)
    tensor = torch.rand(2, 4, 3, dtype=torch.float64, requires_grad=True)
    namespace = {"xr": xr, "net": net, "tensor": tensor}
    exec(_python_block(ROOT / "README.md", "loss.backward()"), namespace)
    assert torch.isfinite(namespace["loss"])
    # d(sum of accumulations)/d(cell): the cells on its path to the outlet, itself included
    on_path = np.array([[1, 1, 0], [2, 2, 0], [3, 3, 0], [4, 4, 0]], float)
    np.testing.assert_array_equal(tensor.grad.numpy(), np.broadcast_to(on_path, (2, 4, 3)))


def test_howto_catchments_snippet_runs_with_its_own_gauges(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import xarray as xr

    import xhydro_accessor as xa

    net = _lat_lon_network()
    runoff = xr.DataArray(np.ones((2, *net.shape)), dims=("time", "lat", "lon"))
    runoff = runoff.assign_coords({d: net.coords[d] for d in net.dims}).hydro.assign_network(net)
    namespace = {"xa": xa, "net": net, "runoff": runoff}
    exec(_python_block(DOCS / "howto.md", "plot_catchments"), namespace)
    labels = namespace["labels_da"].values
    # Lobith (51.84 N, 6.11 E) is in row 1, column 2, Basel (47.56 N, 7.59 E) in row 9, column 5;
    # everything flows north: each catchment is its cell and the cells south of it
    expected = np.zeros(net.shape, int)
    expected[1:, 2], expected[9:, 5] = 1, 2
    np.testing.assert_array_equal(labels, expected)
    figure = matplotlib.pyplot.gcf()
    assert [t.get_text() for t in figure.axes[0].texts] == ["1", "2"]
    matplotlib.pyplot.close(figure)


def test_cli_doc_lists_every_command_and_option() -> None:
    import re

    from xhydro_accessor.cli import build_parser

    text = (DOCS / "cli.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    assert re.findall(r"^## `(\w+)`", text, re.MULTILINE) == list(commands)
    assert f"has {('two', 'three', 'four')[len(commands) - 2]} commands" in text
    for name, command in commands.items():
        section = text.split(f"## `{name}`")[1].split("\n## ")[0]
        for action in command._actions:
            if action.option_strings and "--help" not in action.option_strings:
                named = [re.search(rf"(?<![\w-]){re.escape(o)}\b", section) for o in action.option_strings]
                assert any(named), (name, action.option_strings)


def test_comparison_names_earthkit_functions_that_exist() -> None:
    import re

    ekh = pytest.importorskip("earthkit.hydro")
    text = (DOCS / "comparison.md").read_text()
    for name in set(re.findall(r"`ekh\.([\w.]+)", text)):
        obj = ekh
        for part in name.split("."):
            obj = getattr(obj, part)  # AttributeError: the table names a function that is not there
    row = next(line for line in text.splitlines() if line.startswith("| repair a network"))
    assert row.split("|")[2].strip() != "—" and hasattr(ekh.river_network, "repair")


def test_comparison_maps_every_peer_function_to_a_test_that_exists() -> None:
    """docs/comparison.md names every public function of earthkit-hydro's modules and every
    public method of pyflwdir's FlwdirRaster, and each test it cites is defined."""
    import inspect
    import re

    ekh = pytest.importorskip("earthkit.hydro")
    pyflwdir = pytest.importorskip("pyflwdir")
    text = (DOCS / "comparison.md").read_text()
    first_cells = [line.split("|")[1] for line in text.splitlines() if line.startswith("| `ekh.")]
    missing = []
    for module_name in [n for n in dir(ekh) if not n.startswith("_")]:
        module = getattr(ekh, module_name)
        if not inspect.ismodule(module):
            continue
        for name in [n for n in dir(module) if not n.startswith("_")]:
            if inspect.ismodule(getattr(module, name)) or not callable(getattr(module, name)):
                continue
            if not any(f"ekh.{module_name}." in c and re.search(rf"\b{name}\b", c) for c in first_cells):
                missing.append(f"ekh.{module_name}.{name}")
    for name in [n for n in dir(pyflwdir.FlwdirRaster) if not n.startswith("_")]:
        if not re.search(rf"`(flw\.|FlwdirRaster\.)?{name}\b", text):
            missing.append(f"FlwdirRaster.{name}")
    assert not missing, missing
    for path, test in set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)):
        assert f"def {test}(" in (DOCS.parent / path).read_text(), (path, test)
