"""Exports of the estimate tables: Parquet, CSV and NetCDF files (files.py), as Dagster assets (assets.py)."""
