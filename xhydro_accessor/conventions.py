"""Flow-direction code conventions as tables: code -> (row step, column step).

Rows grow southwards (north-up rasters), so a step of ``(1, 0)`` flows south.
Each convention lists its direction codes, the codes that make a cell a pit
(an outlet) and the codes that mark a missing (off-network) cell.
"""

from dataclasses import dataclass

#: The eight neighbour steps, indexed 0..7; index 8 is a pit, 9 missing.
STEPS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))
PIT = 8
MISSING = 9
INVALID = 10


@dataclass(frozen=True)
class Convention:
    name: str
    directions: dict[int, tuple[int, int]]
    pits: frozenset[int]
    missing: frozenset[int]

    def describe(self) -> str:
        return (
            f"{self.name}: directions {sorted(self.directions)}, "
            f"pits {sorted(self.pits)}, missing {sorted(self.missing)}"
        )


_ESRI_STEPS = {
    1: (0, 1), 2: (1, 1), 4: (1, 0), 8: (1, -1),
    16: (0, -1), 32: (-1, -1), 64: (-1, 0), 128: (-1, 1),
}  # fmt: skip

CONVENTIONS = {
    "ldd": Convention(
        "ldd",
        {1: (1, -1), 2: (1, 0), 3: (1, 1), 4: (0, -1), 6: (0, 1), 7: (-1, -1), 8: (-1, 0), 9: (-1, 1)},
        frozenset({5}),
        frozenset({255}),
    ),  # fmt: skip
    "esri": Convention("esri", _ESRI_STEPS, frozenset({0}), frozenset({247, 255})),
    "merit": Convention("merit", _ESRI_STEPS, frozenset({0, 255}), frozenset({247})),
    "taudem": Convention(
        "taudem",
        {1: (0, 1), 2: (-1, 1), 3: (-1, 0), 4: (-1, -1), 5: (0, -1), 6: (1, -1), 7: (1, 0), 8: (1, 1)},
        frozenset(),
        frozenset({0, 255, -32768}),
    ),  # fmt: skip
}


def get_convention(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown flow-direction convention {name!r}; choose one of {sorted(CONVENTIONS)}"
        ) from None
