"""The training loss of method.md §6, with its known problems fixed.

For each target kind (stock changes, net migration, observed flows):

    r = (ψ(ŷ) − ψ(y)) / s          ψ = symmetric Yeo–Johnson with λ = 0.5
    L = Σ w · ReLU(r² − ε (ψ(y)/s)²) / Σ w

- s is the standard deviation of ψ(y) over the kind's training entries, computed once, so every
  interval and year weighs the same (the paper standardised per five-year batch);
- the tolerance band ε is relative to the target itself, not to its distance from a batch mean
  (method.md §9, bug 5);
- observed flows are compared after a learned per-source reporting bias exp(b_source), and b is
  pulled towards 0 so that stocks and net migration, not the flow sources, fix the level;
- there is no outflow ≤ population regulariser: the network's flows are a share of survivors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .tensors import Targets


def psi(x: torch.Tensor, lam: float = 0.5) -> torch.Tensor:
    """Symmetric Yeo–Johnson map sign(x)·((|x| + 1)^λ − 1)/λ (log1p at λ = 0)."""
    if lam == 0:
        return torch.sign(x) * torch.log1p(x.abs())
    return torch.sign(x) * ((x.abs() + 1) ** lam - 1) / lam


def banded_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, scale: float,
                band: float, lam: float = 0.5) -> torch.Tensor:
    if target.numel() == 0:
        return pred.sum() * 0.0
    zt = psi(target, lam) / scale
    r = psi(pred, lam) / scale - zt
    return (weight * torch.relu(r**2 - band * zt**2)).sum() / weight.sum()


@dataclass(frozen=True)
class Scales:
    stock: float
    net: float
    flow: float

    @staticmethod
    def of(targets: Targets, lam: float = 0.5) -> "Scales":
        def s(x: torch.Tensor) -> float:
            return float(psi(x.double(), lam).std()) if x.numel() > 1 else 1.0

        return Scales(stock=s(targets.stock_change), net=s(targets.net_value), flow=s(targets.flow_value))


@dataclass(frozen=True)
class LossWeights:
    stock: float = 1.0
    net: float = 1.0
    flow: float = 1.0
    source_bias: float = 1.0
    band: float = 0.01
    lam: float = 0.5  # Yeo-Johnson lambda of the transform the residuals are taken in


def predictions(flows: torch.Tensor, stocks: torch.Tensor, bilateral: torch.Tensor, net: torch.Tensor,
                targets: Targets, n: int, source_bias: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Model values at the target entries. flows/stocks as from `roll`, bilateral (Y, N*N), net (Y, N)."""
    flat = stocks.reshape(stocks.shape[0], -1)
    cell = targets.stock_birth * n + targets.stock_residence
    pair = targets.flow_origin * n + targets.flow_destination
    flow = bilateral[targets.flow_year, pair]
    if source_bias is not None and source_bias.numel():
        flow = flow * torch.exp(source_bias[targets.flow_source])
    return {
        "stock": flat[targets.stock_end, cell] - flat[targets.stock_start, cell],
        "net": net[targets.net_year, targets.net_country],
        "flow": flow,
    }


def loss_terms(pred: dict[str, torch.Tensor], targets: Targets, scales: Scales, weights: LossWeights,
               source_bias: torch.Tensor) -> dict[str, torch.Tensor]:
    return {
        "stock": weights.stock * banded_loss(pred["stock"], targets.stock_change, targets.stock_weight,
                                             scales.stock, weights.band, weights.lam),
        "net": weights.net * banded_loss(pred["net"], targets.net_value, targets.net_weight, scales.net,
                                         weights.band, weights.lam),
        "flow": weights.flow * banded_loss(pred["flow"], targets.flow_value, targets.flow_weight, scales.flow,
                                           weights.band, weights.lam),
        "source_bias": weights.source_bias * (source_bias**2).sum(),
    }
