"""Shipped defaults (catalogs, lexicons, the conflict model), installed as the package `hearth_data`."""
