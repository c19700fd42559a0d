"""The uncertainty a user reads in the warehouse of a finished run: are the columns of every estimate
table one distribution, do the calibrated intervals cover what they claim in every stratum, and how
wide are they where the data speak and where they do not.

    python benchmarks/uncertainty.py --warehouse DIR/warehouse.duckdb    (a real run: benchmarks/real_run.py --keep DIR)
    python benchmarks/uncertainty.py --warehouse data/warehouse.duckdb   (the synthetic world: `migration-run`)

Prints, for every estimate table: p05 <= p50 <= p95 (share of rows), the median of p50 / mean over
rows with mean > 100, the median of std / ((p95 - p05) / 3.29) (1 for a normal distribution);
validation.coverage, calibrated: coverage of p05-p95 and p25-p75 and the median width for every
stratum with at least --min-cells cells; Meta's held-out cells under 50 (coverage against the
reported flow in the flow scale); on the estimates.flows rows of corridors some source reports in
some year, the median p95/p05 by size (p05 = 0 counts as infinitely wide); and, when the warehouse
holds the synthetic world's truth (schema truth), the coverage of the true flows, flows by birth,
stocks and net migration by the published intervals, by size and by whether the corridor-year is
reported.
"""

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from migration_assets.validation.assets import size_bin  # noqa: E402

TABLES = ("flows", "flows_by_birth", "stocks", "net_migration")
KEYS = {"flows": ["year", "origin", "destination"], "flows_by_birth": ["year", "birth", "origin", "destination"],
        "stocks": ["year", "birth", "residence"], "net_migration": ["year", "country"]}


def show(title: str, frame: pd.DataFrame) -> None:
    print(f"\n## {title}\n")
    print(frame.to_string(float_format=lambda v: f"{v:,.3f}") if len(frame) else "(none)")


def coherence(con) -> pd.DataFrame:
    rows = []
    for table in TABLES:
        f = con.sql(f"select mean, std, p05, p50, p95 from estimates.{table}").df()
        above = f[f["mean"] > 100]
        spread = (f["p95"] - f["p05"]) / 3.29
        wide = spread > 0
        rows.append({"table": table, "rows": len(f),
                     "ordered": float(((f["p05"] <= f["p50"] + 1e-6) & (f["p50"] <= f["p95"] + 1e-6)).mean()),
                     "median_p50_over_mean_above_100": float(np.median(above["p50"] / above["mean"]))
                     if len(above) else np.nan,
                     "median_std_over_normal_std": float(np.median(f.loc[wide, "std"] / spread[wide]))
                     if wide.any() else np.nan})
    return pd.DataFrame(rows)


def width_on_reported_corridors(con) -> pd.DataFrame:
    flows = con.sql("""
        select f.year, f.origin, f.destination, f.mean, f.p05, f.p95,
               exists (select 1 from panel.flow_targets t where t.origin = f.origin
                       and t.destination = f.destination) as corridor_reported,
               exists (select 1 from panel.flow_targets t where t.origin = f.origin
                       and t.destination = f.destination and t.year = f.year) as year_reported
        from estimates.flows f""").df()
    flows["size"] = size_bin(flows["mean"].to_numpy())
    flows["ratio"] = np.where(flows["p05"] > 0, flows["p95"] / flows["p05"].where(flows["p05"] > 0, 1.0), np.inf)
    out = (flows.groupby(["corridor_reported", "year_reported", "size"])
           .agg(rows=("ratio", "size"), median_p95_over_p05=("ratio", "median"))
           .reset_index())
    return out


def truth_coverage(con) -> pd.DataFrame:
    reported = con.sql("select distinct year, origin, destination, 1 as reported from panel.flow_targets").df()
    rows = []
    truth_values = {"flows": "flow", "flows_by_birth": "flow", "stocks": "stock", "net_migration": "net_migration"}
    for table, column in truth_values.items():
        key = KEYS[table]
        est = con.sql(f"select * from estimates.{table}").df()
        true = con.sql(f"select * from truth.{table}").df()
        cells = est.merge(true[[*key, column]], on=key)
        if table == "stocks":
            cells = cells[cells["birth"] != cells["residence"]]
        cells["inside"] = (cells["p05"] <= cells[column]) & (cells[column] <= cells["p95"])
        cells["size"] = size_bin(cells[column].abs().to_numpy())
        if "origin" in cells:
            cells = cells.merge(reported, on=["year", "origin", "destination"], how="left")
            cells["corridor_year"] = np.where(cells["reported"].fillna(0) > 0, "reported", "unreported")
        else:
            cells["corridor_year"] = "-"
        for (corridor_year, size), part in cells.groupby(["corridor_year", "size"]):
            rows.append({"table": table, "corridor_year": corridor_year, "true_size": size, "cells": len(part),
                         "coverage_p05_p95": float(part["inside"].mean())})
        rows.append({"table": table, "corridor_year": "all", "true_size": "all", "cells": len(cells),
                     "coverage_p05_p95": float(cells["inside"].mean())})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--min-cells", type=int, default=1000, help="smallest stratum printed")
    args = parser.parse_args()
    with duckdb.connect(args.warehouse, read_only=True) as con:
        show("coherence of the columns of every estimate table", coherence(con))
        coverage = con.sql("select * from validation.coverage where stage = 'calibrated'").df()
        wide = coverage.pivot_table(index=["stratum_kind", "stratum"], columns="interval",
                                    values=["coverage", "median_width", "cells"], aggfunc="first")
        wide.columns = [f"{a}_{b}" for a, b in wide.columns]
        wide = wide[wide["cells_p05-p95"] >= args.min_cells].drop(columns=["cells_p25-p75"])
        show(f"calibrated coverage and median width, strata with >= {args.min_cells} cells (cross-fitted)", wide)
        held = con.sql("select * from validation.heldout_flows").df()
        meta = held[held["source"].str.startswith("meta") & (held["predicted"] < 50)].dropna(
            subset=["calibrated_p05"])
        if len(meta):
            inside = (meta["calibrated_p05"] <= meta["reported_as_flow"]) & (
                meta["reported_as_flow"] <= meta["calibrated_p95"])
            print(f"\nMeta's held-out cells with estimates under 50: {len(meta)} cells, p05-p95 covers "
                  f"{inside.mean():.3f} (above p95 {(meta['reported_as_flow'] > meta['calibrated_p95']).mean():.3f})")
        show("median p95/p05 of estimates.flows by whether the corridor (and that year) is reported, and size",
             width_on_reported_corridors(con))
        scores = con.sql("select method, metric, value, cells from validation.flow_scores "
                         "where stratum_kind = 'pooled' and metric in ('pearson', 'pearson_log1p')").df()
        show("held-out accuracy (validation.flow_scores, pooled)", scores)
        has_truth = con.sql("select count(*) from information_schema.tables where table_schema = 'truth'").fetchall()[0][0]
        if has_truth:
            show("coverage of the synthetic world's truth by the published p05-p95", truth_coverage(con))


if __name__ == "__main__":
    main()
