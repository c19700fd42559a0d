"""How far a new release moves the published flow estimates of earlier years (no Dagster).

Compared on the years both estimates cover:
- per year, the change of the global flow total, relative to the earlier total;
- the share of the earlier flow volume whose mean moved by more than half the width of its
  earlier 90 % interval (p05-p95), i.e. revisions larger than the uncertainty stated then (the
  interval's position is not used: calibrated intervals need not contain the mean);
- the flow-weighted mean relative revision;
- per corridor, the largest absolute revisions summed over those years, for review;
- per corridor-year (`corridor_years`), every revision larger than half its earlier interval and the
  largest ones besides: the rows of estimates.revisions.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

KEY = ["year", "origin", "destination"]


@dataclass(frozen=True)
class Tolerance:
    global_total: float = 0.10  # a year's global flow total may move by at most 10 %
    beyond_half_interval: float = 0.10  # at most 10 % of the earlier volume may move by more than its half-interval


@dataclass(frozen=True)
class Revisions:
    years: list[int]
    global_change: dict[int, float]  # year -> (new total - old total) / old total
    beyond_share: float  # share of the earlier volume revised by more than half its p05-p95 width
    mean_relative: float  # flow-weighted mean of |new - old| / old
    corridors: pd.DataFrame  # origin, destination, earlier, now, revision, relative (largest first)

    def passed(self, tolerance: Tolerance) -> bool:
        worst = max((abs(v) for v in self.global_change.values()), default=0.0)
        return worst <= tolerance.global_total and self.beyond_share <= tolerance.beyond_half_interval


def compare(earlier: pd.DataFrame, now: pd.DataFrame, top: int = 10) -> Revisions:
    """`earlier`, `now`: estimates.flows rows (year, origin, destination, mean, p05, p95)."""
    both = earlier[KEY + ["mean", "p05", "p95"]].merge(now[KEY + ["mean"]], on=KEY, how="outer",
                                                        suffixes=("_earlier", "_now"))
    years = sorted(set(earlier["year"]) & set(now["year"]))
    both = both[both["year"].isin(years)].fillna({"mean_earlier": 0.0, "mean_now": 0.0})
    totals = both.groupby("year")[["mean_earlier", "mean_now"]].sum()
    change = {int(y): float((r.mean_now - r.mean_earlier) / r.mean_earlier) if r.mean_earlier > 0 else 0.0
              for y, r in totals.iterrows()}
    both["revision"] = both["mean_now"] - both["mean_earlier"]
    half_width = (both["p95"] - both["p05"]).fillna(0.0) / 2
    beyond = both["revision"].abs() > half_width
    volume = float(both["mean_earlier"].sum())
    share = float(both.loc[beyond, "mean_earlier"].sum() / volume) if volume > 0 else 0.0
    mean_relative = float(both["revision"].abs().sum() / volume) if volume > 0 else 0.0
    corridors = both.groupby(["origin", "destination"]).agg(
        earlier=("mean_earlier", "sum"), now=("mean_now", "sum"),
        revision=("revision", lambda r: r.abs().sum())).reset_index()
    corridors["relative"] = corridors["revision"] / corridors["earlier"].clip(lower=1.0)
    corridors = corridors.sort_values("revision", ascending=False).head(top).reset_index(drop=True)
    return Revisions(years=[int(y) for y in years], global_change=change, beyond_share=share,
                     mean_relative=mean_relative, corridors=corridors)


def corridor_years(earlier: pd.DataFrame, now: pd.DataFrame, top: int = 1000) -> pd.DataFrame:
    """The rows of estimates.revisions (schemas.REVISIONS): every corridor-year of the years both
    cover whose mean moved by more than half its earlier p05-p95 width, and the `top` largest moves
    besides (none of 0: an identical rerun revises nothing), largest first. A corridor-year absent on one side counts as 0 there."""
    years = sorted(set(earlier["year"]) & set(now["year"]))
    both = earlier[KEY + ["mean", "p05", "p95"]].merge(now[KEY + ["mean"]], on=KEY, how="outer",
                                                        suffixes=("_earlier", "_now"))
    both = both[both["year"].isin(years)].fillna({"mean_earlier": 0.0, "mean_now": 0.0, "p05": 0.0, "p95": 0.0})
    change = both["mean_now"] - both["mean_earlier"]
    width = both["p95"] - both["p05"]
    out = pd.DataFrame({
        "year": both["year"].astype(int), "origin": both["origin"], "destination": both["destination"],
        "earlier": both["mean_earlier"], "now": both["mean_now"], "change": change,
        "relative": change / both["mean_earlier"].clip(lower=1.0),
        "interval_units": change.abs() / width.clip(lower=1.0),
        "outside_interval": ((both["mean_now"] < both["p05"]) | (both["mean_now"] > both["p95"])).astype(int),
    })
    size = change.abs()
    keep = (size > width / 2) | ((size.rank(method="first", ascending=False) <= top) & (size > 0))
    return out[keep].iloc[size[keep].argsort(kind="stable")[::-1]].reset_index(drop=True)
