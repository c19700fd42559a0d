"""Scoring estimates against the synthetic world's truth (benchmarks and tests only).

Held-out corridors are origin-destination pairs for which no observed flow exists in any year:
no member ever saw a flow figure for them, so they measure what the platform is for. Scores are
pooled over (year, origin, destination) cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEY = ["year", "origin", "destination"]


def heldout_corridors(observed_flows: pd.DataFrame, countries: list[str]) -> pd.DataFrame:
    """All ordered pairs of distinct countries without any observed flow (pass the flows of every
    source: OECD-like, Meta-like and emigration statistics)."""
    pairs = pd.MultiIndex.from_product([countries, countries], names=["origin", "destination"]).to_frame(index=False)
    pairs = pairs[pairs["origin"] != pairs["destination"]]
    seen = observed_flows[["origin", "destination"]].drop_duplicates().assign(seen=True)
    pairs = pairs.merge(seen, on=["origin", "destination"], how="left")
    return pairs[pairs["seen"].isna()][["origin", "destination"]].reset_index(drop=True)


def stock_differencing(migrant_stocks: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Naive baseline: the annual flow i -> k is the growth of the i-born stock in k between two
    stock points, divided by the years between them, negatives dropped (Abel & Cohen's
    `sd_drop_neg` on birth-place stocks). Years after the last stock point repeat the last interval."""
    wide = migrant_stocks.pivot_table(index=["birth", "residence"], columns="year", values="stock").fillna(0.0)
    points = sorted(wide.columns)
    rows = []
    for year in years:
        start = max([p for p in points[:-1] if p <= year], default=points[0])
        end = points[points.index(start) + 1]
        flow = ((wide[end] - wide[start]) / (end - start)).clip(lower=0.0)
        rows.append(pd.DataFrame({"year": year, "origin": flow.index.get_level_values(0),
                                  "destination": flow.index.get_level_values(1), "flow": flow.to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def _cells(truth: pd.DataFrame, corridors: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    grid = corridors.merge(pd.DataFrame({"year": years}), how="cross")
    t = truth.rename(columns={"flow": "truth"})[KEY + ["truth"]]
    return grid.merge(t, on=KEY, how="left").fillna({"truth": 0.0})


def score(estimate: pd.DataFrame, truth: pd.DataFrame, corridors: pd.DataFrame, years: list[int],
          column: str = "mean") -> dict[str, float]:
    """Pearson r on counts and on log1p counts, median relative error (cells with truth ≥ 10),
    and, when the estimate has p05/p95, the share of true values inside [p05, p95]."""
    cells = _cells(truth, corridors, years)
    cols = [c for c in [column, "p05", "p95"] if c in estimate.columns]
    cells = cells.merge(estimate[KEY + cols], on=KEY, how="left").fillna({c: 0.0 for c in cols})
    pred, true = cells[column].to_numpy(), cells["truth"].to_numpy()
    big = true >= 10
    out = {
        "cells": float(len(cells)),
        "pearson_r": float(np.corrcoef(pred, true)[0, 1]),
        "pearson_r_log1p": float(np.corrcoef(np.log1p(pred), np.log1p(true))[0, 1]),
        "median_relative_error": float(np.median(np.abs(pred[big] - true[big]) / true[big])) if big.any() else float("nan"),
    }
    if "p05" in cols and "p95" in cols:
        out["coverage_p05_p95"] = float(((cells["p05"] <= true) & (true <= cells["p95"])).mean())
    return out
