"""Whether a member that exists can be warm-started for a new release, or must be retrained.

Pure pandas: the member asset calls `plan` with the record and target tables of its previous
training and the current ones. A member is warm-started (fine-tuned from its weights, every earlier
year replayed in each full-batch epoch) when only new years arrived or history moved little; it is
retrained from scratch when
- it has never been trained, or its weights do not fit (another code version, model settings,
  country list, set of flow sources or held-out fold), or
- the targets of the years it was trained on were revised by more than `threshold`: for any kind
  of target (stock changes, net migration, flows), Σ|new − old| / Σ|old| over those years.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# value column and key columns of each target table (panel/build.py)
TARGETS = {
    "stock_targets": ("stock_change", ["year_start", "year_end", "birth", "residence"], "year_start"),
    "net_migration_targets": ("net_migration", ["year", "country"], "year"),
    "flow_targets": ("flow", ["year", "origin", "destination", "source"], "year"),
}


@dataclass(frozen=True)
class Plan:
    mode: str  # "full" or "warm"
    reason: str
    revision: dict[str, float]  # kind -> relative revision of the years trained on before
    new_years: list[int]


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
    n_folds and years."""
    years = list(current["years"])
    if previous is None or previous_targets is None:
        return Plan("full", "no earlier training of this member", {}, years)
    for field, what in [("code_version", "the model's code version"), ("model_digest", "the model settings"),
                        ("countries", "the country list"), ("sources", "the set of flow sources"),
                        ("fold", "the member's held-out fold"), ("n_folds", "the number of folds")]:
        if previous.get(field) != current.get(field):
            return Plan("full", f"{what} changed", {}, years)
    seen = set(previous["years"])
    new_years = [y for y in years if y not in seen]
    revised = {name: revision(previous_targets[name], targets[name], name, seen) for name in TARGETS}
    worst = max(revised, key=revised.get)
    if revised[worst] > threshold:
        return Plan("full", f"history revised: {worst} moved by {revised[worst]:.1%} (threshold {threshold:.0%})",
                    revised, new_years)
    return Plan("warm", f"new years {new_years}" if new_years else "history revised within the threshold",
                revised, new_years)
