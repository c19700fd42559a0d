"""One model change, judged on one held-out fold of a finished real run (minutes, not half an hour).

Trains a member (or one per seed, scored as their mean) on the panel of a run made by
benchmarks/real_run.py (--keep DIR), without the observed corridors of one fold, with TrainConfig
fields overridden from JSON, and prints the held-out scores on that fold beside the paper's
published flows on the same cells (pooled, by dataset and by source), how closely the members
follow the UN's stock changes between stock points, and the movers per year beside Meta's
measurement. It reads the run's warehouse and writes nothing there.

    python benchmarks/fold_experiment.py --run DIR [--fold 0] [--seed 0 [1 ...]] [--threads 2] \
        [--config '{"epochs": 200, "weight_flow": 1.0}'] [--cells heldout.csv]

The fold-0/fold-1 figures of the issue 4 closing note come from this script (with the code of
each commit named there).
"""

import argparse
import dataclasses
import json
import sys
import time

import duckdb
import numpy as np
import torch

from migration_assets.model.network import EdgeStructure, bilateral, roll
from migration_assets.model.tensors import PANEL_INPUTS, build_inputs, build_targets
from migration_assets.model.train import TrainConfig, fit
from migration_assets.validation import anchors, metrics
from migration_assets.panel.build import dataset
from migration_assets.validation.heldout import Member, out_of_fold

PANEL = [*PANEL_INPUTS, "flow_targets", "stock_targets", "net_migration_targets"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="folder of a finished benchmarks/real_run.py run")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--seed", type=int, nargs="+", default=[0],
                        help="one member per seed, trained one after the other and scored as their mean, as the "
                             "ensemble pools the members of a fold (a real run of 10 members has two a fold)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--config", default="{}", help="TrainConfig fields to override, as JSON")
    parser.add_argument("--cells", help="also write the held-out cells (reported, ours, the paper's) to this CSV")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with duckdb.connect(f"{args.run}/warehouse.duckdb", read_only=True) as con:
        t = {n: con.sql(f"select * from panel.{n}").df() for n in PANEL}
        paper = con.sql("select year, origin, destination, flow as gaskin_abel "
                        "from reference.gaskin_abel_flows").df()
    inputs = build_inputs(*(t[n] for n in PANEL_INPUTS))
    targets = build_targets(t["countries"], inputs.years, t["stock_targets"], t["net_migration_targets"],
                            t["flow_targets"])
    config = dataclasses.replace(TrainConfig(), **json.loads(args.config))
    members = []
    for seed in args.seed:
        start = time.perf_counter()
        model, history = fit(inputs, targets.without_fold(args.fold), config, seed=seed)
        print(f"fold {args.fold}, seed {seed}, {json.loads(args.config) or 'defaults'}: "
              f"trained in {time.perf_counter() - start:.0f} s, final loss {history[-1]['loss']:.4f}")
        members.append(Member(f"seed {seed}", model, args.fold, seed))

    cells = out_of_fold(inputs, members, t["flow_targets"], 0, 0.0)
    cells = cells.merge(paper, on=["year", "origin", "destination"], how="left").fillna({"gaskin_abel": 0.0})
    cells = cells.rename(columns={"predicted": "ours_heldout"})
    cells["dataset"] = dataset(cells["source"])
    if args.cells:
        cells.to_csv(args.cells, index=False)
    scores = metrics.scores(cells, "annual_heldout_flows", "reported", ["ours_heldout", "gaskin_abel"],
                            {"pooled": None, "dataset": "dataset", "source": "source"},
                            share_of=["source", "year", "destination"])
    wide = scores.pivot_table(index=["stratum", "method"], columns="metric", values="value")
    print(wide[["pearson", "pearson_log1p", "pearson_proportion", "spearman", "median_relative_error"]]
          .to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"total held-out flow, ours {cells['ours_heldout'].sum() / 1e6:.2f} M, "
          f"reported {cells['reported'].sum() / 1e6:.2f} M, paper {cells['gaskin_abel'].sum() / 1e6:.2f} M")
    # the level: the members' mean movers per year (pairs >= 50, as Meta counts) beside Meta's measurement
    structure = EdgeStructure(inputs.edges, inputs.n_countries)
    with torch.no_grad():
        rolled = [roll(m.model, inputs.to(torch.float32), structure=structure) for m in members]
        corridors = sum(bilateral(flows, structure).numpy() for flows, _ in rolled) / len(members)
        stocks = (sum(stocks for _, stocks in rolled) / len(members)).reshape(len(inputs.years) + 1, -1).double()
    # how closely the members follow the UN's stock changes between stock points (foreign-born cells;
    # training data of every fold): r, and the sum of the predicted changes over the UN's by size of change
    n = inputs.n_countries
    foreign = targets.stock_birth != targets.stock_residence
    cell = (targets.stock_birth * n + targets.stock_residence)[foreign]
    change = (stocks[targets.stock_end[foreign], cell] - stocks[targets.stock_start[foreign], cell]).numpy()
    wanted = targets.stock_change[foreign].double().numpy()
    print(f"stock changes between UN points: r {np.corrcoef(change, wanted)[0, 1]:.3f}")
    print(anchors.stock_changes_by_size(wanted, change).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    reported = t["flow_targets"]
    meta = reported[reported["source"].isin(config.level_sources)].groupby("year")["flow"].sum()
    for year, measured in meta.items():
        year_flows = corridors[inputs.years.index(int(year))]
        print(f"{year}: movers (pairs >= 50) {year_flows[year_flows >= 50].sum() / 1e6:.1f} M, "
              f"Meta {measured / 1e6:.1f} M")


if __name__ == "__main__":
    sys.exit(main())
