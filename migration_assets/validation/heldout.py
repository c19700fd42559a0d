"""Out-of-fold predictions of the observed flows (pure: torch and pandas, no Dagster).

Member m trains without the observed-flow corridors of fold m mod n_folds. Its prediction for
those corridors is therefore an honest held-out estimate: the cross-validation of method.md §7.1
with five folds over corridors. Members that share a fold are pooled (mean of their central
passes, quantiles over all their passes), exactly as the ensemble pools all members.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..model.network import FlowNet
from ..model.tensors import ModelInputs
from ..model.train import simulate_once
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
                stock_noise: float, on_passes: Callable[[np.ndarray, np.ndarray], None] | None = None
                ) -> pd.DataFrame:
    """One row per observed flow cell whose fold some member held out.

    Columns: year, origin, destination, source, fold, reported, predicted (mean of the central
    passes of the members holding the fold out) and p05 ... p95 over all their passes.
    `on_passes(flows, stocks)` sees every member's passes (as `simulate` returns them) once.
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
            # kept for the estimates, which roll the same member with the same seed
            flows, stocks = simulate_once(member.model, inputs, samples, stock_noise, seed=10_000 + member.seed,
                                          keep=True)
            if on_passes is not None:
                on_passes(flows, stocks)
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


@dataclass
class SpreadDraws:
    """Every member's passes at the cells whose value is known, for the intervals of the estimate tables
    (a collector for out_of_fold's on_passes): the UN stock points, the reported net migration, and
    the reported flows, which the whole ensemble (members that saw the corridor and members that did
    not, as in estimates.flows) predicts in sample.

    stock_targets: year_end, birth, residence, stock_end (the UN stock points moved to 1 January);
    net_targets: year, country, net_migration; flow_targets: year, origin, destination, source, flow, fold."""

    inputs: ModelInputs
    stock_targets: pd.DataFrame
    net_targets: pd.DataFrame
    flow_targets: pd.DataFrame | None = None
    stocks: list[np.ndarray] = field(default_factory=list)
    net: list[np.ndarray] = field(default_factory=list)
    flows: list[np.ndarray] = field(default_factory=list)  # each member's central pass at the flow targets

    def __post_init__(self):
        codes = {c: i for i, c in enumerate(self.inputs.countries)}
        self._codes = codes
        first, n_years = self.inputs.years[0], len(self.inputs.years)
        s = self.stock_targets[self.stock_targets["year_end"].between(first, first + n_years)
                               & self.stock_targets["birth"].isin(codes) & self.stock_targets["residence"].isin(codes)]
        self.stock_targets = s.reset_index(drop=True)
        self._stock_index = ((s["year_end"].to_numpy() - first),
                             s["birth"].map(codes).to_numpy(), s["residence"].map(codes).to_numpy())
        m = self.net_targets[self.net_targets["year"].isin(self.inputs.years) & self.net_targets["country"].isin(codes)]
        self.net_targets = m.reset_index(drop=True)
        self._net_index = (m["year"].to_numpy() - first, m["country"].map(codes).to_numpy())
        f = self.flow_targets if self.flow_targets is not None else pd.DataFrame(
            columns=["year", "origin", "destination", "source", "flow", "fold"])
        f = f[f["year"].isin(self.inputs.years) & f["origin"].isin(codes) & f["destination"].isin(codes)]
        self.flow_targets = f.reset_index(drop=True)
        corridors = f[["origin", "destination"]].drop_duplicates().reset_index(drop=True)
        self._corridors = corridors
        self._flow_index = (f["year"].to_numpy() - first,
                            pd.Series(np.arange(len(corridors)), index=pd.MultiIndex.from_frame(corridors)).reindex(
                                pd.MultiIndex.from_frame(f[["origin", "destination"]])).to_numpy())

    def __call__(self, flows: np.ndarray, stocks: np.ndarray) -> None:
        t, b, r = self._stock_index
        self.stocks.append(stocks[:, t, b, r])
        edges = self.inputs.edges.numpy()
        net = np.zeros(flows.shape[:2] + (self.inputs.n_countries,))
        np.add.at(net, (slice(None), slice(None), edges[2]), flows)
        np.add.at(net, (slice(None), slice(None), edges[1]), -flows)
        year, country = self._net_index
        self.net.append(net[:, year, country])
        if len(self.flow_targets):
            year, corridor = self._flow_index
            self.flows.append(corridor_draws(flows[:1], edges, self._corridors, self._codes)[0, year, corridor])

    def tables(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """table -> (reported values, pooled passes (P, cells))."""
        out = {}
        if self.stocks:
            out["stocks"] = (self.stock_targets["stock_end"].to_numpy(), np.concatenate(self.stocks))
        if self.net:
            out["net_migration"] = (self.net_targets["net_migration"].to_numpy(), np.concatenate(self.net))
        return out

    def stock_cells(self) -> pd.DataFrame:
        """The UN stock points beside the ensemble's estimate there (the mean of the members' central passes)."""
        s = self.stock_targets
        return pd.DataFrame({"year": s["year_end"].to_numpy(), "birth": s["birth"].to_numpy(),
                             "residence": s["residence"].to_numpy(), "reported": s["stock_end"].to_numpy(dtype=float),
                             "predicted": np.mean([p[0] for p in self.stocks], axis=0) if self.stocks else np.nan})

    def net_cells(self) -> pd.DataFrame:
        """The reported net migration beside the ensemble's estimate."""
        m = self.net_targets
        return pd.DataFrame({"year": m["year"].to_numpy(), "country": m["country"].to_numpy(),
                             "reported": m["net_migration"].to_numpy(dtype=float),
                             "predicted": np.mean([p[0] for p in self.net], axis=0) if self.net else np.nan})

    def flow_cells(self) -> pd.DataFrame:
        """The reported flows beside the whole ensemble's estimate (in sample for most members)."""
        f = self.flow_targets
        return pd.DataFrame({"year": f["year"].to_numpy(), "origin": f["origin"].to_numpy(),
                             "destination": f["destination"].to_numpy(), "source": f["source"].to_numpy(),
                             "fold": f["fold"].to_numpy(), "reported": f["flow"].to_numpy(dtype=float),
                             "predicted": np.mean(self.flows, axis=0) if self.flows else np.nan})
