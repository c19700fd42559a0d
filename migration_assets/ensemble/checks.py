"""Invariant checks on the estimate tables (they hold by construction; a failure means a bug, or
estimates of neighbouring years made by another run).

- stocks are non-negative;
- no flow has origin = destination, and bilateral flows are the sum over birth of flows by birth;
- net migration is inflows − outflows of the bilateral flows, country by country and year by year;
- global net migration sums to zero each year;
- the demographic recurrence closes on the ensemble means:
  S(t+1) − S(t) = births − deaths + inflows − outflows, deaths = death rate × S(t).

They are blocking checks of the multi-asset `ensemble_estimates` (assets.py), evaluated inside the
transaction that replaces the four tables, on the tables as a reader would see them after the
commit: a write that breaks one is rolled back, so the warehouse never holds tables that disagree.
"""

import dagster as dg
import numpy as np
import pandas as pd

KEYS = {name: dg.AssetKey(["estimates", name]) for name in ["flows", "flows_by_birth", "stocks", "net_migration"]}
RELATIVE_TOLERANCE = 1e-6

_INVARIANTS = [  # (check, table it is reported on, description)
    ("stocks_nonnegative", "stocks", "Every stock estimate and its 5th percentile are at least 0."),
    ("no_self_flows", "flows", "No flow has origin = destination, and flows = Σ over birth of flows_by_birth."),
    ("net_migration_matches_flows", "net_migration",
     "Net migration = inflows − outflows of estimates.flows, for every country and year."),
    ("net_migration_sums_to_zero", "net_migration", "Global net migration is 0 in every year."),
    ("recurrence_closes", "flows_by_birth",
     "S(t+1) − S(t) = births − deaths + inflows − outflows on the ensemble means."),
]
INVARIANT_SPECS = [dg.AssetCheckSpec(name, asset=KEYS[table], description=description, blocking=True)
                   for name, table, description in _INVARIANTS]


def recurrence_residuals(stocks: pd.DataFrame, flows_by_birth: pd.DataFrame, country_year: pd.DataFrame
                         ) -> pd.DataFrame:
    """Per (year, birth, residence): S(t+1) − [(1 − d) S(t) + births·[birth = residence] + in − out]."""
    s = stocks.set_index(["year", "birth", "residence"])["mean"]
    inflow = flows_by_birth.groupby(["year", "birth", "destination"])["mean"].sum()
    outflow = flows_by_birth.groupby(["year", "birth", "origin"])["mean"].sum()
    inflow.index.names = outflow.index.names = ["year", "birth", "residence"]
    cells = s.index.union(inflow.index).union(outflow.index)
    frame = pd.DataFrame(index=cells)
    frame["stock"] = s.reindex(cells).fillna(0.0)
    frame["inflow"] = inflow.reindex(cells).fillna(0.0)
    frame["outflow"] = outflow.reindex(cells).fillna(0.0)
    frame = frame.reset_index()
    demo = country_year.rename(columns={"country": "residence"})[["year", "residence", "births", "death_rate"]]
    frame = frame.merge(demo, on=["year", "residence"], how="left")
    frame["births"] = np.where(frame["birth"] == frame["residence"], frame["births"], 0.0)
    nxt = stocks.assign(year=stocks["year"] - 1).set_index(["year", "birth", "residence"])["mean"]
    have_next = frame["year"].isin(set(stocks["year"] - 1))
    frame = frame[have_next].copy()
    frame["next_stock"] = nxt.reindex(pd.MultiIndex.from_frame(frame[["year", "birth", "residence"]])).fillna(0.0).to_numpy()
    frame["expected"] = ((1 - frame["death_rate"]) * frame["stock"] + frame["births"] + frame["inflow"]
                         - frame["outflow"])
    frame["residual"] = frame["next_stock"] - frame["expected"]
    return frame


def _md(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False) if len(frame) else "none")


def invariant_results(flows: pd.DataFrame, flows_by_birth: pd.DataFrame, stocks: pd.DataFrame,
                      net_migration: pd.DataFrame, country_year: pd.DataFrame) -> list[dg.AssetCheckResult]:
    """The results of INVARIANT_SPECS on the given rows of the four tables; each failed result's
    description says what disagrees, by how much and where."""
    out = []

    neg = stocks[(stocks["mean"] < 0) | (stocks["p05"] < 0)]
    out.append(dg.AssetCheckResult(
        check_name="stocks_nonnegative", asset_key=KEYS["stocks"], passed=neg.empty,
        description=None if neg.empty else f"{len(neg)} stock rows are negative (mean or p05)",
        metadata={"negative_rows": len(neg), "rows": len(stocks),
                  "examples": dg.MetadataValue.md(neg.head(5).to_markdown() if len(neg) else "none")}))

    self_rows = int((flows["origin"] == flows["destination"]).sum()
                    + (flows_by_birth["origin"] == flows_by_birth["destination"]).sum())
    summed = flows_by_birth.groupby(["year", "origin", "destination"])["mean"].sum()
    both = flows.set_index(["year", "origin", "destination"])["mean"].align(summed, fill_value=0.0)
    gap = float(np.abs(both[0] - both[1]).max()) if len(both[0]) else 0.0
    scale = float(np.abs(both[0]).max()) if len(both[0]) else 1.0
    passed = self_rows == 0 and gap <= RELATIVE_TOLERANCE * max(scale, 1.0)
    out.append(dg.AssetCheckResult(
        check_name="no_self_flows", asset_key=KEYS["flows"], passed=passed,
        description=None if passed else (f"{self_rows} flows with origin = destination; flows differ from the sum "
                                         f"over birth of flows_by_birth by up to {gap:,.0f} persons"),
        metadata={"self_flow_rows": self_rows, "max_gap_to_sum_over_birth": gap}))

    inflow = flows.groupby(["year", "destination"])["mean"].sum().rename_axis(["year", "country"])
    outflow = flows.groupby(["year", "origin"])["mean"].sum().rename_axis(["year", "country"])
    net = net_migration.set_index(["year", "country"])["mean"]
    cells = net.index.union(inflow.index).union(outflow.index)
    frame = pd.DataFrame({"net_migration": net.reindex(cells, fill_value=0.0),
                          "inflows_minus_outflows": inflow.reindex(cells, fill_value=0.0)
                          - outflow.reindex(cells, fill_value=0.0)}).reset_index()
    frame["gap"] = frame["net_migration"] - frame["inflows_minus_outflows"]
    top = frame.reindex(frame["gap"].abs().sort_values(ascending=False).index).head(5)
    gap = float(frame["gap"].abs().max()) if len(frame) else 0.0
    scale = float(flows["mean"].abs().max()) if len(flows) else 1.0
    passed = gap <= RELATIVE_TOLERANCE * max(scale, 1.0)
    worst = top.iloc[0] if len(top) else None
    out.append(dg.AssetCheckResult(
        check_name="net_migration_matches_flows", asset_key=KEYS["net_migration"], passed=passed,
        description=None if passed else (
            f"net migration differs from inflows − outflows of estimates.flows by up to {gap:,.0f} persons "
            f"({worst['country']} {int(worst['year'])}: {worst['net_migration']:,.0f} vs "
            f"{worst['inflows_minus_outflows']:,.0f})"),
        metadata={"cells_checked": len(frame), "max_gap": gap,
                  "largest_gaps": _md(top.round({"net_migration": 0, "inflows_minus_outflows": 0, "gap": 0}))}))

    per_year = net_migration.groupby("year")["mean"].agg(total="sum", size=lambda x: x.abs().sum())
    worst = float((per_year["total"].abs() / per_year["size"].clip(lower=1.0)).max()) if len(per_year) else 0.0
    passed = worst <= RELATIVE_TOLERANCE
    out.append(dg.AssetCheckResult(
        check_name="net_migration_sums_to_zero", asset_key=KEYS["net_migration"], passed=passed,
        description=None if passed else f"global net migration is not 0 (relative sum up to {worst:.2g})",
        metadata={"worst_relative_global_sum": worst, "global_sum_by_year": dg.MetadataValue.json(
            {int(y): float(v) for y, v in per_year["total"].items()})}))

    res = recurrence_residuals(stocks, flows_by_birth, country_year)
    scale = float(stocks["mean"].abs().max()) if len(stocks) else 1.0
    worst = float(res["residual"].abs().max() / scale) if len(res) else 0.0
    top = res.reindex(res["residual"].abs().sort_values(ascending=False).index).head(5)
    passed = worst <= RELATIVE_TOLERANCE
    first = top.iloc[0] if len(top) else None
    out.append(dg.AssetCheckResult(
        check_name="recurrence_closes", asset_key=KEYS["flows_by_birth"], passed=passed,
        description=None if passed else (
            f"stocks do not roll forward with flows_by_birth: S({int(first['year']) + 1}) of {first['birth']}-born "
            f"in {first['residence']} is off by {first['residual']:,.0f} persons"),
        metadata={"cells_checked": len(res), "worst_relative_residual": worst,
                  "largest_residuals": _md(top[["year", "birth", "residence", "residual"]])}))
    return out
