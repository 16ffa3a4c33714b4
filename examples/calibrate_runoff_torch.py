"""Calibrate a per-cell runoff coefficient by gradient descent through ``accumulate``.

On the bundled EFAS 5 km Europe network: a synthetic "true" runoff coefficient
turns a week of rainfall into runoff, accumulated to discharge; a few gauges (the
cells with the largest upstream areas) observe it. Starting from a uniform guess,
Adam fits the coefficient field so the simulated discharge at the gauges matches
the observations. The gradient of ``accumulate`` is itself one downstream pass.

Run: ``python examples/calibrate_runoff_torch.py`` (needs torch).
"""

from __future__ import annotations

import os

import numpy as np
import torch

import xhydro_accessor as xa
from xhydro_accessor.samples import sample_network

SMALL = os.environ.get("XHYDRO_EXAMPLE_SMALL") == "1"


def main() -> None:
    net = sample_network()
    rng = np.random.default_rng(0)
    ny, nx = net.shape
    days, steps, n_gauges = (3, 40, 20) if SMALL else (7, 200, 50)

    # truth: a smooth coefficient (wetter in the north-west), daily rainfall in mm
    y, x = np.mgrid[0:ny, 0:nx] / max(ny, nx)
    true_coefficient = torch.tensor(0.2 + 0.6 * np.exp(-((x - 0.3) ** 2 + (y - 0.3) ** 2) / 0.1))
    rain = torch.tensor(rng.gamma(0.6, 5.0, size=(days, ny, nx)))
    area = xa.accumulate(net, np.ones(net.shape))  # upstream cells
    gauges = torch.tensor(np.argsort(np.nan_to_num(area, nan=0).ravel())[-n_gauges:])

    def discharge_at_gauges(coefficient: torch.Tensor) -> torch.Tensor:
        q = xa.accumulate(net, rain, weights=coefficient)  # Σ upstream coefficient · rain
        return q.reshape(days, -1)[:, gauges]

    observed = discharge_at_gauges(true_coefficient)

    logit = torch.zeros(net.shape, dtype=torch.float64, requires_grad=True)  # coefficient 0.5
    optimizer = torch.optim.Adam([logit], lr=0.05)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
    for step in range(steps + 1):
        optimizer.zero_grad()
        simulated = discharge_at_gauges(torch.sigmoid(logit))
        loss = ((simulated / observed - 1) ** 2).mean()  # relative error: big and small rivers alike
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % (steps // 5) == 0:
            print(f"step {step:4d}: relative RMSE at {n_gauges} gauges = {loss.item() ** 0.5:.4f}")
    final = loss.item() ** 0.5
    assert final < 0.05, final
    print(f"calibrated: the simulated discharge matches the gauges within {100 * final:.1f} % RMS")


if __name__ == "__main__":
    main()
