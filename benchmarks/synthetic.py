"""A reproducible synthetic ESRI D8 network for benchmarks.

A fractal DEM (spectral synthesis, power spectrum ~ k**-2.4, fixed seed, gentle tilt)
is drained by a priority flood seeded on the grid edge. Ties (filled depressions) are
broken first-in first-out, so flow crosses a filled lake by a shortest path to its pour
point instead of a raster-order snake (pyflwdir's ``from_dem`` breaks ties by row and
column, which gives 16 M-cell paths of ~10**5 cells). Every outlet is a pit (code 0) on
the grid edge; no cell drains off the grid.

``python benchmarks/synthetic.py [n]`` generates (or loads) the network and prints its
longest flow path.
"""

import heapq
import sys
import time
from pathlib import Path

import numba
import numpy as np

CACHE = Path(__file__).parent / ".cache"
BETA = 2.4  # power-law exponent of the power spectrum
TILT = 0.5  # elevation drop from south to north, in standard deviations of the noise
# ESRI code of the step (dr, dc) from a cell to its downstream neighbour
_DR = np.array([0, 1, 1, 1, 0, -1, -1, -1])
_DC = np.array([1, 1, 0, -1, -1, -1, 0, 1])
_CODE = np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype=np.uint8)


def fractal_dem(n, seed=0, beta=BETA, tilt=TILT):
    """Return an (n, n) float64 fractal surface, zero mean, unit variance, plus a tilt."""
    rng = np.random.default_rng(seed)
    k2 = np.fft.fftfreq(n)[:, None] ** 2 + np.fft.rfftfreq(n)[None, :] ** 2
    k2[0, 0] = np.inf
    amp = k2 ** (-beta / 4)  # |F| ~ k**(-beta/2), so power ~ k**-beta
    del k2
    spec = rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape)
    spec *= amp
    del amp
    dem = np.fft.irfft2(spec, s=(n, n))
    del spec
    dem -= dem.mean()
    dem /= dem.std()
    dem += tilt * np.linspace(0.0, 1.0, n)[:, None]
    return dem


@numba.njit(cache=True)
def _priority_flood(dem, dr, dc, code):
    ny, nx = dem.shape
    z = dem.ravel().copy()
    d8 = np.zeros(ny * nx, dtype=np.uint8)
    done = np.zeros(ny * nx, dtype=np.bool_)
    heap = [(0.0, 0, 0) for _ in range(0)]
    count = 0
    for i in range(ny * nx):
        r, c = divmod(i, nx)
        if r == 0 or c == 0 or r == ny - 1 or c == nx - 1:
            heap.append((z[i], count, i))
            count += 1
    heapq.heapify(heap)
    while heap:
        z0, _, i = heapq.heappop(heap)
        done[i] = True  # an unclaimed edge cell stays a pit (code 0)
        r0, c0 = divmod(i, nx)
        for k in range(8):
            r, c = r0 - dr[k], c0 - dc[k]  # neighbour whose step k leads to i
            if r < 0 or c < 0 or r >= ny or c >= nx:
                continue
            j = r * nx + c
            if done[j]:
                continue
            done[j] = True
            d8[j] = code[k]
            if z[j] < z0:
                z[j] = z0  # fill the depression; FIFO order breaks the tie
            heapq.heappush(heap, (z[j], count, j))
            count += 1
    return d8.reshape(ny, nx)


def synthetic_d8(n=4000, seed=0):
    """Return an (n, n) uint8 ESRI D8 network, cached under ``benchmarks/.cache``."""
    path = CACHE / f"synthetic_d8_{n}_seed{seed}_beta{BETA}_tilt{TILT}.npy"
    if path.exists():
        return np.load(path)
    d8 = _priority_flood(fractal_dem(n, seed), _DR, _DC, _CODE)
    CACHE.mkdir(exist_ok=True)
    np.save(path, d8)
    return d8


def longest_path(d8):
    """Number of cells on the longest flow path (uses pyflwdir)."""
    import pyflwdir

    flw = pyflwdir.from_array(d8, ftype="d8", latlon=False)
    return int(flw.stream_distance(unit="cell").max()) + 1


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    t0 = time.perf_counter()
    d8 = synthetic_d8(n)
    print(
        f"{n}x{n} network in {time.perf_counter() - t0:.1f} s; "
        f"outlets {(d8 == 0).sum()}, longest flow path {longest_path(d8)} cells"
    )
