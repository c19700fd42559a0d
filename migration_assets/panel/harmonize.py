"""Mapping what publishers report onto the canonical country list (pure pandas).

Raw tables keep the publishers' units: historic states (Netherlands Antilles, Serbia and
Montenegro), Sudan before South Sudan's independence, territories outside the canonical list
(Channel Islands, Kosovo, Holy See, ...). `countries/successors.csv` says what to do with each:

- `merge`: the code's counts are added to one canonical country (e.g. Kosovo -> Serbia);
- `split`: before year `until`, the predecessor's counts (which include its successors) are
  shared among the successors in proportion to their populations that year (e.g. Sudan before
  2011 -> Sudan and South Sudan); successors' own figures in those years are folded in first.
  A year in which the column already reports a successor separately is left as published (UN
  stocks report South-Sudan-born apart in every year, but South Sudan as a residence only from
  2010): there a canonical predecessor means itself, and a historic one (ANT, SCG) joins its first
  successor.

Only additive columns (persons) are moved; non-additive ones (rates, GDP per capita, flags) keep
the canonical country's own value, or take the predecessor's where a successor has none.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..countries import successors


@dataclass
class HarmonizationReport:
    merged: dict[str, int] = field(default_factory=dict)  # code -> rows merged into its target
    split: dict[str, int] = field(default_factory=dict)  # predecessor -> rows shared among successors
    dropped: dict[str, int] = field(default_factory=dict)  # code outside the canonical list with no rule

    def as_metadata(self) -> dict:
        return {"merged_rows": self.merged, "split_rows": self.split, "dropped_rows_not_canonical": self.dropped}


def _shares(population: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """Population shares of `codes` per year: columns year, code, share."""
    p = population[population["country"].isin(codes)].pivot_table(index="year", columns="country",
                                                                  values="population", aggfunc="sum")
    p = p.reindex(columns=codes).fillna(0.0)
    total = p.sum(axis=1).replace(0.0, np.nan)
    shares = p.div(total, axis=0).fillna(1.0 / len(codes))
    return shares.stack().rename("share").reset_index().rename(columns={"country": "code"})


def harmonize(frame: pd.DataFrame, code_column: str, additive: list[str], canonical: list[str],
              population: pd.DataFrame, report: HarmonizationReport | None = None,
              year_column: str = "year") -> pd.DataFrame:
    """Map `code_column` onto the canonical list; returns a frame with the same columns.

    `population` (year, country, population) gives the split shares; key columns are all columns
    that are neither additive nor numeric covariates of the code.
    """
    report = report if report is not None else HarmonizationReport()
    keep = set(canonical)
    rules = successors()
    keys = [c for c in frame.columns if c not in additive and (c == code_column or frame[c].dtype == object
                                                                 or c == year_column)]
    others = [c for c in frame.columns if c not in additive and c not in keys]
    out = frame.copy()

    for rule in rules.itertuples():
        targets = rule.successors.split()
        if rule.rule == "merge":
            rows = out[code_column] == rule.code
            if rule.code in targets or not rows.any():
                continue
            report.merged[rule.code] = report.merged.get(rule.code, 0) + int(rows.sum())
            moved = out[rows].assign(**{code_column: targets[0]})
            out = pd.concat([out[~rows], moved[keys + additive]], ignore_index=True)
        else:
            until = int(rule.until)
            # years in which this column already reports a successor apart: the publisher has split
            # it; there the predecessor means itself (or, if not canonical, joins its first successor)
            apart = set(out.loc[out[code_column].isin([t for t in targets if t != rule.code]), year_column])
            early = (out[year_column] < until) & ~out[year_column].isin(apart)
            if rule.code not in targets:
                folded = (out[code_column] == rule.code) & ~early
                if folded.any():
                    report.merged[rule.code] = report.merged.get(rule.code, 0) + int(folded.sum())
                    out.loc[folded, code_column] = targets[0]
            involved = early & out[code_column].isin([rule.code, *targets])
            if not (early & (out[code_column] == rule.code)).any():
                continue
            report.split[rule.code] = report.split.get(rule.code, 0) + int((involved & (out[code_column] == rule.code)).sum())
            pooled = out[involved].assign(**{code_column: rule.code})
            pooled = pooled.groupby([k for k in keys], as_index=False, dropna=False)[additive].sum()
            shares = _shares(population, targets)
            spread = pooled.drop(columns=[code_column]).merge(
                shares.rename(columns={"code": code_column}), on=year_column, how="left")
            spread["share"] = spread["share"].fillna(1.0 / len(targets))
            for col in additive:
                spread[col] = spread[col] * spread["share"]
            spread = spread.drop(columns=["share"])
            if others:  # successors keep their own covariates, else take the predecessor's
                own = out[involved & out[code_column].isin(targets)][keys + others]
                spread = spread.merge(own, on=keys, how="left")
                rest = [k for k in keys if k != code_column]
                pred = out[involved & (out[code_column] == rule.code)][rest + others]
                fallback = spread[rest].merge(pred.drop_duplicates(rest), on=rest, how="left")
                for col in others:
                    spread[col] = spread[col].fillna(fallback[col])
            out = pd.concat([out[~involved], spread], ignore_index=True)
    # sum duplicates created by merges; non-additive columns keep the first (the canonical country's own)
    agg = {c: "sum" for c in additive} | {c: "first" for c in others}
    out = out.sort_values(keys).groupby(keys, as_index=False, dropna=False).agg(agg) if agg else out.drop_duplicates(keys)
    outside = ~out[code_column].isin(keep)
    for code, count in out.loc[outside, code_column].value_counts().items():
        report.dropped[code] = report.dropped.get(code, 0) + int(count)
    return out[~outside][frame.columns].reset_index(drop=True)
