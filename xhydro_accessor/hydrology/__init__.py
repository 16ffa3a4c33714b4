"""The hydrology catalogue: locations, catchments and their statistics, distances,
stream order, subnetworks and upstream area (array level), and their xarray layer."""
