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
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import torch

from migration_assets.model.tensors import build_inputs
from migration_assets.model.train import new_model
from migration_assets.panel.build import dataset
from migration_assets.validation.heldout import Member, out_of_fold

PANEL = ["countries", "country_year", "dyads", "refugees", "initial_stocks", "edges"]


def load_members(models: Path, inputs) -> list[Member]:
    members = []
    for folder in sorted(p for p in models.iterdir() if (p / "weights.pt").exists()):
        record = json.loads((folder / "config.json").read_text())
        net = new_model(inputs, len(record["sources"]), record["train"]["hidden"])
        net.load_state_dict(torch.load(folder / "weights.pt", weights_only=True))
        members.append(Member(folder.name, net, record["fold"], record["seed"]))
    return members


def correlations(cells: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, part in [("pooled", cells), *cells.groupby("dataset")]:
        rows.append({"cells": name, "n": len(part),
                     "r": np.corrcoef(part["predicted"], part["reported"])[0, 1],
                     "r_log1p": np.corrcoef(np.log1p(part["predicted"]), np.log1p(part["reported"]))[0, 1]})
    return pd.DataFrame(rows).set_index("cells")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="folder of a finished benchmarks/real_run.py run")
    args = parser.parse_args()
    run = Path(args.run)
    with duckdb.connect(str(run / "warehouse.duckdb"), read_only=True) as con:
        tables = {n: con.sql(f"select * from panel.{n}").df() for n in [*PANEL, "flow_targets"]}
    inputs = build_inputs(*(tables[n] for n in PANEL))
    members = load_members(run / "models", inputs)
    folds = sorted({m.fold for m in members})
    first = [next(m for m in members if m.fold == f) for f in folds]
    second = [m for m in members if m not in first]
    halves = {"first of each fold": first, "second of each fold": second, "all members": members}
    for label, subset in list(halves.items())[:2]:
        print(f"{label}: {', '.join(m.name for m in subset)}")
    scores = {}
    for label, subset in halves.items():
        if {m.fold for m in subset} != set(folds):
            print(f"{label}: does not cover every fold, left out")
            continue
        cells = out_of_fold(inputs, subset, tables["flow_targets"], 0, 0.0)
        cells["dataset"] = dataset(cells["source"])
        scores[label] = correlations(cells)
    table = pd.concat(scores, names=["members"]).unstack("members")
    table = pd.concat([table["n"].iloc[:, :1].set_axis(["cells"], axis=1), table[["r", "r_log1p"]]], axis=1)
    print(f"held-out r / r log1p of {run} by half-ensemble (one member per fold each) and by all members")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
