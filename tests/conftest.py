"""Shared test parametrisations: the reductions come from the registry."""

from xhydro_accessor import reductions

#: every ``how`` of the flow operations (accumulate, accumulate_downstream, move_downstream)
HOWS = list(reductions.names("accumulate"))
#: every ``how`` of catchment_statistics
STATISTICS = list(reductions.names("catchment_statistics"))
#: the differentiable ``how`` of the flow operations, gradient-checked (not std: the root of a
#: zero variance has no gradient)
GRAD_HOWS = [
    n for n in HOWS if reductions.REDUCTIONS[n].differentiable and not reductions.REDUCTIONS[n].finalize
]
