"""Training one ensemble member, and rolling a trained member forward for inference."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, fields
from typing import Callable

import numpy as np
import torch

from .loss import LossWeights, Scales, loss_terms, predictions
from .network import EdgeStructure, FlowNet, RollState, bilateral, net_migration, roll, roll_years
from .tensors import ModelInputs, Targets


@dataclass(frozen=True)
class TrainConfig:
    hidden: int = 16
    epochs: int = 150
    learning_rate: float = 0.02  # Adam's, decayed along a cosine to a tenth of it
    grad_clip: float = 1.0
    # truncated backpropagation: each epoch takes one optimiser step per window of about this many
    # years, cut only where no stock-change target spans the cut (`windows`); 0 = one full-batch step
    window_years: int = 10
    weight_stock: float = 1.0
    # the stock itself at each UN point, every cell alike: changes alone, weighted down where they are
    # small beside a large stock, let the members drain large stable diasporas. Held-out log1p r on
    # fold 0 rose with it: 0.782 / 0.789 / 0.795 / 0.804 / 0.802 at 1 / 3 / 10 / 30 / 100; at 100 the
    # global level of 2020 left Meta's ±20 % (benchmarks/fold_experiment.py)
    weight_stock_level: float = 30.0
    weight_net: float = 1.0
    weight_flow: float = 3.0  # observed flows weigh 3x: best held-out scores on the real data (issue 4)
    # the same cells again in log space (loss.py): small corridors are no longer left at a fraction of
    # what is reported. Fold 0, two seeds pooled (benchmarks/fold_experiment.py, real panel, 96 epochs):
    # held-out r / r log1p 0.764 / 0.820 at 0, 0.755 / 0.840 at 1, 0.741 / 0.856 at 3
    weight_flow_log: float = 1.0
    # the totals of each level source's training cells, year by year (loss.level_loss): half the weight
    # of one target kind; on the real data it lifts the global level to about Meta's (benchmarks/RESULTS.md)
    weight_level: float = 0.5
    weight_source_bias: float = 0.01  # weak: the level sources, not this pull, tie the other biases down
    # flow sources whose reporting bias is fixed at 0: their figures set the level of gross flows that
    # stocks and net migration cannot see (Meta measures every corridor, with the UN's 12-month rule)
    level_sources: tuple[str, ...] = ("meta_facebook",)
    band: float = 0.01
    yeo_johnson_lambda: float = 0.5
    log_every: int = 10
    # incremental updates (model/update.py): fine-tuning from stored weights, every year replayed
    finetune_epochs: int = 15  # 10 % of a full training: as accurate on the synthetic world (benchmarks/incremental.py)
    finetune_learning_rate: float = 0.003
    full_retrain_revision: float = 0.05  # retrain from scratch when earlier targets move more than this

    def __post_init__(self):
        for name in ("epochs", "finetune_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}: set it in the run config "
                                 "of models/member (a member is stored only after its training finished)")

    def loss_weights(self) -> LossWeights:
        return LossWeights(stock=self.weight_stock, stock_level=self.weight_stock_level, net=self.weight_net,
                           flow=self.weight_flow, flow_log=self.weight_flow_log,
                           source_bias=self.weight_source_bias, level=self.weight_level, band=self.band,
                           lam=self.yeo_johnson_lambda)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    def model_digest(self) -> str:
        """Digest of the settings of a full training (not of how a member is updated): weights trained
        under other settings (another hidden size, loss weight or epoch count) are not warm-started."""
        schedule = {"log_every", "finetune_epochs", "finetune_learning_rate", "full_retrain_revision"}
        fields = {k: v for k, v in asdict(self).items() if k not in schedule}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def new_model(inputs: ModelInputs, n_sources: int, hidden: int) -> FlowNet:
    return FlowNet(
        n_countries=inputs.n_countries,
        n_country_features=inputs.country_features.shape[-1],
        n_dyad_features=inputs.dyad_features.shape[-1],
        hidden=hidden,
        n_sources=n_sources,
    )


def _mae(pred: torch.Tensor, target: torch.Tensor) -> float:
    return float((pred - target).abs().mean()) if target.numel() else float("nan")


def device_for(setting: str) -> torch.device:
    """'auto': a CUDA device when torch sees one, else the CPU; or any torch device name ('cpu', 'cuda:1')."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def evaluate(model: FlowNet, inputs: ModelInputs, targets: Targets, structure: EdgeStructure | None = None
             ) -> dict[str, float]:
    """Mean absolute errors in persons at the target entries (no gradient), on the model's device."""
    weight = next(model.parameters())
    inputs, targets = inputs.to(weight.dtype, weight.device), targets.to(weight.device)
    es = structure or EdgeStructure(inputs.edges, inputs.n_countries)
    with torch.no_grad():
        flows, stocks = roll(model, inputs, structure=es)
        pred = predictions(flows, stocks, bilateral(flows, es), net_migration(flows, es), targets,
                           inputs.n_countries, model.source_bias, model.source_elasticity)
    return {
        "mae_stock_change": _mae(pred["stock"], targets.stock_change),
        "mae_net_migration": _mae(pred["net"], targets.net_value),
        "mae_flow": _mae(pred["flow"], targets.flow_value),
    }


def fit(inputs: ModelInputs, train: Targets, config: TrainConfig, seed: int,
        validation: Targets | None = None, progress: Callable[[dict], None] | None = None,
        warm_start: dict | None = None, device: str = "cpu") -> tuple[FlowNet, list[dict]]:
    """Train one member: backpropagation through all edges, by windows of years.

    Every epoch rolls the recurrence from the initial stocks, so training and inference are
    the same computation. It takes one optimiser step per window of `config.window_years` (truncated
    backpropagation: the state entering a window is a constant, the years outside it keep their values
    from the latest pass). Four steps an epoch instead of one fit better at the same cost, and the
    autograd graph holds a window, not all years: less than half the memory of a full-batch step. Adam uses `config.learning_rate` (method.md §9, bug 1).

    With `warm_start` (a state dict of the same architecture), the member is fine-tuned from those
    weights for `config.finetune_epochs` at `config.finetune_learning_rate`. Each epoch is still
    full-batch, so the loss replays every earlier year beside the new ones.

    Training runs on `device` (device_for: 'auto' takes a CUDA device when there is one); the
    member is returned on the CPU, where it is stored and rolled for inference.
    """
    torch.manual_seed(seed)
    np.random.seed(seed)
    where = device_for(device)
    inputs, train = inputs.to(torch.float32, where), train.to(where)
    validation = validation.to(where) if validation is not None else None
    model = new_model(inputs, len(train.sources), config.hidden).to(where)
    epochs, learning_rate = config.epochs, config.learning_rate
    if warm_start is not None:
        model.load_state_dict(warm_start)
        epochs, learning_rate = config.finetune_epochs, config.finetune_learning_rate
    anchored = torch.tensor([s in config.level_sources for s in train.sources], dtype=torch.bool, device=where)
    if anchored.any():
        for reporting in (model.source_bias, model.source_elasticity):
            reporting.register_hook(lambda grad: grad.masked_fill(anchored, 0.0))
    es = EdgeStructure(inputs.edges, inputs.n_countries)
    scales = Scales.of(train, config.yeo_johnson_lambda)
    weights = config.loss_weights()
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    spans = windows(len(inputs.years), train, config.window_years)
    # cosine decay to a tenth of the rate: large steps early, and a member that ends settled rather
    # than wherever the last large step left it (the level of all flows moves with a few shared weights)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * len(spans),
                                                          eta_min=0.1 * learning_rate)
    with torch.no_grad():  # the years outside the window being trained, from the latest pass over them
        flows_now, stocks_now = roll(model, inputs, structure=es)
    history: list[dict] = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        state = RollState.initial(model, inputs.initial_stocks, es.birth.numel())
        total: dict[str, float] = {}
        for a, b in spans:
            f, s, end = roll_years(model, inputs, es, a, b, state)
            flows = torch.cat([flows_now[:a], f, flows_now[b:]])
            stocks = torch.cat([stocks_now[: a + 1], s, stocks_now[b + 1:]])
            pred = predictions(flows, stocks, bilateral(flows, es), net_migration(flows, es), train,
                               inputs.n_countries, model.source_bias, model.source_elasticity)
            terms = loss_terms(pred, train, scales, weights, model.source_bias, anchored, model.source_elasticity)
            loss = sum(terms.values())
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimiser.step()
            schedule.step()
            flows_now[a:b], stocks_now[a + 1: b + 1] = f.detach(), s.detach()
            state = end.detach()
            for k, v in terms.items():  # the loss of the epoch: each window's, weighted by its years
                total[k] = total.get(k, 0.0) + v.item() * (b - a) / len(inputs.years)
        if epoch % config.log_every == 0 or epoch in (1, epochs):
            row = {"epoch": epoch, "loss": sum(total.values()), **{f"loss_{k}": v for k, v in total.items()},
                   "seconds": time.perf_counter() - start}
            if validation is not None and validation.flow_value.numel():
                row["heldout_mae_flow"] = evaluate(model, inputs, validation, es)["mae_flow"]
            history.append(row)
            if progress:
                progress(row)
    return model.cpu(), history


def windows(n_years: int, targets: Targets, length: int) -> list[tuple[int, int]]:
    """Consecutive spans [a, b) of flow years that cover 0..n_years-1, each at least `length` years
    (the last may be shorter), cut only at stock times that no stock-change target spans: a target
    then lies inside one window, whose start stocks are constants and whose end stocks are live."""
    if length <= 0 or length >= n_years:
        return [(0, n_years)]
    spanned = set()
    for a, b in zip(targets.stock_start.tolist(), targets.stock_end.tolist()):
        spanned.update(range(a + 1, b))
    cuts = sorted({int(t) for t in targets.stock_start.tolist() + targets.stock_end.tolist()} - spanned)
    spans, a = [], 0
    for cut in cuts + [n_years]:
        if cut - a >= length or (cut == n_years and cut > a):
            spans.append((a, cut))
            a = cut
        if a >= n_years:
            break
    return spans


def simulate(model: FlowNet, inputs: ModelInputs, n_samples: int, stock_noise: float, seed: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Roll a trained member in float64: one central pass, then `n_samples` passes whose initial
    foreign-born stocks are perturbed by log-normal noise of sigma `stock_noise` (method.md §8).

    Returns flows (1 + n_samples, Y, E) and stocks (1 + n_samples, Y + 1, N, N).
    """
    x = inputs.to(torch.float64)
    net = model.double()
    es = EdgeStructure(x.edges, x.n_countries)
    gen = torch.Generator().manual_seed(seed)
    s0 = x.initial_stocks
    population = s0.sum(0)
    foreign = ~torch.eye(x.n_countries, dtype=torch.bool)
    diagonal = torch.arange(x.n_countries)
    flows, stocks = [], []
    with torch.no_grad():
        for sample in range(1 + n_samples):
            init = s0
            if sample:
                noise = torch.exp(stock_noise * torch.randn(s0.shape, generator=gen, dtype=torch.float64))
                init = torch.where(foreign, s0 * noise, s0)
                # natives absorb the change, so the 1-January population stays as observed
                native = (population - (init * foreign).sum(0)).clamp_min(0)
                init = init.index_put((diagonal, diagonal), native)
            f, s = roll(net, x, initial_stocks=init, structure=es)
            flows.append(f.numpy())
            stocks.append(s.numpy())
    model.float()
    return np.stack(flows), np.stack(stocks)


# Passes kept by simulate_once(keep=True) for a later caller in the same process, by content; the
# oldest go first beyond KEEP_AT_MOST members (a process that validates and never estimates).
_KEPT_PASSES: dict[str, tuple[np.ndarray, np.ndarray]] = {}
KEEP_AT_MOST = 40


def simulate_once(model: FlowNet, inputs: ModelInputs, n_samples: int, stock_noise: float, seed: int,
                  keep: bool) -> tuple[np.ndarray, np.ndarray]:
    """`simulate`, computed once per process for the same weights, inputs and settings.

    The held-out validation and the estimates roll every member with the same seeds: with
    keep=True the passes stay for the next caller; keep=False hands kept passes over (and forgets
    them) or computes them. On the real panel this takes about two minutes off the estimate job
    when its steps share a process (`migration-run`); in separate step processes each computes.
    """
    digest = hashlib.blake2b(digest_size=20)
    tensors = [*model.state_dict().values(),
               *(v for v in (getattr(inputs, f.name) for f in fields(inputs)) if isinstance(v, torch.Tensor))]
    for t in tensors:
        digest.update(t.detach().cpu().contiguous().numpy().tobytes())
    digest.update(repr((inputs.countries, inputs.years, n_samples, stock_noise, seed)).encode())
    key = digest.hexdigest()
    passes = _KEPT_PASSES.get(key) if keep else _KEPT_PASSES.pop(key, None)
    if passes is None:
        passes = simulate(model, inputs, n_samples, stock_noise, seed)
        if keep:
            _KEPT_PASSES[key] = passes
            while len(_KEPT_PASSES) > KEEP_AT_MOST:
                del _KEPT_PASSES[next(iter(_KEPT_PASSES))]
    return passes
