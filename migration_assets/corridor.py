"""`migration-flows ORIGIN DESTINATION`: one corridor's yearly estimates, read from the warehouse.

Prints, per calendar year, the ensemble mean and its calibrated p05–p95 interval (persons moving
from ORIGIN to DESTINATION during the year), with the paper's published flow and every reported
flow of the corridor beside them where the warehouse holds them, and what the year's estimate rests
on (`basis`: "observed", or "nowcast: " and the inputs that are projected, carried forward or
extrapolated that year; panel.data_basis). `--by-birth` splits the estimate
by country of birth instead; `--plot FILE` also draws the corridor (PNG, SVG or PDF by extension).
The warehouse is opened read-only: this never changes it.

    migration-flows MEX USA
    migration-flows SYR DEU --by-birth
    migration-flows ROU ITA --plot rou_ita.png
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from . import preflight


def _exists(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def corridor_table(con, origin: str, destination: str) -> pd.DataFrame:
    """Year, our mean and interval, the paper's flow and each reported source's flow, one row a year."""
    ours = con.execute("select year, mean, p05, p50, p95 from estimates.flows where origin = ? and destination = ? "
                       "order by year", [origin, destination]).df()
    if _exists(con, "reference", "gaskin_abel_flows"):
        paper = con.execute("select year, flow as gaskin_abel from reference.gaskin_abel_flows "
                            "where origin = ? and destination = ?", [origin, destination]).df()
        ours = ours.merge(paper, on="year", how="left")
    if _exists(con, "panel", "flow_targets"):
        reported = con.execute("select year, source, flow from panel.flow_targets where origin = ? and destination = ?",
                               [origin, destination]).df()
        if len(reported):
            wide = reported.pivot_table(index="year", columns="source", values="flow", aggfunc="first")
            ours = ours.merge(wide.add_prefix("reported_").reset_index(), on="year", how="left")
    if _exists(con, "panel", "data_basis"):
        basis = con.execute("select year, input, basis from panel.data_basis where role in ('covariate', 'both') "
                            "and basis in ('projected', 'carried_forward', 'extrapolated') order by year, input").df()
        words = basis.assign(what=basis["input"] + " " + basis["basis"].str.replace("_", " "))
        nowcast = words.groupby("year")["what"].agg(lambda w: "nowcast: " + ", ".join(w))
        ours["basis"] = ours["year"].map(nowcast).fillna("observed")
    return ours


def by_birth_table(con, origin: str, destination: str) -> pd.DataFrame:
    return con.execute("select year, birth, mean, p05, p50, p95 from estimates.flows_by_birth "
                       "where origin = ? and destination = ? and p95 >= 1 order by year, mean desc", [origin, destination]).df()


def plot(table: pd.DataFrame, origin: str, destination: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.fill_between(table["year"], table["p05"], table["p95"], alpha=0.25, label="ours, p05–p95")
    ax.plot(table["year"], table["mean"], label="ours, mean")
    if "gaskin_abel" in table:
        ax.plot(table["year"], table["gaskin_abel"], "--", label="Gaskin & Abel")
    for column in [c for c in table.columns if c.startswith("reported_")]:
        ax.plot(table["year"], table[column], "o", markersize=3, label=column.removeprefix("reported_"))
    ax.set_title(f"Migrants from {origin} to {destination}")
    ax.set_xlabel("calendar year")
    ax.set_ylabel("persons moving during the year")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="migration-flows", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("origin", help="ISO3 code of the country the movers leave")
    parser.add_argument("destination", help="ISO3 code of the country they move to")
    parser.add_argument("--by-birth", action="store_true", help="split the estimate by country of birth")
    parser.add_argument("--plot", metavar="FILE", help="also draw the corridor into FILE (.png, .svg, .pdf)")
    args = parser.parse_args(argv)
    origin, destination = args.origin.upper(), args.destination.upper()
    path = Path(os.environ.get(preflight.WAREHOUSE_VAR, preflight.DEFAULT_WAREHOUSE)).expanduser().resolve()
    if not path.is_file():
        parser.exit(1, f"migration-flows: no warehouse at {path}: run migration-run first, or set "
                       f"{preflight.WAREHOUSE_VAR} to the warehouse to read\n")
    try:
        con = preflight.connect_warehouse(path, read_only=True)
    except preflight.WarehouseError as error:
        parser.exit(1, f"migration-flows: {error}\n")
    with con:
        if not _exists(con, "estimates", "flows"):
            parser.exit(1, f"migration-flows: {path} holds no estimates.flows: run migration-run first\n")
        known = {c for (c,) in con.execute("select distinct origin from estimates.flows").fetchall()}
        unknown = [c for c in (origin, destination) if c not in known]
        if unknown:
            parser.exit(1, f"migration-flows: {', '.join(unknown)} not among the warehouse's {len(known)} countries "
                           f"(ISO3 codes, e.g. {', '.join(sorted(known)[:5])})\n")
        table = corridor_table(con, origin, destination)
        shown = by_birth_table(con, origin, destination) if args.by_birth else table
    pd.set_option("display.width", 200)
    print(f"Migrants from {origin} to {destination}, persons during each calendar year "
          f"(ours: ensemble mean and calibrated p05-p95; {path})")
    print(shown.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    if args.plot:
        plot(table, origin, destination, args.plot)
        print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
