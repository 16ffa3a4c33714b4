"""The layers: array level below the xarray layer below the thin accessor (design.md §1)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import xhydro_accessor
from xhydro_accessor.accessor import CATALOGUE, HydroAccessor

PACKAGE = Path(xhydro_accessor.__file__).parent

#: the xarray layer and what stands on it
XARRAY_LEVEL = {
    "xhydro_accessor.accessor",
    "xhydro_accessor.xarray_ops",
    "xhydro_accessor.hydrology.xarray_layer",
    "xhydro_accessor.network_index",
    "xhydro_accessor.plot",
    "xhydro_accessor.cli",
    "xhydro_accessor.demo",
}
ARRAY_LEVEL = sorted(
    [
        *(PACKAGE / name for name in ("operations.py", "geometry.py", "units.py", "layout.py", "network.py")),
        *(p for p in (PACKAGE / "hydrology").glob("*.py") if p.name != "xarray_layer.py"),
        *(PACKAGE / "kernels").glob("*.py"),
        *(PACKAGE / "backends").glob("*.py"),
    ]
)


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Modules ``path`` imports, at the top or inside functions (``if TYPE_CHECKING:`` left out);
    relative imports resolved, ``from package import module`` giving the module."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    tree = ast.parse(path.read_text())
    skipped = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("path", ARRAY_LEVEL, ids=lambda p: _module(p))
def test_array_level_imports_no_xarray_level_code(path: Path) -> None:
    imported = imports(path)
    assert not imported & XARRAY_LEVEL, f"{_module(path)} imports {imported & XARRAY_LEVEL}"
    assert "xarray" not in {m.split(".")[0] for m in imported}


def test_the_import_check_sees_imports_inside_functions() -> None:
    """The checker itself: a lazy import counts, a relative one is resolved, TYPE_CHECKING is left out."""
    assert "xhydro_accessor.xarray_ops" in imports(PACKAGE / "plot.py")  # lazy, inside _network_of
    assert "xhydro_accessor.xarray_ops.convert_units" in imports(PACKAGE / "cli.py")
    assert "xarray" not in imports(PACKAGE / "network.py")  # only under TYPE_CHECKING


def test_the_xarray_layer_does_not_import_the_accessor() -> None:
    for module in ("xarray_ops.py", "hydrology/xarray_layer.py", "plot.py"):
        assert "xhydro_accessor.accessor" not in imports(PACKAGE / module), module
    assert "xhydro_accessor.xarray_ops" not in imports(PACKAGE / "units.py")


METHODS = sorted(n for n, m in inspect.getmembers(HydroAccessor) if not n.startswith("_") and callable(m))


def test_the_accessor_has_the_methods() -> None:
    expected = {"accumulate", "assign_network", "catchments", "subnetwork", "cell_area", "plot_network"}
    assert expected <= set(METHODS)


@pytest.mark.parametrize("name", METHODS)
def test_every_accessor_method_has_its_signature_and_an_example(name: str) -> None:
    """What Jupyter shows: the parameters by name (no ``*args``), a numpydoc docstring with an example.

    ``**kwargs`` only on the plot methods, where they are matplotlib's styling options."""
    method = getattr(HydroAccessor, name)
    kinds = [p.kind for p in inspect.signature(method).parameters.values()]
    assert inspect.Parameter.VAR_POSITIONAL not in kinds
    assert inspect.Parameter.VAR_KEYWORD not in kinds or name.startswith("plot_")
    assert list(inspect.signature(method).parameters)[0] == "self"
    doc = inspect.getdoc(method) or ""
    assert "Examples\n--------\n>>> " in doc, name
    assert f".hydro.{name}(" in doc, name  # the example calls the method


def test_one_convention_for_the_spatial_dims() -> None:
    """Every method working on the grid takes ``x_dim=``/``y_dim=``, keyword-only (so do the
    xarray-layer functions): no ``**dims``, no positional dims."""
    from xhydro_accessor import xarray_ops
    from xhydro_accessor.hydrology import xarray_layer

    on_grid = [n for n in METHODS if n != "drop_network" and not n.startswith("plot_")]
    functions = [getattr(HydroAccessor, n) for n in on_grid]
    functions += [getattr(xarray_layer, n) for n in CATALOGUE] + [xarray_ops.apply, xarray_ops.cell_area]
    for function in functions:
        params = inspect.signature(function).parameters
        for dim in ("x_dim", "y_dim"):
            assert params[dim].kind is inspect.Parameter.KEYWORD_ONLY, (function.__qualname__, dim)


def test_no_module_imports_another_modules_private_names() -> None:
    """Issue 15: no private-member access across modules — a name another module needs is public."""
    found = []
    for path in Path(xhydro_accessor.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("xhydro")):
                private = [a.name for a in node.names if a.name.startswith("_")]
                found += [f"{path.name}: {node.module}.{name}" for name in private]
    assert not found, found
