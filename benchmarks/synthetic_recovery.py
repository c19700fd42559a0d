"""Recovery of the synthetic world's true flows by the default job, against a naive baseline.

Runs the README's main job (`migration-run`) in a scratch folder, unless --warehouse points at
the warehouse of a finished run, then prints, against the truth:

- held-out corridors (no observed flow in any year, so no member ever saw them): Pearson r of
  counts and of log1p counts, median relative error, coverage of the true flows by the
  calibrated p05-p95 interval of estimates.flows;
- out-of-fold corridors (observed corridors, each predicted only by the member that held its fold
  out): the same correlations;
- the naive stock-differencing baseline on the same cells;
- the true flows summed over each five-year period between stock points, against ours and Abel &
  Cohen's six classic methods computed in the pipeline on the same inputs (validation.classic_scores),
  on all corridors and on those no source reports;
- wall time and peak memory of the run.

    python benchmarks/synthetic_recovery.py [--epochs N] [--warehouse data/warehouse.duckdb --models data/models]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from migration_assets.ensemble.assets import trained_members
from migration_assets.model.tensors import PANEL_INPUTS, build_inputs
from migration_assets.resources import ModelStore
from migration_assets.synthetic.scoring import heldout_corridors, score, stock_differencing
from migration_assets.validation import heldout


def run_job(folder: Path, epochs: int | None) -> tuple[str, str, float, float]:
    os.environ["MIGRATION_WAREHOUSE"] = str(folder / "warehouse.duckdb")
    os.environ["MIGRATION_MODEL_DIR"] = str(folder / "models")
    os.environ["DAGSTER_HOME"] = str(folder)
    (folder / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    from migration_assets import cli

    start = time.perf_counter()
    cli.main(["--epochs", str(epochs)] if epochs else [])
    wall = time.perf_counter() - start
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return os.environ["MIGRATION_WAREHOUSE"], os.environ["MIGRATION_MODEL_DIR"], wall, peak


def out_of_fold(tables: dict[str, pd.DataFrame], models: str) -> pd.DataFrame:
    """Each observed corridor, in every year, predicted by the members that never saw it."""
    inputs = build_inputs(*(tables[f"panel.{n}"] for n in PANEL_INPUTS))
    keys = sorted(p.name for p in Path(models).iterdir() if (p / "weights.pt").exists())
    members = [heldout.Member(key, net, record["fold"], record["seed"])
               for key, net, record in trained_members(ModelStore(root=models), keys, inputs)]
    folds = tables["panel.flow_targets"][["origin", "destination", "fold"]].drop_duplicates()
    grid = folds.merge(pd.DataFrame({"year": inputs.years}), how="cross").assign(flow=0.0, source="truth")
    cells = heldout.out_of_fold(inputs, members, grid, samples=0, stock_noise=0.0)
    return cells.rename(columns={"predicted": "mean"})[["year", "origin", "destination", "mean"]]


def print_classic(scores: pd.DataFrame, classic: pd.DataFrame) -> None:
    """Ours against Abel & Cohen's six methods computed on the same inputs (validation.classic_scores), on the
    true flows summed over each five-year period: all corridors, and those no source reports."""
    true = scores[(scores["comparison"] == "five_year_true_flows")
                  & scores["stratum_kind"].isin(["pooled", "corridors"])]
    wide = true.pivot_table(index=["stratum", "method"], columns="metric", values="value")
    cells = true.groupby(["stratum", "method"])["cells"].first()
    periods = sorted(set(classic["year_start"].astype(str) + "-" + classic["year_end"].astype(str)))
    print(f"\nfive-year true flows ({', '.join(periods)}), ours beside the classic methods on the same inputs:")
    print(f"{'corridors':16s}{'method':24s}{'r':>7s}{'r log1p':>9s}{'spearman':>9s}{'med rel err':>12s}{'cells':>7s}")
    for (stratum, method), row in wide.iterrows():
        print(f"{stratum:16s}{method:24s}{row['pearson']:7.3f}{row['pearson_log1p']:9.3f}{row['spearman']:9.3f}"
              f"{row['median_relative_error']:12.3f}{int(cells[(stratum, method)]):7d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", help="score this finished run instead of running the job")
    parser.add_argument("--models", help="model store of that run (default: data/models beside it)")
    parser.add_argument("--epochs", type=int, help="epochs per member for a fresh run")
    args = parser.parse_args()

    wall = peak = float("nan")
    if args.warehouse:
        warehouse = args.warehouse
        models = args.models or str(Path(warehouse).parent / "models")
    else:
        scratch = Path(tempfile.mkdtemp(prefix="recovery-"))
        warehouse, models, wall, peak = run_job(scratch, args.epochs)

    with duckdb.connect(warehouse, read_only=True) as con:
        names = [".".join(r) for r in con.sql("select schema_name, table_name from duckdb_tables()").fetchall()]
        tables = {n: con.sql(f"select * from {n}").df() for n in names}
    years = sorted(tables["estimates.flows"]["year"].unique())
    countries = list(tables["panel.countries"].sort_values("idx")["country"])
    truth = tables["truth.flows"]
    heldout = heldout_corridors(tables["panel.flow_targets"], countries)  # no source reports them
    observed = tables["panel.flow_targets"][["origin", "destination"]].drop_duplicates()
    baseline = stock_differencing(tables["raw.migrant_stocks"], years).rename(columns={"flow": "mean"})

    rows = {
        "ensemble, held-out corridors": score(tables["estimates.flows"], truth, heldout, years),
        "baseline, held-out corridors": score(baseline, truth, heldout, years),
        "members out-of-fold, observed corridors": score(out_of_fold(tables, models), truth, observed, years),
        "baseline, observed corridors": score(baseline, truth, observed, years),
    }
    print(f"\nSynthetic recovery: {len(countries)} countries, {years[0]}-{years[-1]}, "
          f"{len(heldout)} held-out and {len(observed)} observed corridors")
    print(f"{'':42s} {'r':>7s} {'r log1p':>8s} {'med rel err':>12s} {'p05-p95 cover':>14s} {'cells':>8s}")
    for name, m in rows.items():
        cover = f"{m['coverage_p05_p95']:.3f}" if "coverage_p05_p95" in m else "-"
        print(f"{name:42s} {m['pearson_r']:7.3f} {m['pearson_r_log1p']:8.3f} {m['median_relative_error']:12.3f} "
              f"{cover:>14s} {int(m['cells']):8d}")
    if "validation.classic_scores" in tables:
        print_classic(tables["validation.classic_scores"], tables["validation.classic_flows"])
    flows = tables["estimates.flows"].groupby("year")["mean"].sum()
    true_total = truth.groupby("year")["flow"].sum()
    print(f"\nglobal movers per year, estimate / truth: {flows.mean():,.0f} / {true_total.mean():,.0f}")
    print(f"wall time of the job: {wall:.0f} s; peak memory (largest process): {peak:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
