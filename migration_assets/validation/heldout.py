"""Out-of-fold predictions of the observed flows (pure: torch and pandas, no Dagster).

Member m trains without the observed-flow corridors of fold m mod n_folds. Its prediction for
those corridors is therefore an honest held-out estimate: the cross-validation of method.md §7.1
with five folds over corridors. Members that share a fold are pooled (mean of their central
passes, quantiles over all their passes), exactly as the ensemble pools all members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model.network import FlowNet
from ..model.tensors import ModelInputs
from ..model.train import simulate
from .calibration import LEVELS, label


@dataclass
class Member:
    name: str
    model: FlowNet
    fold: int
    seed: int


def corridor_draws(flows: np.ndarray, edges: np.ndarray, corridors: pd.DataFrame, codes: dict[str, int]
                   ) -> np.ndarray:
    """flows (P, Y, E) by edge -> (P, Y, C) bilateral flows of the C corridors (origin, destination)."""
    n = len(codes)
    wanted = corridors["origin"].map(codes).to_numpy() * n + corridors["destination"].map(codes).to_numpy()
    slot = pd.Series(np.arange(len(wanted)), index=wanted)
    pair = edges[1] * n + edges[2]
    hit = np.isin(pair, wanted)
    out = np.zeros(flows.shape[:2] + (len(wanted),))
    if hit.any():
        target = slot.loc[pair[hit]].to_numpy()
        np.add.at(out, (slice(None), slice(None), target), flows[:, :, hit])
    return out


def out_of_fold(inputs: ModelInputs, members: list[Member], flow_targets: pd.DataFrame, samples: int,
                stock_noise: float) -> pd.DataFrame:
    """One row per observed flow cell whose fold some member held out.

    Columns: year, origin, destination, source, fold, reported, predicted (mean of the central
    passes of the members holding the fold out) and p05 ... p95 over all their passes.
    """
    codes = {c: i for i, c in enumerate(inputs.countries)}
    edges = inputs.edges.numpy()
    year_index = {y: t for t, y in enumerate(inputs.years)}
    parts = []
    for fold in sorted({m.fold for m in members}):
        cells = flow_targets[(flow_targets["fold"] == fold) & flow_targets["year"].isin(year_index)]
        if cells.empty:
            continue
        corridors = cells[["origin", "destination"]].drop_duplicates().reset_index(drop=True)
        corridor_of = pd.Series(np.arange(len(corridors)),
                                index=pd.MultiIndex.from_frame(corridors)).loc[
            pd.MultiIndex.from_frame(cells[["origin", "destination"]])].to_numpy()
        t = cells["year"].map(year_index).to_numpy()
        draws, central = [], []
        for member in (m for m in members if m.fold == fold):
            flows, _ = simulate(member.model, inputs, samples, stock_noise, seed=10_000 + member.seed)
            d = corridor_draws(flows, edges, corridors, codes)[:, t, corridor_of]  # (P, cells)
            central.append(d[0])
            draws.append(d)
        d = np.concatenate(draws)
        quantiles = np.quantile(d, LEVELS, axis=0)
        parts.append(pd.DataFrame({
            "year": cells["year"].to_numpy(), "origin": cells["origin"].to_numpy(),
            "destination": cells["destination"].to_numpy(), "source": cells["source"].to_numpy(),
            "fold": fold, "reported": cells["flow"].to_numpy(), "predicted": np.mean(central, axis=0),
            **{label(level): q for level, q in zip(LEVELS, quantiles)},
        }))
    columns = ["year", "origin", "destination", "source", "fold", "reported", "predicted",
               *map(label, LEVELS)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
