"""Ensemble summaries: member passes -> estimate tables with mean, std and quantiles.

Each member contributes a central pass and perturbed passes (model/train.py `simulate`). As in
method.md §8, the mean is the average of the central passes and the 5/50/95 % quantiles are taken
over all passes; the std is (p84 − p16) / 2 of the same passes, so that it describes the spread
the quantiles describe (the paper's root mean square deviation is dominated by a few outlying
passes). The estimate tables replace this spread by the calibrated distribution where validation
could calibrate it (ensemble/assets.py calibrated_estimates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..schemas import ESTIMATES


@dataclass
class MemberPasses:
    flows: np.ndarray  # (P, Y, E): pass 0 is the central pass
    stocks: np.ndarray  # (P, Y + 1, N, N)


def _summary(draws: np.ndarray, central: np.ndarray) -> dict[str, np.ndarray]:
    """draws (D, M), central (C, M) -> dict of (M,) arrays."""
    mean = central.mean(0)
    p05, p16, p50, p84, p95 = np.quantile(draws, [0.05, 0.16, 0.5, 0.84, 0.95], axis=0)
    return {"mean": mean, "std": (p84 - p16) / 2, "p05": p05, "p50": p50, "p95": p95}


class Ensemble:
    """Pooled passes of all members over one edge list and country list."""

    def __init__(self, members: list[MemberPasses], countries: list[str], years: list[int], edges: np.ndarray):
        self.countries = np.asarray(countries, dtype=object)
        self.years = list(years)
        self.edges = edges  # (3, E): birth, origin, destination
        self.n = len(countries)
        self.flows = np.concatenate([m.flows for m in members])  # (D, Y, E)
        self.stocks = np.concatenate([m.stocks for m in members])  # (D, Y+1, N, N)
        sizes = [m.flows.shape[0] for m in members]
        self.central = np.cumsum([0] + sizes[:-1])  # index of each member's central pass
        self.pairs, self.pair_of_edge = np.unique(edges[1] * self.n + edges[2], return_inverse=True)

    def _t(self, year: int) -> int:
        return self.years.index(year)

    def flows_by_birth(self, year: int) -> pd.DataFrame:
        d = self.flows[:, self._t(year)]
        s = _summary(d, d[self.central])
        b, o, k = self.edges
        frame = pd.DataFrame({"year": year, "birth": self.countries[b], "origin": self.countries[o],
                              "destination": self.countries[k], **s})
        return ESTIMATES["flows_by_birth"].conform(frame)

    def bilateral_draws(self, year: int) -> np.ndarray:
        d = self.flows[:, self._t(year)]
        out = np.zeros((d.shape[0], self.pairs.size))
        for row in range(d.shape[0]):
            out[row] = np.bincount(self.pair_of_edge, weights=d[row], minlength=self.pairs.size)
        return out

    def flows_bilateral(self, year: int) -> pd.DataFrame:
        d = self.bilateral_draws(year)
        s = _summary(d, d[self.central])
        frame = pd.DataFrame({"year": year, "origin": self.countries[self.pairs // self.n],
                              "destination": self.countries[self.pairs % self.n], **s})
        return ESTIMATES["flows"].conform(frame)

    def net_migration(self, year: int) -> pd.DataFrame:
        d = self.flows[:, self._t(year)]
        net = np.zeros((d.shape[0], self.n))
        for row in range(d.shape[0]):
            net[row] = np.bincount(self.edges[2], weights=d[row], minlength=self.n) - np.bincount(
                self.edges[1], weights=d[row], minlength=self.n)
        s = _summary(net, net[self.central])
        return ESTIMATES["net_migration"].conform(pd.DataFrame({"year": year, "country": self.countries, **s}))

    def stocks_on(self, year: int) -> pd.DataFrame:
        """Stocks on 1 January of `year` (stock time index = flow year index)."""
        d = self.stocks[:, self._t(year)].reshape(self.stocks.shape[0], -1)
        keep = np.flatnonzero(d.max(0) > 0)
        d = d[:, keep]
        s = _summary(d, d[self.central])
        frame = pd.DataFrame({"year": year, "birth": self.countries[keep // self.n],
                              "residence": self.countries[keep % self.n], **s})
        return ESTIMATES["stocks"].conform(frame)
