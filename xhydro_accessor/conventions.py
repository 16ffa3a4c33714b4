"""The registry of flow-direction conventions: each declared once, here.

Every convention parses to one thing, the flat index of each cell's downstream
cell (:meth:`~xhydro_accessor.RiverNetwork.from_downstream_index`). A *code
table* convention (``kind="d8"``: LDD, ESRI, MERIT, TauDEM, GRASS, WhiteboxTools,
or your own) declares its codes -> (row step, column step), its pit and missing
codes, how it is written (dtype, missing code), how :func:`detect_convention
<xhydro_accessor.io.detect_convention>` recognises it, and its CF
``flag_values``/``flag_meanings`` follow from the table. The other kinds
(``"nextxy"``, ``"offset"``, ``"downstream_id"``) are encodings with their own
reader and writer; they are listed here so every list of names (the CLI's
``--convention`` choices, the docs table) comes from one place.

Rows grow southwards (north-up rasters), so a step of ``(1, 0)`` flows south;
:meth:`~xhydro_accessor.layout.Layout.orient` maps the steps onto other layouts.

Examples
--------
A convention of your own is accepted wherever a convention name is
(``from_d8``, ``open_network``, ``write_network``, ``repair``); registered, its
name is too (and it becomes a CLI choice):

>>> import numpy as np
>>> import xhydro_accessor as xa
>>> arrows = xa.Convention("arrows", {1: (0, 1), 2: (1, 0)}, pits=(9,), missing=(0,))
>>> xa.RiverNetwork.from_d8(np.array([[1, 2], [0, 9]]), arrows).downstream_grid()
array([[ 1,  3],
       [-2, -1]])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

#: The eight neighbour steps, indexed 0..7; index 8 is a pit, 9 missing.
STEPS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))
PIT = 8
MISSING = 9
INVALID = 10

#: CF flag meaning of each step
STEP_NAMES = dict(zip(STEPS, ("east", "south_east", "south", "south_west",
                              "west", "north_west", "north", "north_east"), strict=True))  # fmt: skip

#: A detection rule: (distinct codes found, declared nodata values) -> whether they fit.
DetectRule = Callable[[frozenset[int], frozenset[int]], bool]


@dataclass(frozen=True, eq=False)
class Convention:
    """A flow-direction convention: code -> (row step, column step), pit and missing codes.

    Parameters
    ----------
    name : str
        The name files and the CLI use (written as the ``convention`` attribute).
    directions : mapping of int to (int, int)
        Each direction code's step to the downstream neighbour: rows southwards,
        columns eastwards (``(0, 1)`` east, ``(-1, 0)`` north).
    pits : iterable of int
        Codes making a cell an outlet; the first is the one written.
    missing : iterable of int
        Codes of cells off the network; NaN and ``nodata=`` always are too.
    dtype : numpy dtype, default uint8
        The dtype files are written in.
    fill : int, optional
        The missing code written (default: the smallest of ``missing``).
    file_missing : iterable of int
        Codes read as missing from files only (an LDD's 0: LISFLOOD's fill).
    detect : callable, optional
        ``detect(codes, nodata) -> bool``: whether the distinct codes of a file
        (without its declared ``nodata``) fit this convention. None: never
        guessed from values, only named.
    title, summary : str
        The docs table's row (the README and docs/concepts.md list every entry).
    kind : {"d8", "nextxy", "offset", "downstream_id"}
        ``"d8"``: a code table (everything above). The others are encodings with
        their own readers: CaMa-Flood ``nextxy``, the ``offset`` coordinate and
        vector ``downstream_id`` labels.

    Raises
    ------
    ValueError
        Steps that are not one of the 8 neighbours, or a code listed twice.
    """

    name: str
    directions: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    pits: tuple[int, ...] = ()
    missing: tuple[int, ...] = ()
    dtype: Any = np.uint8
    fill: int | None = None
    file_missing: tuple[int, ...] = ()
    detect: DetectRule | None = None
    title: str = ""
    summary: str = ""
    kind: str = "d8"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a convention needs a name (a non-empty str), got {self.name!r}")
        directions = {int(c): (int(s[0]), int(s[1])) for c, s in dict(self.directions).items()}
        bad = {c: s for c, s in directions.items() if s not in STEPS}
        if bad:
            raise ValueError(f"convention {self.name!r}: steps {bad} are not one of the 8 neighbours {STEPS}")
        pits, missing = tuple(int(c) for c in self.pits), tuple(int(c) for c in self.missing)
        codes = [*directions, *pits, *missing]
        if len(set(codes)) != len(codes):
            twice = sorted({c for c in codes if codes.count(c) > 1})
            raise ValueError(f"convention {self.name!r}: codes {twice} are listed more than once")
        object.__setattr__(self, "directions", MappingProxyType(directions))
        object.__setattr__(self, "pits", pits)
        object.__setattr__(self, "missing", missing)
        object.__setattr__(self, "file_missing", tuple(int(c) for c in self.file_missing))
        object.__setattr__(self, "dtype", np.dtype(self.dtype).type)
        if self.fill is None and missing:
            object.__setattr__(self, "fill", min(missing))

    def describe(self) -> str:
        return (
            f"{self.name}: directions {sorted(self.directions)}, "
            f"pits {sorted(self.pits)}, missing {sorted(self.missing)}"
        )

    def meaning(self, code: int) -> Any:
        """What ``code`` says: a step, ``"pit"``, ``"missing"`` or None (not a code)."""
        if code in self.directions:
            return self.directions[code]
        if code in self.pits:
            return "pit"
        return "missing" if code in (*self.missing, *self.file_missing) else None

    def with_steps(self, directions: Mapping[int, tuple[int, int]]) -> Convention:
        """The same convention with other steps (see :meth:`Layout.orient`)."""
        return replace(self, directions=directions)

    def flags(self) -> tuple[list[int], list[str]]:
        """CF ``flag_values`` and ``flag_meanings`` of the written codes (the written pit first)."""
        values = [*self.pits[:1], *self.directions]
        meanings = ["pit"] * len(self.pits[:1]) + [STEP_NAMES[s] for s in self.directions.values()]
        return values, meanings


def _fits(allowed: Iterable[int], needs: Iterable[int] = (), unless: Iterable[int] = ()) -> DetectRule:
    """A detection rule: every code in ``allowed``; one of ``needs`` found or declared
    (if given); not all of ``unless`` found."""
    allowed, needs, unless = frozenset(allowed), frozenset(needs), frozenset(unless)

    def rule(codes: frozenset[int], nodata: frozenset[int]) -> bool:
        found = not needs or bool(needs & (codes | nodata))
        return codes <= allowed and found and not (unless and unless <= codes)

    return rule


_ESRI_STEPS = {
    1: (0, 1), 2: (1, 1), 4: (1, 0), 8: (1, -1),
    16: (0, -1), 32: (-1, -1), 64: (-1, 0), 128: (-1, 1),
}  # fmt: skip
_LDD_STEPS = {1: (1, -1), 2: (1, 0), 3: (1, 1), 4: (0, -1), 6: (0, 1), 7: (-1, -1), 8: (-1, 0), 9: (-1, 1)}
_TAUDEM_STEPS = {1: (0, 1), 2: (-1, 1), 3: (-1, 0), 4: (-1, -1), 5: (0, -1), 6: (1, -1), 7: (1, 0), 8: (1, 1)}
_GRASS_STEPS = {1: (-1, 1), 2: (-1, 0), 3: (-1, -1), 4: (0, -1), 5: (1, -1), 6: (1, 0), 7: (1, 1), 8: (0, 1)}
_WHITEBOX_STEPS = {
    1: (-1, 1), 2: (0, 1), 4: (1, 1), 8: (1, 0),
    16: (1, -1), 32: (0, -1), 64: (-1, -1), 128: (-1, 0),
}  # fmt: skip
_ESRI_CODES = {0, *_ESRI_STEPS, 247, 255}

#: The registry: name -> Convention, in the order detection prefers among equivalent fits.
CONVENTIONS: dict[str, Convention] = {}


def register_convention(convention: Convention, *, replace: bool = False) -> Convention:
    """Add ``convention`` to the registry: its name is then accepted wherever a
    convention name is (builders, ``open_network``, ``write_network``, ``repair``,
    the CLI's ``--convention``), and files written with it reopen with it.

    Raises ValueError if the name is taken (unless ``replace``).

    Examples
    --------
    >>> toy = register_convention(Convention("toy", {1: (0, 1)}, pits=(2,), missing=(0,)))
    >>> get_convention("toy") is toy
    True
    >>> unregister_convention("toy")
    """
    if not isinstance(convention, Convention):
        raise TypeError(f"register a Convention, got {type(convention).__name__}")
    if convention.name in CONVENTIONS and not replace:
        raise ValueError(f"a convention named {convention.name!r} is registered already (pass replace=True)")
    CONVENTIONS[convention.name] = convention
    return convention


def unregister_convention(name: str) -> None:
    """Remove a registered convention (the built-in ones too: at your own risk)."""
    CONVENTIONS.pop(name, None)


def get_convention(convention: str | Convention) -> Convention:
    """The registered convention named ``convention``, or ``convention`` itself.

    Raises ValueError naming the registered conventions for an unknown name.
    """
    if isinstance(convention, Convention):
        return convention
    try:
        return CONVENTIONS[convention]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown flow-direction convention {convention!r}; choose one of {list(CONVENTIONS)} "
            "or pass an xhydro_accessor.Convention"
        ) from None


def markdown_table() -> str:
    """The docs' table of the registered conventions (README.md and docs/concepts.md hold it;
    ``tests/test_conventions.py`` checks they match the registry)."""
    rows = ["| format | `convention=` | codes |", "|---|---|---|"]
    rows += [f'| {c.title or c.name} | `"{c.name}"` | {c.summary} |' for c in CONVENTIONS.values()]
    return "\n".join(rows)


def names(kind: str | None = None) -> list[str]:
    """The registered names (of one ``kind``), in registry order."""
    return [n for n, c in CONVENTIONS.items() if kind is None or c.kind == kind]


for _convention in (
    Convention(
        "ldd",
        _LDD_STEPS,
        pits=(5,),
        missing=(255,),
        file_missing=(0,),
        detect=_fits({*range(10), 255}),
        title="PCRaster LDD",
        summary="keypad 1–9, 5 pit, 255 missing (0 too in files: the LISFLOOD fill)",
    ),
    Convention(
        "esri",
        _ESRI_STEPS,
        pits=(0,),
        missing=(255, 247),
        fill=255,
        detect=_fits(_ESRI_CODES, unless={247, 255}),
        title="ESRI D8 (also WhiteboxTools `--esri_pntr`)",
        summary="1 E, 2 SE, 4 S, 8 SW, 16 W, 32 NW, 64 N, 128 NE, 0 pit, 247 / 255 missing",
    ),
    Convention(
        "merit",
        _ESRI_STEPS,
        pits=(0, 255),
        missing=(247,),
        detect=_fits(_ESRI_CODES),
        title="MERIT Hydro",
        summary="the ESRI codes; 0 and 255 (inland pit) outlets, 247 missing",
    ),
    Convention(
        "taudem",
        _TAUDEM_STEPS,
        missing=(-32768, 0, 255),
        dtype=np.int16,
        detect=_fits({*range(9), 255, -32768}),
        title="TauDEM",
        summary="1 E, 2 NE, 3 N … 8 SE (counter-clockwise from east); 0, 255, −32768 missing; no pit",
    ),
    Convention(
        "grass",
        _GRASS_STEPS,
        pits=(-1, -2, -3, -4, -5, -6, -7, -8),
        missing=(0,),
        dtype=np.int8,
        detect=_fits(range(-8, 9)),
        title="GRASS `r.watershed` drainage",
        summary="1 NE, 2 N, 3 NW, 4 W, 5 SW, 6 S, 7 SE, 8 E (× 45° counter-clockwise from east); "
        "negative: outlet (−1 a depression, −2…−8 flow leaving the region); 0 / NULL missing",
    ),
    Convention(
        "whitebox",
        _WHITEBOX_STEPS,
        pits=(0,),
        missing=(-32768,),
        dtype=np.int16,
        detect=_fits({0, *_WHITEBOX_STEPS, -32768}, needs={-32768}),
        title="WhiteboxTools D8 pointer",
        summary="1 NE, 2 E, 4 SE, 8 S, 16 SW, 32 W, 64 NW, 128 N, 0 pit (no flow), −32768 missing",
    ),
    Convention(
        "cama",
        kind="nextxy",
        title="CaMa-Flood `nextxy`",
        summary="1-based downstream (x, y); −9 river mouth, −10 inland outlet, −9999 missing",
    ),
    Convention(
        "offset",
        kind="offset",
        title="offset (written for non-neighbour jumps)",
        summary="int64 `dy * 2**32 + dx` step to the downstream cell; 0 outlet, int64 min missing",
    ),
    Convention(
        "downstream_id",
        kind="downstream_id",
        title="vector network",
        summary="each node's downstream node label; a node's own label (or the sentinel) an outlet",
    ),
):
    register_convention(_convention)
del _convention
