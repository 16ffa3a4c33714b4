"""The matplotlib helpers of :mod:`xhydro_accessor.plot` (skipped without matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import xhydro_accessor as xa
from xhydro_accessor.plot import grid_extent, plot_catchments, plot_network

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")

LDD = np.array([[3, 2, 1, 2], [6, 5, 4, 2], [9, 8, 7, 5]])
COORDS = {"y": [2.5, 1.5, 0.5], "x": [10.5, 11.5, 12.5, 13.5]}


@pytest.fixture
def network() -> xa.RiverNetwork:
    return xa.RiverNetwork.from_ldd(xr.DataArray(LDD, dims=("y", "x"), coords=COORDS))


def test_line_width_grows_with_upstream_area(network) -> None:
    figure, ax = plt.subplots()
    area = xa.accumulate(network, np.ones(network.shape))
    lines = plot_network(network, area, ax=ax, max_width=4.0)
    segments = lines.get_segments()
    assert len(segments) == network.n_nodes - network.outlets.size
    flowing = network.nodes[network.downstream >= 0]
    expected = 4.0 * np.sqrt(area.ravel()[flowing] / area.max())
    np.testing.assert_allclose(lines.get_linewidths(), expected)
    # segments run from the cell centre to its downstream cell's centre, in coordinates
    assert [tuple(p) for p in segments[0]][0][0] in COORDS["x"]
    assert ax.get_xlim() == (10.5, 13.5)
    plt.close(figure)


def test_network_from_an_attached_dataarray(network) -> None:
    figure, ax = plt.subplots()
    area = xr.DataArray(xa.accumulate(network, np.ones(network.shape)), dims=("y", "x"), coords=COORDS)
    lines = plot_network(area.hydro.assign_network(network), ax=ax, min_area=2)
    flowing = network.downstream >= 0
    assert len(lines.get_segments()) == int((flowing & (area.values.ravel()[network.nodes] >= 2)).sum())
    plt.close(figure)


def test_catchments_with_gauges(network, tmp_path: Path) -> None:
    figure, ax = plt.subplots()
    labels = np.array([[1, 1, 1, 2], [1, 1, 1, 2], [1, 1, 1, 2]])
    image = plot_catchments(labels, network, gauges=[5, 11], ax=ax)
    assert image.get_extent() == list(grid_extent(network)) or tuple(image.get_extent()) == grid_extent(
        network
    )
    assert len(ax.collections) == 1 and len(ax.texts) == 2  # the markers and their numbers
    rgba = image.cmap(image.norm(image.get_array()))
    assert not np.allclose(rgba[0, 0], rgba[0, 3])  # two catchments, two colours
    figure.savefig(tmp_path / "map.png")
    plt.close(figure)


def test_without_matplotlib(monkeypatch: pytest.MonkeyPatch, network) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_catchments(np.ones(network.shape), network)


def test_accessor_plot_methods():
    net = xa.RiverNetwork.from_ldd(np.array([[3, 2, 1], [6, 5, 4], [9, 8, 7]]))
    area = xr.DataArray(xa.accumulate(net, np.ones((3, 3))), dims=("y", "x")).hydro.assign_network(net)
    lines = area.hydro.plot_network(min_area=0)
    assert len(lines.get_segments()) == 8  # one per cell draining into the centre
    labels = area.hydro.catchments({"centre": (1, 1)})
    image = labels.hydro.plot_catchments(network=net)
    assert image.get_array().shape == (3, 3)
    plt.close("all")


@pytest.mark.parametrize(
    "store",
    [
        lambda da: da.isel(y=slice(None, None, -1)),
        lambda da: da.transpose("x", "y"),
        lambda da: da.isel(x=slice(None, None, -1)).transpose("x", "y"),
    ],
)
def test_any_layout_draws_the_same_map(network, store) -> None:
    north = xr.DataArray(LDD, dims=("y", "x"), coords=COORDS)
    stored = store(north)
    other = xa.RiverNetwork.from_ldd(stored)
    figure, ax = plt.subplots()

    def drawn(net):
        segments = plot_network(net, ax=ax, min_area=0).get_segments()
        return sorted(tuple(np.round(s, 6).ravel()) for s in segments)

    assert drawn(other) == drawn(network)
    labels = np.arange(1, 13).reshape(3, 4)
    stored_labels = store(north.copy(data=labels)).values

    def image(labels, net):
        shown = plot_catchments(labels, net, ax=ax)
        array = np.asarray(shown.get_array())
        return array if shown.origin == "upper" else array[::-1]

    np.testing.assert_array_equal(image(stored_labels, other), image(labels, network))
    plt.close(figure)
