"""The training loss of method.md §6, with its known problems fixed.

For each target kind (stock changes, net migration, observed flows):

    r = (ψ(ŷ) − ψ(y)) / s          ψ = symmetric Yeo–Johnson with λ = 0.5
    L = Σ w · ReLU(r² − ε (ψ(y)/s)²) / Σ w

- s is the standard deviation of ψ(y) over the kind's training entries, computed once, so every
  interval and year weighs the same (the paper standardised per five-year batch);
- the tolerance band ε is relative to the target itself, not to its distance from a batch mean
  (method.md §9, bug 5);
- observed flows are compared a second time in log space (λ = 0, `flow_log`): in Yeo–Johnson space
  at λ = 0.5 a corridor of 60 persons estimated at 10 costs about 1/400 of one of 100,000 estimated
  at 50,000, so small corridors were left at a tenth to a third of what Meta and Eurostat report.
  The log term charges the small miss by its ratio; its band (ε relative to log1p of the target)
  leaves the large corridor, within a factor of about 3 there, to the first term;
- observed flows are compared after a learned per-source reporting bias exp(b_source) and size
  elasticity (`predictions`), weakly pulled towards 0, except for the level sources (Meta), whose
  bias and elasticity are fixed at 0;
- a level term compares, for each level source and year, the total of its training cells with the
  model's total over the same cells (`level_loss`): the Yeo–Johnson residuals alone fit the shape
  of the flows but leave their totals short;
- a stock level term compares the stock itself at each UN point with the reported one, every cell
  weighing the same: the change targets are weighted down where the change is small beside the
  stock, and with changes alone the members drained large stable diasporas (Algerian-born in France
  fell from 0.8 M to 7,000 in one member's roll), and with them the flows that follow a diaspora;
- there is no outflow ≤ population regulariser: the network's flows are a share of survivors.
"""

from __future__ import annotations

import math
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
    stock_level: float
    net: float
    flow: float
    flow_log: float  # of log1p(flow)

    @staticmethod
    def of(targets: Targets, lam: float = 0.5) -> "Scales":
        def s(x: torch.Tensor, lam: float = lam) -> float:
            return float(psi(x.double(), lam).std()) if x.numel() > 1 else 1.0

        return Scales(stock=s(targets.stock_change), stock_level=s(targets.stock_level), net=s(targets.net_value),
                      flow=s(targets.flow_value), flow_log=s(targets.flow_value, 0.0))


@dataclass(frozen=True)
class LossWeights:
    """The weights of the loss terms, the tolerance band and the Yeo-Johnson lambda of the residuals:
    no defaults here, TrainConfig (train.py) declares them once (TrainConfig.loss_weights)."""

    stock: float
    stock_level: float
    net: float
    flow: float
    flow_log: float
    source_bias: float
    level: float
    band: float
    lam: float


# the corridor size at which a source's reporting bias b_s alone says how it reports (persons a year)
REPORTING_PIVOT = 1000.0


def predictions(flows: torch.Tensor, stocks: torch.Tensor, bilateral: torch.Tensor, net: torch.Tensor,
                targets: Targets, n: int, source_bias: torch.Tensor | None = None,
                source_elasticity: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Model values at the target entries. flows/stocks as from `roll`, bilateral (Y, N*N), net (Y, N).

    A flow cell is compared as its source would report the model's flow F:
    F · exp(b_s + δ_s · (log(1 + F) − log 1000)), with the source's reporting bias b_s and its size
    elasticity δ_s (0 when not given): statistical systems miss small corridors more, or less, than
    large ones (registration thresholds; Facebook's 12-month rule catches circular moves)."""
    # flat index_select, not advanced indexing: its backward is an index_add, several times faster on CPU
    flat = stocks.reshape(-1)
    cells = n * n
    cell = targets.stock_birth * n + targets.stock_residence
    pair = targets.flow_origin * n + targets.flow_destination
    flow = bilateral.reshape(-1).index_select(0, targets.flow_year * cells + pair)
    if source_bias is not None and source_bias.numel():
        log_ratio = source_bias.index_select(0, targets.flow_source)
        if source_elasticity is not None:
            size = torch.log1p(flow.clamp_min(0)) - math.log(REPORTING_PIVOT)
            log_ratio = log_ratio + source_elasticity.index_select(0, targets.flow_source) * size
        flow = flow * torch.exp(log_ratio)
    level = flat.index_select(0, targets.stock_end * cells + cell)
    return {
        "stock": level - flat.index_select(0, targets.stock_start * cells + cell),
        "stock_level": level,
        "net": net.reshape(-1).index_select(0, targets.net_year * n + targets.net_country),
        "flow": flow,
    }


def level_loss(flow: torch.Tensor, targets: Targets, anchored: torch.Tensor) -> torch.Tensor:
    """Mean over the years of each level source of log(Σ predicted / Σ reported)²: the total of the
    reported cells, not only their shape. A loss in Yeo–Johnson space alone is minimised below the
    mean of a noisy flow ((E√y)² < E y), so its fitted totals fall short of the reported ones."""
    keep = anchored.index_select(0, targets.flow_source) & (targets.flow_value > 0)
    if not keep.any():
        return flow.sum() * 0.0
    group = targets.flow_source[keep] * (int(targets.flow_year.max()) + 1) + targets.flow_year[keep]
    _, slot = torch.unique(group, return_inverse=True)
    size = int(slot.max()) + 1
    predicted = torch.zeros(size, dtype=flow.dtype, device=flow.device).index_add(0, slot, flow[keep])
    reported = torch.zeros(size, dtype=flow.dtype, device=flow.device).index_add(
        0, slot, targets.flow_value[keep].to(flow.dtype))
    return (torch.log(predicted.clamp_min(1.0) / reported) ** 2).mean()


def loss_terms(pred: dict[str, torch.Tensor], targets: Targets, scales: Scales, weights: LossWeights,
               source_bias: torch.Tensor, anchored: torch.Tensor, source_elasticity: torch.Tensor | None = None
               ) -> dict[str, torch.Tensor]:
    """The weighted terms of the loss; `anchored` marks the level sources (bool per source). The
    reporting biases and size elasticities are pulled weakly towards 0."""
    reporting = (source_bias**2).sum() + ((source_elasticity**2).sum() if source_elasticity is not None else 0.0)
    return {
        "level": weights.level * level_loss(pred["flow"], targets, anchored),
        "stock": weights.stock * banded_loss(pred["stock"], targets.stock_change, targets.stock_weight,
                                             scales.stock, weights.band, weights.lam),
        "stock_level": weights.stock_level * banded_loss(pred["stock_level"], targets.stock_level,
                                                         torch.ones_like(targets.stock_level), scales.stock_level,
                                                         weights.band, weights.lam),
        "net": weights.net * banded_loss(pred["net"], targets.net_value, targets.net_weight, scales.net,
                                         weights.band, weights.lam),
        "flow": weights.flow * banded_loss(pred["flow"], targets.flow_value, targets.flow_weight, scales.flow,
                                           weights.band, weights.lam),
        "flow_log": weights.flow_log * banded_loss(pred["flow"], targets.flow_value, targets.flow_weight,
                                                   scales.flow_log, weights.band, 0.0),
        "source_bias": weights.source_bias * reporting,
    }
