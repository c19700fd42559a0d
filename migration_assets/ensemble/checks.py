"""Invariant checks on the estimate tables (they hold by construction; a failure means a bug).

- stocks are non-negative;
- no flow has origin = destination, and bilateral flows are the sum over birth of flows by birth;
- global net migration sums to zero each year;
- the demographic recurrence closes on the ensemble means:
  S(t+1) − S(t) = births − deaths + inflows − outflows, deaths = death rate × S(t).
"""

import dagster as dg
import numpy as np
import pandas as pd

KEYS = {name: dg.AssetKey(["estimates", name]) for name in ["flows", "flows_by_birth", "stocks", "net_migration"]}
RELATIVE_TOLERANCE = 1e-6


COUNTRY_YEAR = dg.AssetKey(["panel", "country_year"])


# under `dagster dev`, the checks run again once the estimates they read were rewritten
AFTER_ESTIMATES = (
    dg.AutomationCondition.any_deps_updated().allow(dg.AssetSelection.assets(*KEYS.values())).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()).with_label("after the estimates change")


def _spec(name: str, table: str, description: str) -> dg.AssetCheckSpec:
    # every check reads all four tables (and the panel's demography)
    return dg.AssetCheckSpec(name, asset=KEYS[table], description=description,
                             additional_deps=[COUNTRY_YEAR, *(k for t, k in KEYS.items() if t != table)],
                             automation_condition=AFTER_ESTIMATES)


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


@dg.multi_asset_check(
    specs=[
        _spec("stocks_nonnegative", "stocks", "Every stock estimate and its 5th percentile are at least 0."),
        _spec("no_self_flows", "flows", "No flow has origin = destination, and flows = Σ over birth of flows_by_birth."),
        _spec("net_migration_sums_to_zero", "net_migration", "Global net migration is 0 in every year."),
        _spec("recurrence_closes", "flows_by_birth",
              "S(t+1) − S(t) = births − deaths + inflows − outflows on the ensemble means."),
    ],
    ins={**{name: dg.AssetIn(key=key) for name, key in KEYS.items()},
         "country_year": dg.AssetIn(key=COUNTRY_YEAR)},
)
def estimate_invariants(flows: pd.DataFrame, flows_by_birth: pd.DataFrame, stocks: pd.DataFrame,
                        net_migration: pd.DataFrame, country_year: pd.DataFrame):
    """Invariants of the estimate tables, over every materialized year."""
    neg = stocks[(stocks["mean"] < 0) | (stocks["p05"] < 0)]
    yield dg.AssetCheckResult(check_name="stocks_nonnegative", asset_key=KEYS["stocks"], passed=neg.empty,
                              metadata={"negative_rows": len(neg), "rows": len(stocks),
                                        "examples": dg.MetadataValue.md(neg.head(5).to_markdown() if len(neg) else "none")})

    self_rows = int((flows["origin"] == flows["destination"]).sum()
                    + (flows_by_birth["origin"] == flows_by_birth["destination"]).sum())
    summed = flows_by_birth.groupby(["year", "origin", "destination"])["mean"].sum()
    both = flows.set_index(["year", "origin", "destination"])["mean"].align(summed, fill_value=0.0)
    gap = float(np.abs(both[0] - both[1]).max()) if len(summed) else 0.0
    scale = float(np.abs(both[0]).max()) if len(summed) else 1.0
    yield dg.AssetCheckResult(check_name="no_self_flows", asset_key=KEYS["flows"],
                              passed=self_rows == 0 and gap <= RELATIVE_TOLERANCE * max(scale, 1.0),
                              metadata={"self_flow_rows": self_rows, "max_gap_to_sum_over_birth": gap})

    per_year = net_migration.groupby("year")["mean"].agg(total="sum", size=lambda x: x.abs().sum())
    worst = float((per_year["total"].abs() / per_year["size"].clip(lower=1.0)).max()) if len(per_year) else 0.0
    yield dg.AssetCheckResult(check_name="net_migration_sums_to_zero", asset_key=KEYS["net_migration"],
                              passed=worst <= RELATIVE_TOLERANCE,
                              metadata={"worst_relative_global_sum": worst,
                                        "global_sum_by_year": dg.MetadataValue.json(
                                            {int(y): float(v) for y, v in per_year["total"].items()})})

    res = recurrence_residuals(stocks, flows_by_birth, country_year)
    scale = float(stocks["mean"].abs().max()) if len(stocks) else 1.0
    worst = float(res["residual"].abs().max() / scale) if len(res) else 0.0
    top = res.reindex(res["residual"].abs().sort_values(ascending=False).index).head(5)
    yield dg.AssetCheckResult(
        check_name="recurrence_closes", asset_key=KEYS["flows_by_birth"], passed=worst <= RELATIVE_TOLERANCE,
        metadata={"cells_checked": len(res), "worst_relative_residual": worst,
                  "largest_residuals": dg.MetadataValue.md(
                      top[["year", "birth", "residence", "residual"]].to_markdown(index=False) if len(top) else "none")})


ESTIMATE_CHECKS = [estimate_invariants]
