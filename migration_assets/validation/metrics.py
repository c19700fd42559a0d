"""Agreement metrics between estimated and reported migration figures (pure pandas/numpy).

Every comparison scores a frame of cells with a reported column and one column per method, all
in persons. The metrics follow method.md §7.2-7.3 and the issue's harness:

- `pearson`: Pearson r on counts (dominated by the largest flows);
- `pearson_log1p`: Pearson r on log(1 + x), clipped at 0 (every size counts);
- `pearson_proportion`: r on flow / the reporter's total over the scored cells of the same
  group (e.g. source, year and destination): where people come from, whatever the level;
- `pearson_rate`: r on flow / origin population (a migration rate);
- `spearman`: rank correlation;
- `median_relative_error`: median |estimate − reported| / reported over cells reported ≥ 10.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("pearson", "pearson_log1p", "pearson_proportion", "pearson_rate", "spearman", "median_relative_error")


def _r(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    return pd.Series(x).rank(method="average").to_numpy()


def agreement(cells: pd.DataFrame, reported: str, estimate: str, share_of: list[str] | None = None,
              population: str | None = None) -> dict[str, float]:
    """Metrics of column `estimate` against column `reported` over all rows of `cells`.

    share_of: the columns that define a reporter's total for `pearson_proportion` (skipped if None);
    population: the column holding origin population for `pearson_rate` (skipped if None).
    """
    est = cells[estimate].to_numpy(dtype=float)
    rep = cells[reported].to_numpy(dtype=float)
    out = {
        "cells": float(len(cells)),
        "pearson": _r(est, rep),
        "pearson_log1p": _r(np.log1p(np.clip(est, 0, None)), np.log1p(np.clip(rep, 0, None))),
        "spearman": _r(_ranks(est), _ranks(rep)) if len(cells) else float("nan"),
    }
    if share_of:
        groups = cells.groupby(share_of, sort=False)
        est_total = groups[estimate].transform("sum").to_numpy(dtype=float)
        rep_total = groups[reported].transform("sum").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["pearson_proportion"] = _r(est / est_total, rep / rep_total)
    if population:
        pop = cells[population].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["pearson_rate"] = _r(est / pop, rep / pop)
    big = rep >= 10
    out["median_relative_error"] = (float(np.median(np.abs(est[big] - rep[big]) / rep[big])) if big.any()
                                    else float("nan"))
    return out


def scores(cells: pd.DataFrame, comparison: str, reported: str, methods: list[str],
           strata: dict[str, str | None], share_of: list[str] | None = None,
           population: str | None = None, min_cells: int = 20) -> pd.DataFrame:
    """Long table of metrics for every method, pooled and within every stratum.

    strata: {stratum_kind: column}; a None column means "pooled" (all cells). Strata with fewer
    than min_cells cells are left out (their correlations mean little).
    Returns columns comparison, method, stratum_kind, stratum, metric, value, cells.
    """
    rows = []
    for kind, column in strata.items():
        parts = [("all", cells)] if column is None else [(str(k), g) for k, g in cells.groupby(column, sort=True)]
        for label, part in parts:
            if len(part) < min_cells:
                continue
            for method in methods:
                result = agreement(part, reported, method, share_of, population)
                n = result.pop("cells")
                rows += [{"comparison": comparison, "method": method, "stratum_kind": kind, "stratum": label,
                          "metric": metric, "value": value, "cells": int(n)}
                         for metric, value in result.items()]
    return pd.DataFrame(rows, columns=["comparison", "method", "stratum_kind", "stratum", "metric", "value", "cells"])


def coverage(reported: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of reported values inside [lower, upper]."""
    if len(reported) == 0:
        return float("nan")
    return float(((lower <= reported) & (reported <= upper)).mean())
