"""Whether a member that exists is kept as it is, warm-started for a new release, or retrained.

Pure pandas: the member asset calls `plan` with the record and target tables of its previous
training and the current ones. A member is kept unchanged (no training, its weights as they are)
when its inputs (`inputs_digest`: every panel table and target it reads, by content) and model
settings are those of its last training: "Materialize all" or a second `migration-run` on
unchanged data then trains nothing and the estimates come out the same. It is warm-started
(fine-tuned from its weights, every earlier year replayed in each full-batch epoch) when only new
years arrived or history moved little; it is retrained from scratch when
- it has never been trained, or its weights do not fit (another code version, model settings,
  country list, set of flow sources or held-out fold), or
- the targets of the years it was trained on were revised by more than `threshold`: for any kind
  of target (stock changes, net migration, flows), Σ|new − old| / Σ|old| over those years.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

# value column and key columns of each target table (panel/build.py)
TARGETS = {
    "stock_targets": ("stock_change", ["year_start", "year_end", "birth", "residence"], "year_start"),
    "net_migration_targets": ("net_migration", ["year", "country"], "year"),
    "flow_targets": ("flow", ["year", "origin", "destination", "source"], "year"),
}


@dataclass(frozen=True)
class Plan:
    mode: str  # "unchanged", "warm" or "full"
    reason: str
    revision: dict[str, float]  # kind -> relative revision of the years trained on before
    new_years: list[int]


def inputs_digest(frames: dict[str, pd.DataFrame]) -> str:
    """Digest of the content of named tables: their columns, types and rows, whatever the row order
    (a year partition rewritten with the same rows moves to the end of its DuckDB table)."""
    h = hashlib.sha256()
    for name in sorted(frames):
        frame = frames[name]
        rows = np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy()) if len(frame.columns) else []
        h.update(f"{name}:{list(frame.columns)}:{[str(t) for t in frame.dtypes]}:{len(frame)}".encode())
        h.update(np.asarray(rows, dtype=np.uint64).tobytes())
    return h.hexdigest()[:16]


def revision(old: pd.DataFrame, new: pd.DataFrame, name: str, years: set[int]) -> float:
    """Σ|new − old| / Σ|old| over the cells of `years` (a cell present on one side only counts whole)."""
    value, keys, year = TARGETS[name]
    a = old[old[year].isin(years)].groupby(keys)[value].sum()
    b = new[new[year].isin(years)].groupby(keys)[value].sum()
    both = pd.concat([a.rename("old"), b.rename("new")], axis=1).fillna(0.0)
    scale = float(both["old"].abs().sum())
    change = float((both["new"] - both["old"]).abs().sum())
    return change / scale if scale > 0 else (0.0 if change == 0 else float("inf"))


def plan(previous: dict | None, previous_targets: dict[str, pd.DataFrame] | None, current: dict,
         targets: dict[str, pd.DataFrame], threshold: float) -> Plan:
    """`previous`/`current`: training records with code_version, model_digest, countries, sources, fold,
    n_folds, years and inputs_digest."""
    years = list(current["years"])
    if previous is None or previous_targets is None:
        return Plan("full", "no earlier training of this member", {}, years)
    for field, what in [("code_version", "the model's code version"), ("model_digest", "the model settings"),
                        ("countries", "the country list"), ("sources", "the set of flow sources"),
                        ("fold", "the member's held-out fold"), ("n_folds", "the number of folds")]:
        if previous.get(field) != current.get(field):
            return Plan("full", f"{what} changed", {}, years)
    digest = current.get("inputs_digest")
    if digest and previous.get("inputs_digest") == digest and list(previous["years"]) == years:
        return Plan("unchanged", f"unchanged: its inputs (panel and targets, digest {digest}) "
                                 "and model settings are those of its last training; weights kept, nothing trained "
                                 "(run config warm_start: false retrains it)",
                    {}, [])
    seen = set(previous["years"])
    new_years = [y for y in years if y not in seen]
    revised = {name: revision(previous_targets[name], targets[name], name, seen) for name in TARGETS}
    worst = max(revised, key=revised.get)
    if revised[worst] > threshold:
        return Plan("full", f"history revised: {worst} moved by {revised[worst]:.1%} (threshold {threshold:.0%})",
                    revised, new_years)
    if new_years:
        reason = f"new years {new_years}"
    elif revised[worst] > 0:
        reason = (f"history revised within the threshold: {worst} moved by {revised[worst]:.2%} "
                  f"(threshold {threshold:.0%})")
    else:
        reason = "inputs other than the targets changed (covariates, countries' panel or edges)"
    return Plan("warm", reason, revised, new_years)
