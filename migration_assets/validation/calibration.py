"""Calibrated flow intervals: split-conformal quantiles of log residuals on held-out corridors.

The ensemble's own spread (members × perturbed initial stocks) is far narrower than its error
on corridors it never saw, so its p05-p95 band covers too few reported flows. Calibration
replaces the band of a bilateral flow by

    p_τ = expm1(log1p(mean) + q_τ(bin))

where q_τ is the τ-quantile of the out-of-fold residuals log1p(reported) − log1p(predicted),
taken separately in bins of the predicted size (errors are relatively larger for small flows:
a "Mondrian" conformal predictor). The quantile levels get the usual finite-sample correction,
so the band covers at least its nominal share of exchangeable held-out cells. Residuals come
from corridors the predicting member never saw, so the band answers "how far is a reported flow
from our estimate on a corridor without data"; it is conservative on corridors with data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LEVELS = (0.05, 0.25, 0.50, 0.75, 0.95)


def label(level: float) -> str:
    """Column name of a quantile level: 0.05 -> p05."""
    return f"p{round(level * 100):02d}"


@dataclass(frozen=True)
class Calibration:
    upper_edges: np.ndarray  # (B,) upper bound of each bin in log1p(prediction); the last is +inf
    residual_quantiles: np.ndarray  # (B, len(LEVELS)) quantiles of log1p(reported) − log1p(predicted)
    cells: np.ndarray  # (B,) residuals behind each bin

    def bins(self, predicted: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.upper_edges, np.log1p(np.clip(predicted, 0, None)), side="left")

    def apply(self, predicted: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated quantiles {p05, p25, p50, p75, p95} for estimates `predicted` (persons)."""
        q = self.residual_quantiles[self.bins(predicted)]
        centre = np.log1p(np.clip(predicted, 0, None))
        return {label(level): np.expm1(np.maximum(centre + q[:, i], 0.0)) for i, level in enumerate(LEVELS)}

    def frame(self) -> pd.DataFrame:
        lower = np.concatenate([[0.0], np.expm1(self.upper_edges[:-1])])
        return pd.DataFrame({
            "bin": np.arange(len(self.cells)),
            "predicted_from": lower,
            "predicted_to": np.expm1(self.upper_edges),
            **{f"residual_{label(level)}": self.residual_quantiles[:, i] for i, level in enumerate(LEVELS)},
            "cells": self.cells,
        })

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Calibration":
        frame = frame.sort_values("bin")
        return cls(upper_edges=np.log1p(frame["predicted_to"].to_numpy(dtype=float)),
                   residual_quantiles=frame[[f"residual_{label(lv)}" for lv in LEVELS]].to_numpy(dtype=float),
                   cells=frame["cells"].to_numpy(dtype=np.int64))


def _order_statistic(sorted_residuals: np.ndarray, level: float) -> float:
    """Finite-sample conformal quantile: the k-th smallest of n residuals with k = ⌈(n+1)τ⌉ above
    the median and ⌊(n+1)τ⌋ below it, so that the band [q_lo, q_hi] covers ≥ its nominal share."""
    n = len(sorted_residuals)
    k = np.ceil((n + 1) * level) if level >= 0.5 else np.floor((n + 1) * level)
    return float(sorted_residuals[int(np.clip(k, 1, n)) - 1])


def fit(predicted: np.ndarray, reported: np.ndarray, n_bins: int = 5, min_cells: int = 200) -> Calibration | None:
    """Calibration from out-of-fold predictions and the reported values of the same cells.

    Bins are quantiles of the prediction's size, merged until each holds ≥ min_cells residuals.
    Returns None when there are fewer than min_cells cells: no calibration is possible.
    """
    predicted, reported = np.asarray(predicted, float), np.asarray(reported, float)
    n = len(predicted)
    if n < min_cells:
        return None
    size = np.log1p(np.clip(predicted, 0, None))
    residual = np.log1p(np.clip(reported, 0, None)) - size
    k = max(1, min(n_bins, n // min_cells))
    inner = np.unique(np.quantile(size, np.arange(1, k) / k)) if k > 1 else np.array([])
    upper = np.concatenate([inner, [np.inf]])
    which = np.searchsorted(upper, size, side="left")
    quantiles, cells = [], []
    for b in range(len(upper)):
        r = np.sort(residual[which == b])
        quantiles.append([_order_statistic(r, level) for level in LEVELS])
        cells.append(len(r))
    return Calibration(upper_edges=upper, residual_quantiles=np.asarray(quantiles), cells=np.asarray(cells))


def cross_calibrated(cells: pd.DataFrame, n_bins: int = 5, min_cells: int = 200) -> pd.DataFrame:
    """Calibrated quantiles for every held-out cell, each fold calibrated on the other folds only.

    cells needs columns fold, predicted, reported. Returns cells with columns calibrated_p05 ...
    calibrated_p95 added (NaN for a fold whose other folds hold too few cells).
    """
    out = cells.copy()
    for name in map(label, LEVELS):
        out[f"calibrated_{name}"] = np.nan
    for fold in sorted(cells["fold"].unique()):
        inside = (cells["fold"] == fold).to_numpy()
        rest = cells[~inside]
        calibration = fit(rest["predicted"].to_numpy(), rest["reported"].to_numpy(), n_bins, min_cells)
        if calibration is None:
            continue
        for name, values in calibration.apply(cells.loc[inside, "predicted"].to_numpy()).items():
            out.loc[inside, f"calibrated_{name}"] = values
    return out
