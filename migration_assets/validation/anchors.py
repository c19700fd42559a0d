"""Cells on which ours and the anchors' estimates are compared (pure pandas, no Dagster).

Each function returns one frame per comparison: a `reported` column, one column per method
(persons) and the columns the metrics and strata need. Missing estimates count as 0: the
anchors publish only non-zero flows, and a corridor we have no edge for is a flow of 0.

Definitions that differ between the sources, and how they are bridged:
- Abel & Cohen's periods run from 1 July to 1 July; ours and the reported flows are summed over
  the five calendar years starting in the period's first year (half a year off);
- Abel & Cohen count migrant transitions (where people lived five years apart), so their level
  is below a sum of annual moves: compare correlations, not levels;
- WPP 2024 net migration is the residual of the published demography:
  population(t+1) − population(t) − births(t) + deaths(t), on 1-January populations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLOW_KEY = ["year", "origin", "destination"]
AC_METHODS = ["sd_drop_neg", "sd_rev_neg", "mig_rate", "da_min_open", "da_min_closed", "da_pb_closed"]
CLASSIC_METHODS = [f"classic_{m}" for m in AC_METHODS]  # the same methods computed in the pipeline on our inputs


def classic_baselines(classic_flows: pd.DataFrame) -> pd.DataFrame:
    """validation.classic_flows in the shape of reference.abel_cohen_flows, methods named `classic_<method>`.

    Its periods run from 1 January to 1 January, the calendar years our annual sums cover; Abel & Cohen's
    published periods of the same label run from 1 July."""
    return pd.DataFrame({"period_start": classic_flows["year_start"], "period_end": classic_flows["year_end"],
                         "method": "classic_" + classic_flows["method"], "origin": classic_flows["origin"],
                         "destination": classic_flows["destination"], "flow": classic_flows["flow"]})


def global_flows(ensemble_flows: pd.DataFrame, paper_flows: pd.DataFrame, meta_flows: pd.DataFrame,
                 min_pair: float = 50.0) -> pd.DataFrame:
    """Movers per year, all corridors summed: ours, the paper's and Meta's measurement.

    Meta publishes only pairs with at least `min_pair` migrants, so ours and the paper's are also
    given over the pairs of at least that size (`*_pairs_ge50`) and over the very pairs Meta reports
    (`*_on_meta_pairs`; Meta covers neither China nor Iran)."""
    key = FLOW_KEY
    ours = ensemble_flows[key + ["mean"]].rename(columns={"mean": "ours"})
    paper = paper_flows[key + ["flow"]].rename(columns={"flow": "paper"})
    meta = meta_flows[key + ["flow"]].rename(columns={"flow": "meta"})
    rows = []
    for year in sorted(set(ours["year"])):
        o, p, m = (f[f["year"] == year] for f in (ours, paper, meta))
        on_meta = m[["origin", "destination"]]
        rows.append({
            "year": int(year), "ours": o["ours"].sum(), "ours_pairs_ge50": o.loc[o["ours"] >= min_pair, "ours"].sum(),
            "ours_on_meta_pairs": o.merge(on_meta, on=["origin", "destination"])["ours"].sum() if len(m) else float("nan"),
            "paper": p["paper"].sum() if len(p) else float("nan"),
            "paper_pairs_ge50": p.loc[p["paper"] >= min_pair, "paper"].sum() if len(p) else float("nan"),
            "paper_on_meta_pairs": p.merge(on_meta, on=["origin", "destination"])["paper"].sum()
            if len(m) and len(p) else float("nan"),
            "meta": m["meta"].sum() if len(m) else float("nan"),
        })
    frame = pd.DataFrame(rows)
    frame["ours_ge50_over_meta"] = frame["ours_pairs_ge50"] / frame["meta"]
    frame["ours_over_paper"] = frame["ours"] / frame["paper"]
    return frame


def _estimate(frame: pd.DataFrame, key: list[str], value: str, name: str) -> pd.DataFrame:
    return frame[key + [value]].rename(columns={value: name})


def annual_flows(heldout: pd.DataFrame, ensemble_flows: pd.DataFrame, paper_flows: pd.DataFrame,
                 population: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    """Held-out observed cells with ours (held-out members and all members) and the paper's flows.

    heldout: validation.heldout_flows; ensemble_flows: estimates.flows; paper_flows:
    reference.gaskin_abel_flows; population: year, country, population; regions: country, region.
    """
    cells = heldout[FLOW_KEY + ["source", "fold", "reported", "predicted"]].rename(columns={"predicted": "ours_heldout"})
    cells = cells.merge(_estimate(ensemble_flows, FLOW_KEY, "mean", "ours_ensemble"), on=FLOW_KEY, how="left")
    cells = cells.merge(_estimate(paper_flows, FLOW_KEY, "flow", "gaskin_abel"), on=FLOW_KEY, how="left")
    cells = cells.fillna({"ours_ensemble": 0.0, "gaskin_abel": 0.0})
    return with_origin(cells, "year", population, regions)


def with_origin(cells: pd.DataFrame, year: str, population: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
    pop = population.rename(columns={"year": year, "country": "origin", "population": "origin_population"})
    cells = cells.merge(pop[[year, "origin", "origin_population"]], on=[year, "origin"], how="left")
    reg = regions.rename(columns={"country": "origin", "region": "origin_region"})
    return cells.merge(reg, on="origin", how="left").fillna({"origin_region": "unknown"})


def _period_of(year: pd.Series, period_starts: pd.Series) -> pd.Series:
    """The five-year period (its first year, among `period_starts`) each calendar year falls in."""
    start = pd.Series(pd.NA, index=year.index, dtype="Int64")
    for first in sorted({int(p) for p in period_starts}):
        start[(year >= first) & (year < first + 5)] = first
    return start


def five_year_flows(annual: pd.DataFrame, abel_cohen: pd.DataFrame, population: pd.DataFrame,
                    regions: pd.DataFrame, methods: list[str] = AC_METHODS) -> pd.DataFrame:
    """Five-year sums of the held-out cells, kept only where the source reported all five years
    and Abel & Cohen estimated the period, beside each of their methods' flow (method.md §7.3).

    `abel_cohen`: flows by period_start and method (reference.abel_cohen_flows, `classic_baselines`, or both);
    `methods`: the methods it holds. Columns `ours_heldout` and `gaskin_abel` (0 where `annual` lacks them)."""
    a = annual.assign(period=_period_of(annual["year"], abel_cohen["period_start"])).dropna(subset=["period"])
    if "gaskin_abel" not in a:
        a["gaskin_abel"] = 0.0
    key = ["source", "period", "origin", "destination"]
    sums = a.groupby(key, as_index=False).agg(years=("year", "nunique"), reported=("reported", "sum"),
                                              ours_heldout=("ours_heldout", "sum"), gaskin_abel=("gaskin_abel", "sum"))
    sums = sums[(sums["years"] == 5) & sums["period"].isin(set(abel_cohen["period_start"]))].drop(columns="years")
    ac = abel_cohen.pivot_table(index=["period_start", "origin", "destination"], columns="method", values="flow",
                                aggfunc="sum").reset_index().rename(columns={"period_start": "period"})
    sums = sums.merge(ac, on=["period", "origin", "destination"], how="left")
    for method in methods:
        sums[method] = sums[method].fillna(0.0) if method in sums else 0.0
    sums["period"] = sums["period"].astype(int)
    out = with_origin(sums, "period", population, regions)
    out["period"] = out["period"].map(lambda p: f"{p}-{p + 5}")
    return out


def wpp_net_migration(demography: pd.DataFrame) -> pd.DataFrame:
    """WPP net migration as the residual of its demography (persons per calendar year)."""
    d = demography.sort_values(["country", "year"])
    following = d.groupby("country")["population"].shift(-1)
    net = following - d["population"] - d["births"] + d["deaths"]
    return pd.DataFrame({"year": d["year"], "country": d["country"], "net_migration": net}).dropna()


def net_migration(reported: pd.DataFrame, ours: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Annual net migration cells: reported (year, country, net_migration) beside ours and the paper's."""
    key = ["year", "country"]
    cells = reported[key + ["net_migration"]].rename(columns={"net_migration": "reported"})
    cells = cells.merge(_estimate(ours, key, "mean", "ours_ensemble"), on=key, how="inner")
    return cells.merge(_estimate(paper, key, "mean", "gaskin_abel"), on=key, how="left").fillna({"gaskin_abel": 0.0})


def five_year_net_migration(annual: pd.DataFrame, abel_cohen: pd.DataFrame,
                            methods: list[str] = AC_METHODS) -> pd.DataFrame:
    """Five-year sums of `net_migration(...)` cells beside the net migration implied by each Abel &
    Cohen method (inflows minus outflows of the period); `abel_cohen` and `methods` as in `five_year_flows`."""
    a = annual.assign(period=_period_of(annual["year"], abel_cohen["period_start"])).dropna(subset=["period"])
    if "gaskin_abel" not in a:
        a["gaskin_abel"] = 0.0
    sums = a.groupby(["period", "country"], as_index=False).agg(
        years=("year", "nunique"), reported=("reported", "sum"), ours_ensemble=("ours_ensemble", "sum"),
        gaskin_abel=("gaskin_abel", "sum"))
    sums = sums[(sums["years"] == 5) & sums["period"].isin(set(abel_cohen["period_start"]))].drop(columns="years")
    inflow = abel_cohen.groupby(["period_start", "method", "destination"])["flow"].sum()
    outflow = abel_cohen.groupby(["period_start", "method", "origin"])["flow"].sum()
    inflow.index.names = outflow.index.names = ["period", "method", "country"]
    implied = inflow.sub(outflow, fill_value=0.0).unstack("method").reset_index()
    sums = sums.merge(implied, on=["period", "country"], how="left")
    for method in methods:
        sums[method] = sums[method].fillna(0.0) if method in sums else 0.0
    sums["period"] = sums["period"].astype(int).map(lambda p: f"{p}-{p + 5}")
    return sums


def stock_changes(stock_targets: pd.DataFrame, ours_stocks: pd.DataFrame) -> pd.DataFrame:
    """Changes of foreign-born stocks between UN stock points (harmonized to 1 January), beside
    ours; cells that are zero at both points are left out."""
    key = ["birth", "residence"]
    s = ours_stocks[["year"] + key + ["mean"]]
    cells = stock_targets.rename(columns={"stock_change": "reported"})
    start = s.rename(columns={"year": "year_start", "mean": "ours_start"})
    end = s.rename(columns={"year": "year_end", "mean": "ours_end"})
    years = set(s["year"])
    cells = cells[cells["year_start"].isin(years) & cells["year_end"].isin(years)]
    cells = cells.merge(start, on=["year_start"] + key, how="left").merge(end, on=["year_end"] + key, how="left")
    cells = cells.fillna({"ours_start": 0.0, "ours_end": 0.0})
    cells["ours_ensemble"] = cells["ours_end"] - cells["ours_start"]
    keep = (cells["reported"] != 0) | (cells["ours_start"] != 0) | (cells["ours_end"] != 0)
    return cells[keep].assign(period=lambda f: f["year_start"].astype(str) + "-" + f["year_end"].astype(str))


STOCK_CHANGE_SIZES = ((1e5, float("inf"), ">= 100,000"), (1e4, 1e5, "10,000-100,000"),
                      (-float("inf"), -3e4, "<= -30,000"))


def stock_changes_by_size(reported: np.ndarray, ours: np.ndarray) -> pd.DataFrame:
    """How much of the UN's stock changes ours reproduce, by size of the UN's change (persons): the
    cells, both sums, and ours / the UN's. A model that smooths the stocks between points shows it
    here before anywhere else."""
    rows = []
    for low, high, label in STOCK_CHANGE_SIZES:
        m = (reported >= low) & (reported < high)
        rows.append({"change": label, "cells": int(m.sum()), "un_millions": reported[m].sum() / 1e6,
                     "ours_millions": ours[m].sum() / 1e6,
                     "ours_over_un": ours[m].sum() / reported[m].sum() if m.any() else float("nan")})
    return pd.DataFrame(rows)


def five_year_true_flows(truth: pd.DataFrame, ensemble_flows: pd.DataFrame, baselines: pd.DataFrame,
                         methods: list[str], observed: pd.DataFrame) -> pd.DataFrame:
    """Every corridor and period of `baselines` that the truth and ours cover in full: the true flows
    (truth.flows) summed over the period's five calendar years as `reported`, ours (estimates.flows,
    mean) summed likewise, and each baseline method's flow; `corridors` says whether some source
    reports the corridor in some year (`observed`: origin, destination) or none does."""
    starts = baselines["period_start"]

    def sums(frame: pd.DataFrame, value: str, name: str) -> pd.Series:
        f = frame.assign(period=_period_of(frame["year"], starts)).dropna(subset=["period"])
        f["period"] = f["period"].astype(int)
        full = f.groupby("period")["year"].nunique()
        f = f[f["period"].isin(full.index[full == 5])]
        return f.groupby(["period", "origin", "destination"])[value].sum().rename(name)

    true = sums(truth, "flow", "reported")
    ours = sums(ensemble_flows, "mean", "ours_ensemble")
    periods = sorted(set(true.index.get_level_values(0)) & set(ours.index.get_level_values(0)))
    countries = sorted(set(truth["origin"]) | set(truth["destination"]))
    grid = pd.MultiIndex.from_product([periods, countries, countries], names=["period", "origin", "destination"])
    grid = grid[grid.get_level_values(1) != grid.get_level_values(2)]
    wide = baselines.pivot_table(index=["period_start", "origin", "destination"], columns="method", values="flow",
                                 aggfunc="sum")
    wide.index.names = ["period", "origin", "destination"]
    cells = pd.DataFrame(index=grid).join(true).join(ours).join(wide.reindex(columns=methods))
    cells = cells.fillna(0.0).reset_index()
    seen = observed[["origin", "destination"]].drop_duplicates().assign(corridors="observed")
    cells = cells.merge(seen, on=["origin", "destination"], how="left").fillna({"corridors": "never_observed"})
    cells["period"] = cells["period"].astype(int).map(lambda p: f"{p}-{p + 5}")
    return cells
