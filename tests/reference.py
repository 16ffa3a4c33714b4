"""A brute-force reference: explicit ancestor sets, plain numpy, no shared code.

Networks are described by ``down``: for each flat cell, the flat index of its
downstream cell, -1 for an outlet and -2 for a cell off the network.
"""

import numpy as np

# Each convention's code for a step (drow, dcol), written out independently.
CODES = {
    "ldd": {(1, -1): 1, (1, 0): 2, (1, 1): 3, (0, -1): 4, (0, 1): 6, (-1, -1): 7, (-1, 0): 8, (-1, 1): 9},
    "esri": {
        (0, 1): 1,
        (1, 1): 2,
        (1, 0): 4,
        (1, -1): 8,
        (0, -1): 16,
        (-1, -1): 32,
        (-1, 0): 64,
        (-1, 1): 128,
    },
    "taudem": {(0, 1): 1, (-1, 1): 2, (-1, 0): 3, (-1, -1): 4, (0, -1): 5, (1, -1): 6, (1, 0): 7, (1, 1): 8},
}
PIT = {"ldd": 5, "esri": 0, "merit": 0}
MISSING = {"ldd": 255, "esri": 247, "merit": 247, "taudem": 255}


def random_grid_network(rng, ny, nx, p_missing=0.1, p_pit=0.05):
    """Random acyclic D8 network: each cell drains to a random lower neighbour.

    Returns ``steps`` (ny, nx, 2) with (0, 0) for a pit and ``missing`` (ny, nx).
    Steps may point off the grid or into missing cells (those become outlets).
    """
    height = rng.permutation(ny * nx).reshape(ny, nx)
    missing = rng.random((ny, nx)) < p_missing
    steps = np.zeros((ny, nx, 2), int)
    for r in range(ny):
        for c in range(nx):
            if rng.random() < p_pit:
                continue
            options = [
                (dr, dc)
                for dr in (-1, 0, 1)
                for dc in (-1, 0, 1)
                if (dr, dc) != (0, 0)
                and not (0 <= r + dr < ny and 0 <= c + dc < nx and height[r + dr, c + dc] > height[r, c])
            ]
            if options:  # else a local minimum: a pit
                steps[r, c] = options[rng.integers(len(options))]
    return steps, missing


def encode(steps, missing, convention):
    """Codes of ``convention`` for a grid of steps (pits as a pit code if it has one)."""
    table = CODES["esri" if convention == "merit" else convention]
    ny, nx, _ = steps.shape
    codes = np.empty((ny, nx), np.uint8)
    for r in range(ny):
        for c in range(nx):
            step = tuple(steps[r, c])
            if missing[r, c]:
                codes[r, c] = MISSING[convention]
            elif step == (0, 0):
                codes[r, c] = PIT[convention]
            else:
                codes[r, c] = table[step]
    return codes


def down_of_steps(steps, missing, wrap_x=False):
    ny, nx, _ = steps.shape
    down = np.full(ny * nx, -1)
    for r in range(ny):
        for c in range(nx):
            if missing[r, c]:
                down[r * nx + c] = -2
                continue
            dr, dc = steps[r, c]
            r2, c2 = r + dr, c + dc
            if wrap_x:
                c2 %= nx
            if (dr, dc) != (0, 0) and 0 <= r2 < ny and 0 <= c2 < nx and not missing[r2, c2]:
                down[r * nx + c] = r2 * nx + c2
    return down


def random_tree_down(rng, n, p_outlet=0.1, p_missing=0.0):
    """Random vector network: node i drains to a later node (in a random labelling)."""
    down = np.full(n, -1)
    for i in range(n - 1):
        if rng.random() > p_outlet:
            down[i] = rng.integers(i + 1, n)
    perm = rng.permutation(n)  # relabel so order carries no information
    inverse = np.argsort(perm)
    relabelled = np.where(down[perm] >= 0, inverse[np.maximum(down[perm], 0)], -1)
    return relabelled


def paths(down):
    """Cells on the path from each on-network cell to its outlet (itself first)."""
    out = {}
    for i in np.flatnonzero(down != -2):
        path = [int(i)]
        while down[path[-1]] >= 0:
            path.append(int(down[path[-1]]))
        out[int(i)] = path
    return out


def upstream_sets(down):
    ups = {i: [] for i in np.flatnonzero(down != -2).tolist()}
    for i, path in paths(down).items():
        for j in path:
            ups[j].append(i)
    return ups


def children(down):
    kids = {i: [] for i in np.flatnonzero(down != -2).tolist()}
    for i in kids:
        if down[i] >= 0:
            kids[int(down[i])].append(i)
    return kids


def reduce_set(x, w, how, skipna):
    """Reduce values ``x`` with weights ``w`` (1-D) by the library's documented rule."""
    x = x.astype(np.float64) if x.dtype.kind == "f" else x
    if skipna and x.dtype.kind == "f":
        keep = ~np.isnan(x) & ~np.isnan(w)
        x, w = x[keep], w[keep]
        if x.size == 0:
            return 0.0 if how == "sum" else np.nan
    if how == "sum":
        return (w * x).sum()
    if how in ("min", "max"):
        return getattr(np, how)(w * x)
    mean = (w * x).sum() / w.sum()
    if how == "mean":
        return mean
    var = (w * (x - mean) ** 2).sum() / w.sum()
    return np.sqrt(var) if how == "std" else var
