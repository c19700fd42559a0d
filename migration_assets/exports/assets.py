"""The `exports` group: the four estimate tables as Parquet, CSV and NetCDF files (exports/files.py),
and a report page to open in a browser (exports/report.py).

Files go to `exports/<format>/` beside the warehouse (data/exports/ by default), or to the folder
the run config names. Each asset rewrites its whole format from the warehouse after the estimates
change, and records the folder, the files and the provenance in its metadata.
"""


import json
import os
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from ..automation import AFTER_ESTIMATES
from ..ensemble.assets import MODEL_CODE_VERSION
from ..ensemble.checks import KEYS
from . import files, report

ESTIMATE_KEYS = list(KEYS.values())
CLASSIC_FLOWS, CLASSIC_SCORES = (dg.AssetKey(["validation", n]) for n in ["classic_flows", "classic_scores"])
DATA_BASIS = dg.AssetKey(["panel", "data_basis"])  # what each year rests on, exported beside the estimates


class ExportConfig(dg.Config):
    # the folder that receives <format>/; empty: exports/ beside the warehouse (data/exports)
    folder: str = ""


def export_folder(config: ExportConfig, warehouse: DuckDBResource) -> Path:
    return Path(config.folder) if config.folder else Path(warehouse.database).resolve().parent / "exports"


def provenance(instance: dg.DagsterInstance) -> dict[str, str]:
    """What the files were made from: model code version, members, the estimates run, and the data
    version of every raw table, as NetCDF global attributes (strings)."""
    latest = instance.get_latest_materialization_event(ESTIMATE_KEYS[0])
    metadata = latest.asset_materialization.metadata if latest else {}
    members = metadata.get("members")
    raw = {}
    for key in sorted(instance.get_asset_keys(prefix=["raw"]), key=lambda k: k.to_user_string()):
        event = instance.get_latest_materialization_event(key)
        if event is not None:
            tags = event.asset_materialization.tags or {}
            raw[key.to_user_string()] = tags.get("dagster/data_version", "")
    return {
        "source": "migration_assets (annual bilateral migration flow estimates, an ensemble of recurrent networks)",
        "model_code_version": MODEL_CODE_VERSION,
        "members": ", ".join(members.value) if members is not None else "",
        "estimates_run_id": latest.run_id if latest else "",
        "raw_data_versions": json.dumps(raw),
        "units": "persons; stocks on 1 January, flows and net migration during the calendar year",
    }


def _export(fmt: str, kind: str, description: str):
    key = dg.AssetKey(["exports", fmt])

    tables = [*ESTIMATE_KEYS, *([CLASSIC_FLOWS] if fmt != "netcdf" else []), DATA_BASIS]

    @dg.asset(key=key, group_name="exports", deps=tables, kinds={"duckdb", kind}, pool="duckdb",
              description=description, automation_condition=AFTER_ESTIMATES, code_version="1")
    def _asset(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: DuckDBResource):
        folder = export_folder(config, warehouse) / fmt
        with warehouse.get_connection() as con:
            if fmt == "netcdf":
                attributes = {**provenance(context.instance), "data_basis": files.data_basis_attribute(con)}
                counts = files.replace_folder(folder, lambda tmp: files.write_netcdf(con, tmp, attributes))
            else:
                write = files.write_parquet if fmt == "parquet" else files.write_csv
                counts = files.replace_folder(folder, lambda tmp: write(con, tmp))
        written = sorted(p for p in folder.rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in written)
        return dg.MaterializeResult(metadata={
            "folder": dg.MetadataValue.path(str(folder)),
            "files": len(written),
            "megabytes": round(size / 1e6, 1),
            "rows_per_table" if fmt != "netcdf" else "rows_per_file": dg.MetadataValue.json(counts),
        })

    return _asset


parquet = _export("parquet", "parquet", "Every estimate table as a Parquet dataset partitioned by year "
                  "(<table>/year=YYYY/*.parquet), for DuckDB, pandas/pyarrow, R arrow and Spark, the classic "
                  "methods' five-year flows (classic_flows/year_start=YYYY/*.parquet) and what each year rests on "
                  "(data_basis/year=YYYY/*.parquet: observed, projected or carried-forward inputs).")
csv = _export("csv", "csv", "Every estimate table as one gzip-compressed CSV with a header (<table>.csv.gz), "
              "the classic methods' five-year flows (classic_flows.csv.gz) and what each year rests on "
              "(data_basis.csv.gz).")
netcdf = _export("netcdf", "netcdf", "flows.nc, stocks.nc, net_migration.nc (dense: year × country × country) and "
                 "flows_by_birth.nc (year × edge), with mean, std, p05, p50, p95 in persons and provenance "
                 "attributes (data_basis: what each year rests on), laid out like the paper's release.")

def _short(origin: str) -> str:
    """An origin of many files as their folder and count ("45 files in …/un_imfsc_2015")."""
    paths = [Path(p.strip()) for p in origin.split(", ")]
    if len(paths) <= 3:
        return origin
    folders = sorted({str(p.parent) for p in paths})
    return f"{len(paths)} files in {', '.join(folders)}"


def sources_table(instance: dg.DagsterInstance, con) -> pd.DataFrame:
    """Each raw table: where it was read from, its data version, when it landed and its rows."""
    rows = []
    for key in sorted(instance.get_asset_keys(prefix=["raw"]), key=lambda k: k.to_user_string()):
        event = instance.get_latest_materialization_event(key)
        if event is None:
            continue
        mat = event.asset_materialization
        origin = mat.metadata.get("origin")
        count = con.execute(f'select count(*) from raw."{key.path[-1]}"').fetchone()[0]
        rows.append({"table": key.to_user_string(), "rows": count,
                     "origin": _short(origin.value) if origin is not None else "",
                     "data_version": (mat.tags or {}).get("dagster/data_version", ""),
                     "landed": pd.Timestamp(event.timestamp, unit="s").strftime("%Y-%m-%d %H:%M")})
    return pd.DataFrame(rows, columns=["table", "rows", "origin", "data_version", "landed"])


@dg.asset(key=["exports", "report"], group_name="exports", deps=[*ESTIMATE_KEYS, dg.AssetKey(["validation", "coverage"]),
                                                                dg.AssetKey(["validation", "flow_scores"]),
                                                                CLASSIC_SCORES],
          kinds={"duckdb", "html"}, pool="duckdb", automation_condition=AFTER_ESTIMATES, code_version="1",
          description="One self-contained HTML page (metadata `path`; the same report opens in the UI from metadata "
                      "`report`): held-out accuracy per source beside the paper's, interval coverage, global movers "
                      "beside Meta's and the paper's, net migration, the 20 largest corridors with their intervals, "
                      "the data sources with their versions.")
def report_page(context: dg.AssetExecutionContext, config: ExportConfig, warehouse: DuckDBResource):
    path = export_folder(config, warehouse) / "report.html"
    with warehouse.get_connection() as con:
        page, facts = report.build(con, sources_table(context.instance, con), "Annual bilateral migration estimates")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    # the report itself as markdown, which the UI renders on a click ("report"); a file:// link to the
    # page would not open from the UI's http page, so the page's path is given to copy
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.md(facts["markdown"]), "path": dg.MetadataValue.path(str(path)),
        "sections": dg.MetadataValue.json(facts["sections"]), "kilobytes": round(path.stat().st_size / 1e3)})


EXPORT_ASSETS = [parquet, csv, netcdf, report_page]
export_job = dg.define_asset_job("export_estimates", selection=dg.AssetSelection.groups("exports"),
                                 description="Write the estimate tables as Parquet, CSV and NetCDF under "
                                             "data/exports/.")
