"""How much a rerun with other seeds would move the held-out scores of a finished real run.

A real run of 10 members has two per fold. This scores the held-out cells three ways: by the
half-ensemble m00-m04 (one member per fold), by m05-m09 (the other member per fold), and by both
(the run's own figure, as validation.heldout_flows holds it). The two halves are two runs of
the same code with other seeds, each half the size, so their difference bounds what a rerun
moves; both together shows what pooling the members of a fold adds.

    python benchmarks/half_ensembles.py --run DIR     # DIR from benchmarks/real_run.py --keep DIR

It reads the run's warehouse and stored members and writes nothing (about a minute on 2 cores).
"""

import argparse
from pathlib import Path

import duckdb

from migration_assets.ensemble.assets import trained_members
from migration_assets.model.tensors import PANEL_INPUTS, build_inputs
from migration_assets.panel.build import dataset
from migration_assets.resources import ModelStore
from migration_assets.validation import metrics, report
from migration_assets.validation.heldout import Member, out_of_fold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="folder of a finished benchmarks/real_run.py run")
    args = parser.parse_args()
    run = Path(args.run)
    with duckdb.connect(str(run / "warehouse.duckdb"), read_only=True) as con:
        tables = {n: con.sql(f"select * from panel.{n}").df() for n in [*PANEL_INPUTS, "flow_targets"]}
    inputs = build_inputs(*(tables[n] for n in PANEL_INPUTS))
    keys = sorted(p.name for p in (run / "models").iterdir() if (p / "weights.pt").exists())
    members = [Member(key, net, record["fold"], record["seed"])
               for key, net, record in trained_members(ModelStore(root=str(run / "models")), keys, inputs)]
    first = sorted({m.fold: m for m in reversed(members)}.values(), key=lambda m: m.name)  # first of each fold
    halves = {"first of each fold": first, "second of each fold": [m for m in members if m not in first],
              "all members": members}
    folds = {m.fold for m in members}
    cells = []
    for label, subset in halves.items():
        if {m.fold for m in subset} != folds:
            print(f"{label}: does not cover every fold, left out")
            continue
        if label != "all members":
            print(f"{label}: {', '.join(m.name for m in subset)}")
        # the same cells in the same order for every subset covering every fold
        part = out_of_fold(inputs, subset, tables["flow_targets"], 0, 0.0)
        cells.append(part.rename(columns={"predicted": label})[label])
    held = part.drop(columns="predicted").join(cells)
    held["dataset"] = dataset(held["source"])
    methods = [label for label in halves if label in held]
    scores = metrics.scores(held, "annual_heldout_flows", "reported", methods, {"pooled": None, "dataset": "dataset"})
    print(f"held-out scores of {run} by half-ensemble (one member per fold each) and by all members")
    for kind in ["pooled", "dataset"]:
        print(report.table(scores, "annual_heldout_flows", kind).to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
