"""Accuracy on the real data: ours against the anchors on the same cells, and interval coverage.

Prints the tables of the validation assets (validation.anchor_scores, validation.coverage) of a
finished real run (benchmarks/real_run.py --keep DIR), or does such a run first:

    python benchmarks/accuracy.py --run DIR
    python benchmarks/accuracy.py [real_run.py options, e.g. --members 10 --epochs 60]

- annual held-out flows: every observed flow cell (OECD B11 inflows, Eurostat immigration by
  previous residence, Meta's Facebook-based flows, UN IMFSC flows to and from 44 reporters)
  predicted by the members that never saw its corridor (ours_heldout), by the whole ensemble
  (ours_ensemble: most members saw the cell) and by the paper's published flows (gaskin_abel),
  pooled, by dataset, by source (dataset x criterion x reporting side) and by fold;
- global movers per year: ours, the paper's and Meta's (pairs >= 50);
- reported corridor-years that the estimates leave at exactly 0 (no edge along the corridor);
- five-year flows: sums over 1990-95 ... 2015-20 of the cells reported in all five years,
  beside Abel & Cohen's six methods;
- net migration against WPP 2024 and the national statistics, and five-year net migration
  against WPP beside the net migration implied by Abel & Cohen;
- stock changes between UN stock points, and the share of the UN's changes ours reproduce by size;
- coverage of the held-out reported flows by the 90 % and 50 % intervals, before and after
  calibration;
- the calibrated 90 % interval's coverage by dataset and by the size of our held-out estimate,
  with the shares of reported flows above p95 and below p05 (Meta reports only pairs of 50 or
  more movers, so where we estimate fewer its reported flow lies above our interval by design);
- the held-out cells split by whether the paper trained on them (method.md §2.3: QuantMig's
  European flows, the national statistics of Sweden, Finland and New Zealand, Meta's 2019-2022):
  the paper's published flows are in sample there, ours are held out everywhere; and pooled
  without Meta, all of whose cells the paper trained on.
"""

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for real_run


def show(title: str, frame: pd.DataFrame) -> None:
    print(f"\n{title}")
    print(frame.to_string(float_format=lambda v: f"{v:.3f}") if len(frame) else "(no cells)")


# The paper's training flows (method.md §2.3), as cells: QuantMig's estimates among 32 European
# countries (EU 27, the United Kingdom, Iceland, Norway, Switzerland, North Macedonia; IMEM
# 2002-2008 and QuantMig 2009-2019), the bilateral statistics of Sweden, Finland and New Zealand
# (both directions, every year), and every cell of Meta's Facebook-based flows (2019-2022).
QUANTMIG = set("AUT BEL BGR HRV CYP CZE DNK EST FIN FRA DEU GRC HUN IRL ITA LVA LTU LUX MLT NLD POL PRT ROU SVK "
               "SVN ESP SWE GBR ISL NOR CHE MKD".split())
NATIONAL_STATISTICS = {"SWE", "FIN", "NZL"}


def paper_trained_on(cells: pd.DataFrame, meta: pd.DataFrame) -> pd.Series:
    """Whether the paper's training data held a cell (year, origin, destination): 'paper in sample'
    or 'paper held out or unseen' (the paper held out a fifth of its corridors, unknown which).
    meta: Meta's cells (year, origin, destination)."""
    measured = cells.merge(meta[["year", "origin", "destination"]].drop_duplicates().assign(meta=1),
                           on=["year", "origin", "destination"], how="left")["meta"].notna().to_numpy()
    inside = ((cells["origin"].isin(QUANTMIG) & cells["destination"].isin(QUANTMIG)
               & cells["year"].between(2002, 2019))
              | cells["origin"].isin(NATIONAL_STATISTICS) | cells["destination"].isin(NATIONAL_STATISTICS)
              | measured | (cells["source"] == "meta_facebook"))
    return pd.Series(np.where(inside, "paper in sample", "paper held out or unseen"), index=cells.index)


SIZE_EDGES = (0.0, 50.0, 500.0, 5000.0, np.inf)  # persons a year: bins of our held-out estimate


def coverage_by_size(cells: pd.DataFrame) -> pd.DataFrame:
    """Calibrated p05-p95 coverage of held-out reported flows by dataset and by the size of our
    estimate (cells: dataset, predicted, reported, calibrated_p05, calibrated_p95), with the shares
    above p95 and below p05 and the median reported / estimated. The interval is about the flow, so
    the reported flow is compared in the flow scale (reported_as_flow: its source's learned reporting
    bias removed) where the table has it."""
    cells = cells.dropna(subset=["calibrated_p05", "calibrated_p95"])
    if "reported_as_flow" in cells:
        cells = cells.assign(reported=cells["reported_as_flow"])
    labels = [f"{lo:,.0f}-{hi:,.0f}" if np.isfinite(hi) else f">= {lo:,.0f}"
              for lo, hi in zip(SIZE_EDGES[:-1], SIZE_EDGES[1:])]
    size = pd.cut(cells["predicted"], SIZE_EDGES, right=False, labels=labels)
    frame = cells.assign(estimate=size, above=cells["reported"] > cells["calibrated_p95"],
                         below=cells["reported"] < cells["calibrated_p05"],
                         ratio=cells["reported"] / cells["predicted"].where(cells["predicted"] > 0))
    out = frame.groupby(["dataset", "estimate"], observed=True).agg(
        cells=("reported", "size"), above_p95=("above", "mean"), below_p05=("below", "mean"),
        median_reported_over_estimate=("ratio", "median"))
    out.insert(1, "coverage", 1.0 - out["above_p95"] - out["below_p05"])
    return out


def paper_training_scores(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Scores of the held-out cells, ours and the paper's, split by whether the paper trained on them."""
    from migration_assets.panel.build import dataset
    from migration_assets.validation import metrics

    cells = con.sql("""
        select h.year, h.origin, h.destination, h.source, h.reported, h.predicted as ours_heldout,
               coalesce(p.flow, 0) as gaskin_abel
        from validation.heldout_flows h
        left join reference.gaskin_abel_flows p using (year, origin, destination)""").df()
    cells["dataset"] = dataset(cells["source"])
    cells["paper_training"] = paper_trained_on(cells, con.sql("select * from raw.meta_flows").df())
    cells["dataset_by_paper_training"] = cells["dataset"] + ", " + cells["paper_training"]
    cells["meta_or_not"] = np.where(cells["dataset"] == "meta", "meta", "all but meta")
    return metrics.scores(cells, "annual_heldout_flows", "reported", ["ours_heldout", "gaskin_abel"],
                          {"paper_training": "paper_training", "dataset": "dataset_by_paper_training",
                           "meta_or_not": "meta_or_not"})


def show_paper_training_split(scores: pd.DataFrame) -> None:
    from migration_assets.validation import report

    for kind in ["paper_training", "dataset"]:
        show(f"annual_heldout_flows by whether the paper trained on the cell ({kind})",
             report.table(scores, "annual_heldout_flows", kind))
    show("annual_heldout_flows pooled without Meta (every Meta cell is in the paper's training data)",
         report.table(scores, "annual_heldout_flows", "meta_or_not"))


def print_report(folder: Path) -> None:
    from migration_assets.panel.build import dataset
    from migration_assets.validation import anchors, report

    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        movers = anchors.global_flows(con.sql("select year, origin, destination, mean from estimates.flows").df(),
                                      con.sql("select * from reference.gaskin_abel_flows").df(),
                                      con.sql("select * from raw.meta_flows").df())
        zeros = con.sql("""
            select split_part(f.source, '_', 1) as dataset, count(*) as reported_cells,
                   count(*) filter (where e.mean is null or e.mean = 0) as estimated_as_zero
            from panel.flow_targets f left join estimates.flows e using (year, origin, destination)
            group by 1 order by 1""").df()
        scores = con.sql("select * from validation.anchor_scores").df()
        coverage = con.sql("select * from validation.coverage").df()
        paper_split = paper_training_scores(con)
        heldout = con.sql("select * from validation.heldout_flows").df()
        stock_cells = anchors.stock_changes(con.sql("select * from panel.stock_targets").df(),
                                            con.sql("select year, birth, residence, mean from estimates.stocks").df())
    print(f"\nAccuracy of the run in {folder}: {len(heldout):,} held-out cells in {heldout['fold'].nunique()} folds")
    for comparison in ["annual_heldout_flows", "five_year_flows", "net_migration_wpp", "net_migration_national",
                       "five_year_net_migration_wpp", "stock_change"]:
        show(f"{comparison} (pooled)", report.table(scores, comparison))
    show("stock changes between UN points by size of the UN's change (whole ensemble)",
         anchors.stock_changes_by_size(stock_cells["reported"].to_numpy(), stock_cells["ours_ensemble"].to_numpy()))
    show("annual_heldout_flows by dataset", report.table(scores, "annual_heldout_flows", "dataset"))
    show("annual_heldout_flows by source", report.table(scores, "annual_heldout_flows", "source"))
    show("annual_heldout_flows by fold", report.table(scores, "annual_heldout_flows", "fold"))
    show("five_year_flows by source", report.table(scores, "five_year_flows", "source"))
    show("global movers per year (millions; Meta: pairs >= 50)",
         movers.set_index("year").assign(**{c: movers.set_index("year")[c] / 1e6 for c in movers.columns
                                             if c != "year" and "_over_" not in c}))
    show("reported corridor-years estimated as exactly 0", zeros.set_index("dataset"))
    cover = coverage[coverage["stratum_kind"].isin(["pooled", "source"])]
    show("coverage of held-out reported flows", cover.pivot_table(
        index=["stratum_kind", "stratum", "interval", "nominal"], columns="stage", values="coverage"))
    show("calibrated p05-p95 coverage of held-out reported flows by dataset and size of our estimate",
         coverage_by_size(heldout.assign(dataset=dataset(heldout["source"]))))
    show_paper_training_split(paper_split)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="folder of a finished benchmarks/real_run.py run")
    args, rest = parser.parse_known_args()
    folder = Path(args.run) if args.run else None
    if folder is None:
        import tempfile

        import real_run

        folder = Path(tempfile.mkdtemp(prefix="accuracy-"))
        sys.argv = [sys.argv[0], *rest, "--keep", str(folder)]
        real_run.main()
    print_report(folder.resolve())


if __name__ == "__main__":
    sys.exit(main())
