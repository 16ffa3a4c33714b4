"""Package options: :func:`set_options` (also a context manager) and :func:`get_options`."""

from __future__ import annotations

from typing import Any

from . import alignment

_OPTIONS: dict[str, Any] = {"strict_alignment": False, "tiled_order_memory": 2**31}


def _apply(options: dict[str, Any]) -> None:
    for key, value in options.items():
        if key not in _OPTIONS:
            raise ValueError(f"unknown option {key!r}; the options are {sorted(_OPTIONS)}")
        if key == "tiled_order_memory":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TypeError(f"option {key!r} takes a number of bytes (an int >= 0), got {value!r}")
        elif not isinstance(value, bool):
            raise TypeError(f"option {key!r} takes True or False, got {value!r}")
    if "strict_alignment" in options:
        alignment.install() if options["strict_alignment"] else alignment.remove()
    _OPTIONS.update(options)


class set_options:  # lower case: used like a function, as xarray.set_options
    """Set package options, for the process or, as a context manager, for a ``with`` block.

    Parameters
    ----------
    strict_alignment : bool, default False
        Also raise when a network coordinate *without* its index (a file opened
        without ``engine="hydro"``) meets data on another network in an alignment
        (arithmetic, ``merge``, ``concat``, ``where`` …) or ``ds[name] = da``;
        without it xarray silently keeps one operand's coordinate. It wraps
        xarray's ``Aligner.align`` and ``Dataset.update`` while on (see
        :mod:`xhydro_accessor.alignment`) and puts them back when set to False or
        when the ``with`` block exits; it warns if xarray's internals moved. Two
        *indexed* networks are always compared, without it. Like every option
        here it holds for the whole process (all threads), also inside ``with``.
    tiled_order_memory : int, default 2**31
        Bytes that ``how="median"``, ``"percentile"`` or ``"mode"`` on a tiled network
        (:mod:`xhydro_accessor.backends.tiled_ostat`) may hold: the values upstream of
        tile boundaries travel between tiles. Above it, computing raises
        ``MemoryError`` (naming the bytes needed) before any value is read.

    Examples
    --------
    >>> import xhydro_accessor as xa
    >>> with xa.set_options(strict_alignment=True):
    ...     xa.get_options()["strict_alignment"]
    True
    >>> xa.get_options()["strict_alignment"]
    False
    """

    def __init__(self, **options: Any) -> None:
        self._old = {key: _OPTIONS[key] for key in options if key in _OPTIONS}
        _apply(options)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, *exc: object) -> None:
        _apply(self._old)


def get_options() -> dict[str, Any]:
    """The current package options (a copy).

    Examples
    --------
    >>> get_options()
    {'strict_alignment': False, 'tiled_order_memory': 2147483648}
    """
    return dict(_OPTIONS)
