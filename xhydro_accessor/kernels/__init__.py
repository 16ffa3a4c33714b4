"""Compiled CPU kernels (numba). Imported lazily: ``import xhydro_accessor`` stays light."""
