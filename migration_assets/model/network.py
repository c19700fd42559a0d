"""The flow network: a GRU cell per edge that turns covariates and current stocks into flows.

For each year t and edge e = (i, j, k) (born in i, moving from j to k):

    a_e   = tanh(W_i c_i + W_j c_j + W_k c_k + D_jk + D_ik + W_e x_e)      # factorised input layer
    h_e   = GRUCell(a_e, h_e)                                             # per-edge latent state
    z_e   = head(h_e) + prior_e                                           # destination logit
    π_e   = exp(z_e) / (1 + Σ_{e' in group(i, j)} exp(z_e'))               # "stay" has logit 0
    T_e   = (1 − d_j) · S_ij · π_e                                        # survivors who move

c are scaled country covariates (each with a learned effect of its country in that role added to
W c, as the origin and destination fixed effects of a gravity model), D static dyad terms, x_e per-edge inputs (refugee stocks,
union pair, native / return flags, stock feedback, last year's arrivals into the group's stock
cell: recent arrivals return and move on far more often than settled migrants; and of the cells the
movers leave and join, the UN stock trend, tensors.stock_trend, and the gap, the log growth a year
the cell's own stock needs to reach where the UN's stocks head, tensors.stock_next). prior_e is a learned migration-rate prior
that makes the untrained network already plausible at every scale (on the real data, without it
the members collapsed to near-uniform destination shares): for natives
α·log((1 + S_ik)/(1 + S_ii)) + β_native, i.e. leaving in proportion to the diaspora (Abel & Cohen's
migration-rate idea), and constants β_return and β_onward for the foreign-born; the network
learns the deviations. Because the movers of a group are a share
(< 1) of its survivors, flows are positive and stocks can never go negative: training and
inference use exactly the same recurrence, with no clipping (method.md §9 bugs 2 and 6).
The input projection is factorised over countries, so its cost is a few gathers per edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .tensors import COUNTRY_FEATURES, TREND_LIMIT, ModelInputs

UNION = COUNTRY_FEATURES.index("x_union_member")
# refugees(i,j), refugees(i,k), union pair(j,k), native, return, stock(i,j), stock(i,k), recent arrivals(i,j),
# UN stock trend of (i,j) and of (i,k), gap to the UN stock of (i,j) and of (i,k)
N_EDGE_INPUTS = 12
STOCK_SCALE = 10.0  # log1p(stock) / STOCK_SCALE keeps the stock feedback of order 1
# Starting values of the learned prior: natives leave at 5 % of their diaspora-to-natives ratio a
# year, towards destinations in proportion to their diaspora; foreign-born return at 3 % and move on
# at 0.2 % per destination a year.
NATIVE_PRIOR = math.log(0.05)
RETURN_PRIOR = math.log(0.03)
ONWARD_PRIOR = math.log(0.002)


class FlowNet(nn.Module):
    def __init__(self, n_countries: int, n_country_features: int, n_dyad_features: int, hidden: int,
                 n_sources: int):
        super().__init__()
        self.hidden = hidden
        self.birth = nn.Linear(n_country_features, hidden, bias=False)
        self.origin = nn.Linear(n_country_features, hidden, bias=False)
        self.destination = nn.Linear(n_country_features, hidden, bias=False)
        # A learned vector per country in each role (country effects, as the fixed effects of a gravity
        # model): what the covariates do not say about a country, learned from all its other corridors,
        # stocks and net migration. Zero at the start, so the untrained network is the covariates' alone.
        self.birth_effect = nn.Parameter(torch.zeros(n_countries, hidden))
        self.origin_effect = nn.Parameter(torch.zeros(n_countries, hidden))
        self.destination_effect = nn.Parameter(torch.zeros(n_countries, hidden))
        self.dyad_od = nn.Linear(n_dyad_features, hidden, bias=False)
        self.dyad_bd = nn.Linear(n_dyad_features, hidden, bias=False)
        self.edge = nn.Linear(N_EDGE_INPUTS, hidden)
        self.cell = nn.GRUCell(hidden, hidden)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))

        # Structured prior of the logits, learned: diaspora elasticity and log base rates of natives,
        # returns and onward moves (see `roll`).
        self.prior = nn.Parameter(torch.tensor([1.0, NATIVE_PRIOR, RETURN_PRIOR, ONWARD_PRIOR]))
        nn.init.zeros_(self.head[-1].bias)
        # Reporting bias of each observed-flow source (log scale) and its size elasticity, learned
        # (loss.predictions).
        self.source_bias = nn.Parameter(torch.zeros(n_sources))
        self.source_elasticity = nn.Parameter(torch.zeros(n_sources))


class EdgeStructure:
    """Precomputed index arrays for an edge list over N countries."""

    def __init__(self, edges: torch.Tensor, n: int):
        self.n = n
        self.birth, self.origin, self.destination = edges[0], edges[1], edges[2]
        self.cell_from = self.birth * n + self.origin  # stock cell the movers leave
        self.cell_to = self.birth * n + self.destination  # stock cell they join
        self.pair = self.origin * n + self.destination  # bilateral corridor
        self.bd = self.birth * n + self.destination
        groups, self.group = torch.unique(self.cell_from, return_inverse=True)
        self.n_groups = int(groups.numel())
        self.native = (self.birth == self.origin).float()
        self.returning = (self.birth == self.destination).float()
        cells = torch.arange(n * n, device=edges.device)
        self.foreign_cell = (cells // n != cells % n).float()  # (N²,) 0 on the natives' diagonal

    def group_share(self, logits: torch.Tensor) -> torch.Tensor:
        """π_e = exp(z_e) / (1 + Σ_group exp(z)), computed stably."""
        top = torch.zeros(self.n_groups, dtype=logits.dtype, device=logits.device)
        top = top.scatter_reduce(0, self.group, logits.detach(), reduce="amax", include_self=True)
        shifted = logits - top[self.group]
        den = torch.exp(-top).index_add(0, self.group, torch.exp(shifted))
        return torch.exp(shifted - torch.log(den).index_select(0, self.group))


@dataclass
class RollState:
    """What the recurrence carries from one year to the next: stocks (N, N) on 1 January, the GRU's
    hidden state per edge, and last year's arrivals into each stock cell."""

    stocks: torch.Tensor
    hidden: torch.Tensor
    arrived: torch.Tensor

    @staticmethod
    def initial(model: FlowNet, stocks: torch.Tensor, n_edges: int) -> "RollState":
        return RollState(stocks, torch.zeros(n_edges, model.hidden, dtype=stocks.dtype, device=stocks.device),
                         torch.zeros(stocks.numel(), dtype=stocks.dtype, device=stocks.device))

    def detach(self) -> "RollState":
        return RollState(self.stocks.detach(), self.hidden.detach(), self.arrived.detach())


def roll(model: FlowNet, inputs: ModelInputs, initial_stocks: torch.Tensor | None = None,
         structure: EdgeStructure | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Roll the recurrence over all years.

    Returns flows (Y, E) and stocks (Y + 1, N, N) in the dtype of `inputs`:
        S[t+1] = diag(B[t]) + (1 − d[t]) S[t] + inflows − outflows   (method.md §5)
    """
    es = structure or EdgeStructure(inputs.edges, inputs.n_countries)
    stocks = inputs.initial_stocks if initial_stocks is None else initial_stocks
    flows, path, _ = roll_years(model, inputs, es, 0, len(inputs.years),
                                RollState.initial(model, stocks, es.birth.numel()))
    return flows, torch.cat([stocks.unsqueeze(0), path])


def roll_years(model: FlowNet, inputs: ModelInputs, es: EdgeStructure, start: int, stop: int,
               state: RollState) -> tuple[torch.Tensor, torch.Tensor, RollState]:
    """Roll flow years start..stop-1 from `state` (1 January of year `start`).

    Returns flows (stop − start, E), stocks (stop − start, N, N) on 1 January of years start+1..stop,
    and the state on 1 January of year `stop`.
    """
    n = inputs.n_countries
    stocks, h, arrived = state.stocks, state.hidden, state.arrived
    dtype = stocks.dtype
    dyad = inputs.dyad_features.to(dtype)
    dyad_od = model.dyad_od(dyad).reshape(n * n, -1)
    dyad_bd = model.dyad_bd(dyad).reshape(n * n, -1)
    static = dyad_od.index_select(0, es.pair) + dyad_bd.index_select(0, es.bd)
    step = step_for(es.birth.numel())
    flows, path = [], []
    for t in range(start, stop):
        moved, stocks, h, arrived = step(
            model, es, static, inputs.country_features[t].to(dtype), inputs.refugee_features[t].to(dtype),
            inputs.death_rate[t].to(dtype), inputs.births[t].to(dtype), inputs.stock_trend[t].to(dtype),
            inputs.stock_next[t].to(dtype), inputs.years_to_next[t].to(dtype), stocks, h, arrived)
        flows.append(moved)
        path.append(stocks)
    return torch.stack(flows), torch.stack(path), RollState(stocks, h, arrived)


def year_step(model: FlowNet, es: EdgeStructure, static: torch.Tensor, cf: torch.Tensor, refugees: torch.Tensor,
              death_rate: torch.Tensor, births: torch.Tensor, trend: torch.Tensor, aim: torch.Tensor,
              years_to_aim: torch.Tensor, stocks: torch.Tensor, h: torch.Tensor,
              arrived: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One flow year: the movers of every edge (E,), the stocks on 1 January of the next year (N, N),
    and the GRU state and arrivals (per stock cell) that the next year reads. `trend`, `aim` and
    `years_to_aim` are the year's rows of the inputs' stock_trend, stock_next and years_to_next."""
    n = es.n
    dtype = stocks.dtype
    ref = refugees.reshape(-1)
    trend = trend.reshape(-1)
    union = cf[:, UNION]
    flat = stocks.reshape(-1)
    feedback = torch.log1p(flat.detach().clamp_min(0)) / STOCK_SCALE
    # the log growth a year that takes each foreign-born cell's own stock to the UN's aim
    gap = ((aim.reshape(-1) - STOCK_SCALE * feedback) / years_to_aim).clamp(-TREND_LIMIT, TREND_LIMIT)
    gap = gap * es.foreign_cell.to(dtype)
    x_edge = torch.stack(
        [
            ref[es.cell_from],
            ref[es.bd],
            union[es.origin] * union[es.destination],
            es.native.to(dtype),
            es.returning.to(dtype),
            feedback[es.cell_from],
            feedback[es.bd],
            torch.log1p(arrived[es.cell_from]) / STOCK_SCALE,
            trend[es.cell_from],
            trend[es.bd],
            gap[es.cell_from],
            gap[es.bd],
        ],
        dim=1,
    )
    a = torch.tanh(
        (model.birth(cf) + model.birth_effect).index_select(0, es.birth)
        + (model.origin(cf) + model.origin_effect).index_select(0, es.origin)
        + (model.destination(cf) + model.destination_effect).index_select(0, es.destination)
        + static + model.edge(x_edge)
    )
    h = model.cell(a, h)
    logits = model.head(h).squeeze(-1)
    p = model.prior
    diaspora = STOCK_SCALE * (feedback[es.bd] - feedback[es.cell_from])  # log (1 + S_ik) − log (1 + S_ij)
    logits = logits + torch.where(es.native.bool(), p[0] * diaspora + p[1],
                                  torch.where(es.returning.bool(), p[2], p[3]))
    share = es.group_share(logits)
    survive = 1.0 - death_rate
    moved = survive[es.origin] * flat.index_select(0, es.cell_from) * share
    nxt = (survive.unsqueeze(0) * stocks).reshape(-1)
    nxt = nxt.index_add(0, es.cell_to, moved).index_add(0, es.cell_from, -moved)
    nxt = nxt.reshape(n, n)
    eye = torch.arange(n, device=stocks.device)
    nxt = nxt.index_put((eye, eye), nxt[eye, eye] + births)
    arrived = torch.zeros(n * n, dtype=dtype, device=moved.device).index_add(0, es.cell_to, moved.detach())
    return moved, nxt, h, arrived


# Rolls over at least this many edges take each year through torch.compile: inductor fuses the
# step's elementwise work over edges into C++ loops. On the real panel (105,146 edges), six epochs of
# training on one thread take 26 s instead of 36 s with 1.8 GB resident instead of 2.6 GB, and a
# member's five float64 inference passes on two threads 15 s instead of 24 s. Compiling costs
# 15-60 s once per process, less where inductor's on-disk cache (/tmp/torchinductor_$USER) holds
# the graphs. Smaller rolls (the synthetic world, the tests) stay eager: there compiling would
# cost more than it saves.
COMPILE_MIN_EDGES = 50_000
_compiled_step = None


def step_for(n_edges: int):
    """year_step, compiled for rolls of at least COMPILE_MIN_EDGES edges when a C++ compiler is
    there (inductor needs one); eager otherwise."""
    global _compiled_step
    if n_edges < COMPILE_MIN_EDGES:
        return year_step
    if _compiled_step is None:
        _compiled_step = torch.compile(year_step, dynamic=False) if _has_cpp_compiler() else year_step
    return _compiled_step


def _has_cpp_compiler() -> bool:
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler
        get_cpp_compiler()
        return True
    except Exception:  # no compiler found, or a torch without this helper: stay eager
        return False


def bilateral(flows: torch.Tensor, structure: EdgeStructure) -> torch.Tensor:
    """Σ over birth: (Y, E) -> (Y, N*N) flows by corridor origin * N + destination."""
    n = structure.n
    out = torch.zeros(flows.shape[0], n * n, dtype=flows.dtype, device=flows.device)
    return out.index_add(1, structure.pair, flows)


def net_migration(flows: torch.Tensor, structure: EdgeStructure) -> torch.Tensor:
    """(Y, E) -> (Y, N) inflows minus outflows."""
    out = torch.zeros(flows.shape[0], structure.n, dtype=flows.dtype, device=flows.device)
    return out.index_add(1, structure.destination, flows).index_add(1, structure.origin, -flows)
