"""Calibrated intervals: conformal quantiles of residuals, by stratum and by size (pure numpy/pandas).

The ensemble's own spread (members × perturbed initial stocks) says little about its error: its
p05-p95 band covered half the UN stock points and a third of the reported net migration. Each
estimate table's interval is therefore built from the residuals of cells whose value is known,
in the strata that say how much is known about a cell (a "Mondrian" conformal predictor):

    flows, stocks (kind "log"):       p_τ = expm1(log1p(mean) + q_τ(stratum, size bin))
    net migration (kind "share"):     p_τ = mean + q_τ(stratum, size bin) · population

q_τ is the τ-quantile of the residuals log1p(value) − log1p(estimate) (or (value − estimate) /
population) in the cell's stratum and bin of size (the estimate; the population for net
migration), with the usual finite-sample correction so that the band covers at least its nominal
share of exchangeable cells. All the columns come from this one distribution: p05, p50, p95 are
its quantiles, std is (p84 − p16) / 2, the standard deviation a normal distribution with those
quantiles would have, and `mean` is the point estimate around which the residuals were measured.

Which residuals (validation/assets.py): for flows, reported values in the *flow* scale (each
source's learned reporting bias and size elasticity removed, `as_flow`); strata "unreported" and
"unreported_after_stock_points" from corridors the predicting members never saw (held out);
"reported" (a source other than IMFSC reports the corridor-year, calibrated on those sources'
reports) and "reported_imfsc_only" from the reported corridor-years, predicted by the whole
ensemble as estimates.flows predicts them (flow_strata); for stocks the UN stock
points, for net migration the reported series. Cells with values the estimate trained on are
cross-fitted: each fold's cells are scored with a calibration fitted on the other folds only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model.loss import REPORTING_PIVOT
from ..panel.build import dataset

LEVELS = (0.05, 0.25, 0.50, 0.75, 0.95)  # the quantiles scored (p25/p75: the 50 % interval)
QUANTILES = (0.05, 0.16, 0.25, 0.50, 0.75, 0.84, 0.95)  # calibrated; p16 and p84 give the std
LOG, SHARE = "log", "share"
REPORTED, UNREPORTED = "reported", "unreported"
REPORTED_IMFSC = "reported_imfsc_only"  # only the UN's IMFSC tabulations report the corridor-year
AFTER_STOCKS = "unreported_after_stock_points"  # unreported, in a year after the last UN stock point
# The UN's IMFSC compiles national statistics under several criteria (citizenship or residence,
# immigrant or emigrant side); on the same corridor-year they disagree with each other and with the
# other sources far more than those do among themselves (in sample, the middle 90 % of IMFSC's
# residuals spans 47-148 times, OECD's 18-48, Eurostat's 6-18, Meta's 15-25). Where another source
# reports a corridor-year, that source's report says what the flow is, and IMFSC's are left out
# of the calibration of the stratum.
SECONDARY_DATASETS = ("imfsc",)


def label(level: float) -> str:
    """Column name of a quantile level: 0.05 -> p05."""
    return f"p{round(level * 100):02d}"


def as_flow(reported: np.ndarray, bias: np.ndarray, elasticity: np.ndarray) -> np.ndarray:
    """The flow a reported value stands for: the model compares a source's report R with its flow F as
    R = F · exp(b + δ (log1p F − log 1000)) (model/loss.py), so in log1p terms
    log1p F ≈ (log1p R − b + δ log 1000) / (1 + δ). Persons, at the level the level sources measure."""
    u = (np.log1p(np.clip(reported, 0, None)) - bias + elasticity * math.log(REPORTING_PIVOT)) / (1.0 + elasticity)
    return np.expm1(np.maximum(u, 0.0))


def secondary(source: pd.Series) -> np.ndarray:
    """Whether each flow source belongs to a dataset of SECONDARY_DATASETS (imfsc_residence_emigrants -> imfsc)."""
    return dataset(source).isin(SECONDARY_DATASETS).to_numpy()


def flow_strata(cells: pd.DataFrame, reported: pd.DataFrame, last_stock_year: int | None) -> np.ndarray:
    """The calibration stratum of each flow cell (year, origin, destination), from `reported` (year,
    origin, destination, source: every report of the training targets): REPORTED where a source
    outside SECONDARY_DATASETS reports the corridor-year, REPORTED_IMFSC where only those do;
    otherwise AFTER_STOCKS from the year of the last UN stock point on (1 January of
    `last_stock_year`: no later stock bounds the flow), UNREPORTED before."""
    key = ["year", "origin", "destination"]
    index = pd.MultiIndex.from_frame(cells[key])
    primary = reported[~secondary(reported["source"])] if "source" in reported else reported
    by_primary = index.isin(pd.MultiIndex.from_frame(primary[key].drop_duplicates()))
    by_any = index.isin(pd.MultiIndex.from_frame(reported[key].drop_duplicates()))
    after = cells["year"].to_numpy() >= (last_stock_year if last_stock_year is not None else 10_000)
    return np.where(by_primary, REPORTED, np.where(by_any, REPORTED_IMFSC,
                                                   np.where(after, AFTER_STOCKS, UNREPORTED))).astype(object)


def _centre(kind: str, estimate: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    return np.log1p(np.clip(estimate, 0, None)) if kind == LOG else estimate / scale


def _size(kind: str, estimate: np.ndarray, scale: np.ndarray | None) -> np.ndarray:
    return np.log1p(np.clip(estimate if kind == LOG else scale, 0, None))


def residuals(kind: str, estimate: np.ndarray, value: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """value − estimate in the calibration's space."""
    value = np.asarray(value, float)
    if kind == LOG:
        return np.log1p(np.clip(value, 0, None)) - np.log1p(np.clip(estimate, 0, None))
    return (value - estimate) / scale


def _order_statistic(sorted_residuals: np.ndarray, level: float) -> float:
    """Finite-sample conformal quantile: the k-th smallest of n residuals with k = ⌈(n+1)τ⌉ above
    the median and ⌊(n+1)τ⌋ below it, so that the band [q_lo, q_hi] covers ≥ its nominal share."""
    n = len(sorted_residuals)
    k = np.ceil((n + 1) * level) if level >= 0.5 else np.floor((n + 1) * level)
    return float(sorted_residuals[int(np.clip(k, 1, n)) - 1])


COLUMNS = ["stratum", "bin", "size_from", "size_to", *(f"residual_{label(q)}" for q in QUANTILES), "cells"]


@dataclass(frozen=True)
class Calibration:
    """Residual quantiles per stratum and size bin (`frame`, columns COLUMNS, as validation.calibration
    stores them for one table). A stratum not in the frame gets the widest stratum's quantiles."""

    frame: pd.DataFrame
    kind: str = LOG

    def residual_quantiles(self, estimate: np.ndarray, strata=None, scale: np.ndarray | None = None) -> np.ndarray:
        """(cells, len(QUANTILES)) residual quantiles for each cell."""
        estimate = np.asarray(estimate, float)
        size = _size(self.kind, estimate, scale)
        strata = np.broadcast_to(np.asarray("all" if strata is None else strata, dtype=object), estimate.shape)
        columns = [f"residual_{label(q)}" for q in QUANTILES]
        out = np.full((len(estimate), len(QUANTILES)), np.nan)
        known = set(self.frame["stratum"])
        widest = (self.frame.assign(width=self.frame["residual_p95"] - self.frame["residual_p05"])
                  .groupby("stratum")["width"].mean().idxmax())
        for stratum, part in self.frame.sort_values("bin").groupby("stratum"):
            pick = np.flatnonzero((strata == stratum) | ((stratum == widest) & ~np.isin(strata, list(known))))
            upper = np.log1p(part["size_to"].to_numpy(dtype=float))
            which = np.searchsorted(upper, size[pick], side="left").clip(0, len(part) - 1)
            out[pick] = part[columns].to_numpy(dtype=float)[which]
        return out

    def apply(self, estimate: np.ndarray, strata=None, scale: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The calibrated {p05, p16, p25, p50, p75, p84, p95, std} of estimates `estimate` (persons)."""
        estimate = np.asarray(estimate, float)
        q = self.residual_quantiles(estimate, strata, scale)
        centre = _centre(self.kind, estimate, scale)[:, None] + q
        values = np.expm1(np.maximum(centre, 0.0)) if self.kind == LOG else centre * np.asarray(scale, float)[:, None]
        out = {label(level): values[:, i] for i, level in enumerate(QUANTILES)}
        out["std"] = (out["p84"] - out["p16"]) / 2
        return out


def fit(estimate: np.ndarray, value: np.ndarray, strata=None, scale: np.ndarray | None = None, kind: str = LOG,
        n_bins: int = 5, min_cells: int = 200) -> Calibration | None:
    """Calibration from estimates and the known values of the same cells.

    In each stratum, bins are quantiles of size merged until each holds ≥ min_cells residuals; a
    stratum with fewer than min_cells cells is left out (its cells get the widest stratum's band).
    Returns None when no stratum has min_cells cells."""
    estimate = np.asarray(estimate, float)
    strata = np.broadcast_to(np.asarray("all" if strata is None else strata, dtype=object), estimate.shape)
    residual = residuals(kind, estimate, value, scale)
    size = _size(kind, estimate, scale)
    rows = []
    for stratum in sorted(set(strata)):
        inside = strata == stratum
        n = int(inside.sum())
        if n < min_cells:
            continue
        k = max(1, min(n_bins, n // min_cells))
        inner = np.unique(np.quantile(size[inside], np.arange(1, k) / k)) if k > 1 else np.array([])
        upper = np.concatenate([inner, [np.inf]])
        which = np.searchsorted(upper, size[inside], side="left")
        lower = np.concatenate([[0.0], np.expm1(upper[:-1])])
        for b in range(len(upper)):
            r = np.sort(residual[inside][which == b])
            rows.append({"stratum": stratum, "bin": b, "size_from": lower[b], "size_to": float(np.expm1(upper[b])),
                         **{f"residual_{label(q)}": _order_statistic(r, q) for q in QUANTILES}, "cells": len(r)})
    return Calibration(pd.DataFrame(rows, columns=COLUMNS), kind) if rows else None


def cross_calibrated(cells: pd.DataFrame, kind: str = LOG, n_bins: int = 5, min_cells: int = 200) -> pd.DataFrame:
    """Calibrated quantiles for every cell, each fold calibrated on the other folds only.

    cells needs columns fold, predicted, reported, and stratum and scale where used. Returns cells
    with columns calibrated_p05 ... calibrated_p95 and calibrated_std added (NaN for a fold whose
    other folds hold too few cells)."""
    out = cells.copy()
    names = [*map(label, LEVELS), "std"]
    for name in names:
        out[f"calibrated_{name}"] = np.nan
    strata = cells["stratum"].to_numpy(dtype=object) if "stratum" in cells else None
    scale = cells["scale"].to_numpy(dtype=float) if "scale" in cells else None
    folds = cells["fold"].to_numpy()
    for fold in sorted(set(folds)):
        inside = folds == fold
        calibration = fit(cells["predicted"].to_numpy()[~inside], cells["reported"].to_numpy()[~inside],
                          None if strata is None else strata[~inside], None if scale is None else scale[~inside],
                          kind, n_bins, min_cells)
        if calibration is None:
            continue
        values = calibration.apply(cells["predicted"].to_numpy()[inside], None if strata is None else strata[inside],
                                   None if scale is None else scale[inside])
        rows = np.flatnonzero(inside)
        for name in names:
            out.iloc[rows, out.columns.get_loc(f"calibrated_{name}")] = values[name]
    return out
