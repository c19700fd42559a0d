"""The estimate tables written as files in the field's formats, without Dagster.

- Parquet, one dataset per table partitioned by year (`<table>/year=1990/data_0.parquet`, zstd),
  written by DuckDB's COPY: readable by DuckDB, pandas/pyarrow, R's arrow and Spark;
- CSV, one gzip-compressed file per table (`<table>.csv.gz`), with a header row;
- beside them in both formats, `classic_flows`: the classic methods' five-year flows on the same inputs
  (validation.classic_flows, Parquet partitioned by `year_start`);
- NetCDF-4 (HDF5, zlib), laid out like the paper's release: `flows.nc` (year × origin ×
  destination), `stocks.nc` (year × birth × residence), `net_migration.nc` (year × country), each
  with the variables mean, std, p05, p50, p95 and CF attributes (units, long_name) and the
  provenance as global attributes. `flows_by_birth.nc` would be 231³ × 34 cells dense (8 GB a
  variable), so it keeps the model's edges instead: dimensions year × edge, with the edge's birth,
  origin and destination as coordinates (a CF "discrete sampling" layout).

Cells the warehouse does not hold are 0 in the dense NetCDF arrays: a corridor outside the model's
edge set carries no flow, and a stock cell never reached holds no one. Every format holds exactly
the warehouse's numbers (float64).

Each format's folder is written beside its final place and moved there by renames, so a reader
sees the previous set of files or the new one, never a half-written file.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

TABLES = ("flows", "flows_by_birth", "stocks", "net_migration")
# Written beside the estimate tables in Parquet (partitioned by year_start) and CSV: the five-year flows of the
# classic methods computed in the pipeline on the same inputs (validation/classic.py)
CLASSIC = "classic_flows"
STATISTICS = {
    "mean": "ensemble mean",
    "std": "ensemble standard deviation",
    "p05": "5th percentile",
    "p50": "median",
    "p95": "95th percentile",
}
WHAT = {  # long_name stem and the dimensions of each table (flows_by_birth: see the module docstring)
    "flows": ("migrants moving from origin to destination during the calendar year", ("origin", "destination")),
    "flows_by_birth": ("migrants born in `birth` moving from origin to destination during the calendar year",
                       ("birth", "origin", "destination")),
    "stocks": ("persons born in `birth` living in `residence` on 1 January", ("birth", "residence")),
    "net_migration": ("immigrants minus emigrants of the country during the calendar year", ("country",)),
}


def replace_folder(folder: Path, write: Callable[[Path], dict]) -> dict:
    """Run `write` into a new folder beside `folder`, then put it in `folder`'s place by renames.

    On any error the new folder is removed and `folder` stays as it was."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    new, old = folder.with_name(f".{folder.name}.{tag}.new"), folder.with_name(f".{folder.name}.{tag}.old")
    new.mkdir()
    try:
        out = write(new)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    if folder.exists():
        folder.rename(old)
    new.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return out


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                       [schema, table]).fetchall()[0][0] > 0


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(file name, warehouse table, year column) of every table written as Parquet and CSV."""
    if not _exists(con, "validation", CLASSIC):
        raise RuntimeError(f"the warehouse has no validation.{CLASSIC}: materialize it (job estimate, or "
                           f"`dg launch --assets validation/{CLASSIC}`) before exporting")
    basis = _exists(con, "panel", "data_basis")
    return [*((t, f"estimates.{t}", "year") for t in TABLES), (CLASSIC, f"validation.{CLASSIC}", "year_start"),
            *([("data_basis", "panel.data_basis", "year")] if basis else [])]


def data_basis_attribute(con: duckdb.DuckDBPyConnection) -> str:
    """panel.data_basis as one JSON string (year -> input -> basis) for the NetCDF files' global
    attributes, so a nowcast year is marked in the file itself; '' when the warehouse has none."""
    if not _exists(con, "panel", "data_basis"):
        return ""
    frame = con.execute("select year, input, basis from panel.data_basis order by year, input").df()
    return json.dumps({str(year): dict(zip(part["input"], part["basis"])) for year, part in frame.groupby("year")})


def write_parquet(con: duckdb.DuckDBPyConnection, folder: Path) -> dict:
    """One Parquet dataset per table, hive-partitioned by year (year_start for classic_flows); returns rows per
    table."""
    rows = {}
    for name, table, year in _tables(con):
        con.execute(f"copy (select * from {table} order by all) to '{_sql_path(folder / name)}' "
                    f"(format parquet, partition_by ({year}), compression zstd)")
        rows[name] = con.execute(f"select count(*) from {table}").fetchone()[0]
    return rows


def write_csv(con: duckdb.DuckDBPyConnection, folder: Path) -> dict:
    """One gzip-compressed CSV per table; returns rows per table."""
    rows = {}
    for name, table, _ in _tables(con):
        con.execute(f"copy (select * from {table} order by all) to "
                    f"'{_sql_path(folder / f'{name}.csv.gz')}' (format csv, header, compression gzip)")
        rows[name] = con.execute(f"select count(*) from {table}").fetchone()[0]
    return rows


def dense_dataset(frame: pd.DataFrame, dims: tuple[str, ...], codes: list[str], years: list[int]):
    """xarray Dataset (year, *dims) of the statistics, 0 where `frame` has no row."""
    import xarray as xr

    shape = (len(years), *[len(codes)] * len(dims))
    position = {c: i for i, c in enumerate(codes)}
    index = (frame["year"].map({y: i for i, y in enumerate(years)}).to_numpy(),
             *[frame[d].map(position).to_numpy() for d in dims])
    variables = {}
    for stat in STATISTICS:
        values = np.zeros(shape)
        values[index] = frame[stat].to_numpy()
        variables[stat] = (("year", *dims), values)
    return xr.Dataset(variables, coords={"year": years, **{d: codes for d in dims}})


def edge_dataset(frame: pd.DataFrame, years: list[int]):
    """xarray Dataset (year, edge) of the statistics, with birth/origin/destination per edge."""
    import xarray as xr

    edges = frame[["birth", "origin", "destination"]].drop_duplicates().sort_values(["birth", "origin", "destination"])
    edges = edges.reset_index(drop=True)
    lookup = pd.Series(np.arange(len(edges)), index=pd.MultiIndex.from_frame(edges))
    edge = lookup.reindex(pd.MultiIndex.from_frame(frame[["birth", "origin", "destination"]])).to_numpy()
    year = frame["year"].map({y: i for i, y in enumerate(years)}).to_numpy()
    variables = {}
    for stat in STATISTICS:
        values = np.zeros((len(years), len(edges)))
        values[year, edge] = frame[stat].to_numpy()
        variables[stat] = (("year", "edge"), values)
    coords = {"year": years, **{c: ("edge", edges[c].to_numpy().astype(str)) for c in edges.columns}}
    return xr.Dataset(variables, coords=coords)


def write_netcdf(con: duckdb.DuckDBPyConnection, folder: Path, attributes: dict[str, str]) -> dict:
    """flows.nc, flows_by_birth.nc, stocks.nc and net_migration.nc; returns cells per file."""
    years = [int(y) for (y,) in con.execute("select distinct year from estimates.flows order by 1").fetchall()]
    codes = sorted({c for (c,) in con.execute(
        "select origin from estimates.flows union select destination from estimates.flows "
        "union select birth from estimates.stocks union select residence from estimates.stocks "
        "union select country from estimates.net_migration").fetchall()})
    cells = {}
    for table in TABLES:
        frame = con.execute(f"select * from estimates.{table} where year in (select unnest(?))", [years]).df()
        long_name, dims = WHAT[table]
        ds = edge_dataset(frame, years) if table == "flows_by_birth" else dense_dataset(frame, dims, codes, years)
        for stat, label in STATISTICS.items():
            ds[stat].attrs = {"units": "persons", "long_name": f"{label} of {long_name}"}
        ds["year"].attrs = {"long_name": "calendar year" if table != "stocks" else "year (stocks on 1 January)"}
        for d in ("origin", "destination", "birth", "residence", "country"):
            if d in ds.coords:
                ds[d].attrs = {"long_name": f"ISO 3166-1 alpha-3 code of the country of {d}"}
        ds.attrs = {"title": f"Annual bilateral migration estimates: {table}", "Conventions": "CF-1.10",
                    "table": f"estimates.{table}", **attributes}
        encoding = {stat: {"zlib": True, "complevel": 4} for stat in STATISTICS}
        ds.to_netcdf(folder / f"{table}.nc", engine="h5netcdf", encoding=encoding)
        cells[table] = int(len(frame))
    return cells
