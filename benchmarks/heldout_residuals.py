"""Which cells decide the held-out correlation of counts: the largest squared standardized residuals.

Reads a finished real run's warehouse (benchmarks/real_run.py --keep DIR) read-only, joins the
held-out predictions (validation.heldout_flows) with the whole ensemble (estimates.flows) and the
paper's published flows (reference.gaskin_abel_flows) on the cells all three have, prints r and
r log1p of each and the ratio of predicted to reported totals, then each cell's share of the
squared difference of the standardized held-out predictions and reports (their sum is 2n(1 − r),
so a cell's share is its part of what r falls short of 1), and the cells with the largest shares.

    python benchmarks/heldout_residuals.py --run DIR [--top 30]
"""

import argparse
from pathlib import Path

import duckdb
import numpy as np

QUERY = """
select h.year, h.origin, h.destination, h.source, h.reported, h.predicted, f.mean as ensemble, g.flow as paper
from validation.heldout_flows h
join estimates.flows f using (year, origin, destination)
join reference.gaskin_abel_flows g using (year, origin, destination)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="folder of a finished real run")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with duckdb.connect(str(Path(args.run) / "warehouse.duckdb"), read_only=True) as con:
        cells = con.sql(QUERY).df()
    y = cells["reported"].to_numpy()
    print(f"{len(cells):,} held-out cells that the paper also estimates")
    for col in ("predicted", "ensemble", "paper"):
        x = cells[col].to_numpy()
        print(f"  {col:9s} r {np.corrcoef(x, y)[0, 1]:.3f}  r log1p {np.corrcoef(np.log1p(x), np.log1p(y))[0, 1]:.3f}  "
              f"total / reported {x.sum() / y.sum():.3f}")
    x = cells["predicted"].to_numpy()
    residual = ((x - x.mean()) / x.std() - (y - y.mean()) / y.std()) ** 2  # Σ residual = 2n(1 − r)
    cells["share"] = residual / residual.sum()
    top = cells.sort_values("share", ascending=False)
    print(f"share of the squared residual of the held-out predictions: largest 20 cells "
          f"{top['share'].head(20).sum():.1%}, largest 200 {top['share'].head(200).sum():.1%}")
    print(top.head(args.top).round({"predicted": 0, "ensemble": 0, "share": 4}).to_string(index=False))


if __name__ == "__main__":
    main()
