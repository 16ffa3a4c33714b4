"""Guard for operations that so far run on numpy arrays only."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_numpy(array: Any, name: str, operation: str) -> np.ndarray:
    """``array`` as a numpy array; other array libraries raise, never convert silently.

    Examples
    --------
    >>> as_numpy([1, 2], "field", "catchment_statistics")
    array([1, 2])
    """
    if isinstance(array, np.ndarray):
        return array
    module = type(array).__module__.split(".")[0]
    if module not in ("numpy", "builtins", "xarray"):
        raise NotImplementedError(
            f"{operation}: {name} is a {type(array).__module__}.{type(array).__name__}; "
            f"the {module} backend is not supported by {operation} yet (numpy arrays only)"
        )
    return np.asarray(getattr(array, "values", array))
