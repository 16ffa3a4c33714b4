"""The opt-in strict-alignment guard: network coordinates without their index.

A :class:`~xhydro_accessor.network_index.NetworkIndex` compares networks itself
whenever two indexed objects align (always on, public xarray API). xarray never
shows an index the *unindexed* same-named coordinate of another operand (a file
opened without ``engine="hydro"``): alignment overwrites it with the indexed
operand's (``reopened + indexed`` moves the reopened field onto the other network),
arithmetic drops two conflicting unindexed ones, and ``ds["q"] = da`` drops
``da``'s network coordinate whenever the Dataset has one, indexed or not.

``xa.set_options(strict_alignment=True)`` (:func:`xhydro_accessor.set_options`)
wraps xarray's ``Aligner.align`` and ``Dataset.update`` with
:func:`check_alignment`, :func:`check_aligned` and :func:`check_assignment` so
those cases raise the same alignment error as two indexes; setting it back to
False (or leaving its ``with`` block) restores xarray's own methods. Importing the
package changes nothing in xarray. ``Aligner`` is private to xarray: if it has
moved, :func:`install` warns (:class:`StrictAlignmentWarning`) and guards only
``Dataset.update``. Codes are compared only where network coordinates meet; any
other alignment pays one scan of the objects' indexes and coordinates (~10 µs).
"""

from __future__ import annotations

import functools
import importlib
import warnings
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import xarray as xr

from .layout import grid_layout
from .network import RiverNetwork
from .network_codec import decode_network, is_network_coordinate, node_labels
from .network_index import NetworkIndex, alignment_error


class StrictAlignmentWarning(RuntimeWarning):
    """The strict-alignment guard could not be installed in full (xarray's internals moved)."""


def _coords(obj) -> Mapping[Hashable, xr.Variable]:
    """The coordinate variables of a DataArray, Dataset or Coordinates (all get aligned)."""
    return obj.variables if isinstance(obj, xr.Coordinates) else obj.coords.variables


def _indexes(obj) -> Mapping[Hashable, xr.Index]:
    """``obj.xindexes`` as a plain mapping (its private dict when present: 10× cheaper)."""
    indexes = getattr(obj, "_indexes", None)
    return indexes if isinstance(indexes, dict) else obj.xindexes


def _agree(index: NetworkIndex, variable: xr.Variable, ids: Any) -> bool:
    if variable.dims != index.dims:
        if set(variable.dims) != set(index.dims):
            return False
        variable = variable.transpose(*index.dims)
    return index.matches(variable, ids) is not False


def check_alignment(
    objects: Iterable[Any],
    indexes: Iterable[xr.Index] = (),
    join: Any = "inner",
    exclude_dims: Iterable[Hashable] = (),
) -> None:
    """Raise if an unindexed network coordinate disagrees with a network index.

    With ``strict_alignment`` on, run before every :func:`xarray.align` (so arithmetic, ``where``, ``merge``,
    ``concat``, ``broadcast``, ``reindex_like`` …). Two :class:`NetworkIndex` are
    compared by the index itself (:meth:`NetworkIndex.join`); a network coordinate
    *without* index (reopened from a file) is never shown to it: xarray would
    overwrite it with the indexed object's coordinate and network (or, with
    ``join="exact"``, ``merge`` would keep the indexed variable), silently.
    :func:`check_aligned` then compares unindexed coordinates with each other.

    Not checked: ``join="override"`` (the caller's word that the coordinates are the
    same, as for two indexes), and alignments of :class:`xarray.Coordinates`
    (``assign_coords``/``coords.update``: the new coordinate replaces the old one).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xhydro_accessor import RiverNetwork
    >>> net = RiverNetwork.from_ldd(np.array([[6, 5]]))
    >>> a = xr.DataArray([[1.0, 2.0]], dims=("y", "x")).hydro.assign_network(net)
    >>> reopened = a.drop_indexes("flow_direction").copy(deep=True)  # as read from a file
    >>> reopened.flow_direction.values[0, 0] = 5  # another network: two outlets
    >>> (a + reopened).hydro.network == net  # xarray took a's coordinate, silently
    True
    >>> import xhydro_accessor as xa
    >>> with xa.set_options(strict_alignment=True):
    ...     a + reopened  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    AlignmentError: cannot align objects attached to different river networks (coordinate ...
    """
    objects = tuple(objects)
    if _unchecked(objects, join):
        return
    exclude = set(exclude_dims)
    own = [_indexes(obj) for obj in objects]
    found: dict[Hashable, NetworkIndex] = {}
    for index in (*indexes, *(i for xindexes in own for i in xindexes.values())):
        if isinstance(index, NetworkIndex) and not exclude & set(index.dims):
            found.setdefault(index.name, index)
    for name, index in found.items():
        for obj, xindexes in zip(objects, own, strict=True):
            coords = _coords(obj)
            variable = coords.get(name)
            if variable is None or isinstance(xindexes.get(name), NetworkIndex):
                continue
            if not _agree(index, variable, node_labels(coords, variable.dims)):
                raise alignment_error(name, unindexed=True)


def check_aligned(results: Iterable[Any], join: Any = "inner", exclude_dims: Iterable[Hashable] = ()) -> None:
    """Raise if aligned objects hold unindexed network coordinates of different networks.

    With ``strict_alignment`` on, run after :func:`xarray.align`, on the common grid (so codes sliced blindly
    from the same file agree): arithmetic would otherwise drop the network coordinate
    silently. Same exceptions as :func:`check_alignment`.
    """
    results = tuple(results)
    if len(results) < 2 or _unchecked(results, join):
        return
    exclude = set(exclude_dims)
    first: dict[Hashable, tuple[xr.Variable, Any]] = {}
    for obj in results:
        coords = _coords(obj)
        for name, variable in coords.items():
            if not is_network_coordinate(variable) or exclude & set(variable.dims):
                continue
            seen = first.setdefault(name, (variable, coords))
            if seen[0] is not variable and not _same_codes(seen[0], variable, seen[1], coords):
                raise alignment_error(name, unindexed=True)


def _unchecked(objects: tuple, join: Any) -> bool:
    return join == "override" or any(isinstance(obj, xr.Coordinates) for obj in objects)


def check_assignment(dataset: xr.Dataset, other: Mapping[Any, Any]) -> None:
    """Raise if ``dataset.update(other)`` would drop a DataArray's different network.

    ``ds["q"] = da`` (and ``ds.assign``/``ds.update`` with DataArrays) drops every
    coordinate of ``da`` that the Dataset also has, so ``q`` would silently land on
    the Dataset's network. Same networks (or no network on either side) pass.
    """
    for key, value in other.items():
        if not isinstance(value, xr.DataArray):
            continue
        for name in value.coords:
            if name in value.dims or name not in dataset.coords:
                continue
            mine, theirs = dataset.variables[name], value.coords[name].variable
            my_index, their_index = dataset.xindexes.get(name), value.xindexes.get(name)
            indexed = [i for i in (my_index, their_index) if isinstance(i, NetworkIndex)]
            if not indexed and not (is_network_coordinate(mine) or is_network_coordinate(theirs)):
                continue
            if len(indexed) == 2:
                same = indexed[0].equals(indexed[1])
            elif indexed:
                plain, plain_obj = (theirs, value) if indexed[0] is my_index else (mine, dataset)
                same = _agree(indexed[0], plain, node_labels(_coords(plain_obj), plain.dims))
            else:
                same = _same_codes(mine, theirs, _coords(dataset), _coords(value))
            if not same:
                raise _assignment_error(key, name)


def _same_codes(a: xr.Variable, b: xr.Variable, coords_a: Mapping, coords_b: Mapping) -> bool:
    """Whether network coordinates ``a`` and ``b`` (of objects with ``coords_a``, ``coords_b``) agree."""
    if a._data is b._data:
        return True
    if a.attrs.get("convention") == b.attrs.get("convention") and a.dims == b.dims and a.equals(b):
        return True
    if set(a.dims) == set(b.dims):
        b = b.transpose(*a.dims)
    try:
        return _decode(a, coords_a) == _decode(b, coords_b)
    except ValueError:
        return False


def _decode(variable: xr.Variable, coords: Mapping[Hashable, xr.Variable]) -> RiverNetwork:
    """The network of an unindexed coordinate, read by the coordinates of its object."""
    dims = variable.dims
    own = [d for d in dims if d in coords]
    layout = grid_layout(dims, {d: coords[d].values for d in own}, {d: coords[d].attrs for d in own})
    return decode_network(variable, node_labels(coords, dims), layout)


def _assignment_error(key: Hashable, name: Hashable) -> Exception:
    error = getattr(xr, "AlignmentError", ValueError)
    return error(
        f"cannot assign {key!r}: it is attached to another river network than the Dataset "
        f"(coordinate {name!r}), and xarray would drop its network silently; attach the "
        "Dataset's network to it (da.hydro.assign_network(ds.hydro.network)) or drop its own "
        "first (da.hydro.drop_network())"
    )


# ------------------------------------------------------------ install / remove
_GUARD = "_xhydro_guard"


def _aligner() -> type | None:
    """xarray's private ``Aligner`` class, or None if it is not where it used to be."""
    for module in ("xarray.structure.alignment", "xarray.core.alignment"):  # xarray >= / < 2025.3
        try:
            aligner = getattr(importlib.import_module(module), "Aligner", None)
        except ImportError:
            continue
        if aligner is not None and callable(getattr(aligner, "align", None)):
            return aligner
    return None


def _guarded_align(align):
    @functools.wraps(align)
    def guarded_align(self, *args, **kwargs):
        join, exclude = getattr(self, "join", "inner"), getattr(self, "exclude_dims", ())
        check_alignment(getattr(self, "objects", ()), getattr(self, "indexes", {}).values(), join, exclude)
        out = align(self, *args, **kwargs)
        check_aligned(getattr(self, "results", ()), join, exclude)
        return out

    setattr(guarded_align, _GUARD, True)
    return guarded_align


def _guarded_update(update):
    @functools.wraps(update)
    def guarded_update(self, other, *args, **kwargs):
        if not isinstance(other, xr.Dataset):
            other = dict(other)
            check_assignment(self, other)
        return update(self, other, *args, **kwargs)

    setattr(guarded_update, _GUARD, True)
    return guarded_update


def _targets() -> list[tuple[type, str, Any]]:
    aligner = _aligner()
    targets: list[tuple[type, str, Any]] = [(xr.Dataset, "update", _guarded_update)]
    return targets if aligner is None else [(aligner, "align", _guarded_align), *targets]


def install() -> None:
    """Wrap ``Aligner.align`` and ``Dataset.update`` with the checks (once).

    Called by ``set_options(strict_alignment=True)``. Warns with
    :class:`StrictAlignmentWarning` — never skips silently — when xarray's
    ``Aligner`` has moved: ``Dataset.update`` is guarded all the same.
    """
    if _aligner() is None:
        warnings.warn(
            "strict_alignment: xarray's Aligner.align was not found (xarray's internals moved), so "
            "network coordinates without their index are not checked on alignment; only "
            "Dataset.update is guarded. Index them (xr.open_dataset(path, engine='hydro') or "
            "obj.hydro.assign_network()): indexed networks are compared by xarray itself",
            StrictAlignmentWarning,
            stacklevel=4,  # the caller of set_options
        )
    for owner, name, wrap in _targets():
        method = getattr(owner, name)
        if not getattr(method, _GUARD, False):
            setattr(owner, name, wrap(method))


def remove() -> None:
    """Put xarray's own ``Aligner.align`` and ``Dataset.update`` back (if :func:`install` wrapped them)."""
    for owner, name, _ in _targets():
        method = owner.__dict__.get(name)
        if method is not None and getattr(method, _GUARD, False):
            setattr(owner, name, method.__wrapped__)


def installed() -> bool:
    """Whether the guard wraps ``Dataset.update`` (and ``Aligner.align`` where it exists)."""
    return all(getattr(getattr(owner, name), _GUARD, False) for owner, name, _ in _targets())
