"""The tensors the model trains on, and how they are built from the harmonized panel tables.

Index conventions (method.md §1): N countries, Y flow years; stock time s = 0..Y is 1 January
of years[0] + s. An edge e = (i, j, k) is "people born in i moving from j to k"; flows live as
a vector over edges, never as a dense N³ tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import torch

# Country-year covariates fed to the network, as columns of the panel's country_year table.
COUNTRY_FEATURES = (
    "x_log_population",
    "x_log_gdp_per_capita",
    "x_gdp_growth",
    "x_life_expectancy",
    "x_birth_rate",
    "x_death_rate",
    "x_log_conflict_deaths",
    "x_union_member",
)
# Static dyad covariates, as columns of the panel's dyads table.
DYAD_FEATURES = ("x_log_distance", "x_common_language", "x_religious_similarity", "x_colonial_tie")
# The panel tables build_inputs reads, in the order of its arguments.
PANEL_INPUTS = ("countries", "country_year", "dyads", "refugees", "initial_stocks", "edges", "stocks_january")


@dataclass
class ModelInputs:
    """Everything the recurrence needs besides targets. Built in float64; training casts to float32."""

    countries: list[str]
    years: list[int]  # flow years; stocks run one step further
    population: torch.Tensor  # (Y, N) persons on 1 January
    births: torch.Tensor  # (Y, N) persons during the year
    death_rate: torch.Tensor  # (Y, N) deaths / 1-January population
    country_features: torch.Tensor  # (Y, N, Fc) scaled
    dyad_features: torch.Tensor  # (N, N, Fd) scaled, static
    refugee_features: torch.Tensor  # (Y, N, N) scaled log refugees [origin, asylum] at the start of the year
    initial_stocks: torch.Tensor  # (N, N) [birth, residence] on 1 January of years[0], natives on the diagonal
    edges: torch.Tensor  # (3, E) long: birth, origin, destination
    stock_trend: torch.Tensor  # (Y, N, N) [birth, residence] the UN stock's log growth a year (`stock_trend`)
    # (Y, N, N) [birth, residence] log(1 + the UN stock) the year heads for: the next stock point's, or
    # after the last point the path its growth extrapolates (`stock_next`)
    stock_next: torch.Tensor
    years_to_next: torch.Tensor  # (Y,) years from 1 January of the flow year to stock_next's date

    @property
    def n_countries(self) -> int:
        return len(self.countries)

    @property
    def n_edges(self) -> int:
        return int(self.edges.shape[1])

    def to(self, dtype: torch.dtype, device: torch.device | str | None = None) -> "ModelInputs":
        """Floating-point tensors cast to `dtype`; every tensor moved to `device` when given."""
        def conv(x):
            if not isinstance(x, torch.Tensor):
                return x
            return x.to(device=device, dtype=dtype if x.is_floating_point() else x.dtype)

        return ModelInputs(**{f.name: conv(getattr(self, f.name)) for f in fields(self)})


@dataclass
class Targets:
    """Observed quantities the loss compares against, each with a weight.

    stock_*: change of the [birth, residence] stock between 1 January of stock times `start` and `end`,
    and the stock at `end`.
    net_*: net migration of a country during a flow year.
    flow_*: bilateral flow (summed over birth) during a flow year, reported by `source`; `fold` is the
    corridor's cross-validation fold (members train without their own fold).
    """

    stock_start: torch.Tensor
    stock_end: torch.Tensor
    stock_birth: torch.Tensor
    stock_residence: torch.Tensor
    stock_change: torch.Tensor
    stock_level: torch.Tensor  # the stock itself at `end`
    stock_weight: torch.Tensor
    net_year: torch.Tensor
    net_country: torch.Tensor
    net_value: torch.Tensor
    net_weight: torch.Tensor
    flow_year: torch.Tensor
    flow_origin: torch.Tensor
    flow_destination: torch.Tensor
    flow_value: torch.Tensor
    flow_weight: torch.Tensor
    flow_source: torch.Tensor
    flow_fold: torch.Tensor
    sources: list[str]

    def _flows_where(self, keep: torch.Tensor) -> "Targets":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return Targets(**{k: v[keep] if k.startswith("flow_") else v for k, v in values.items()})

    def to(self, device: torch.device | str) -> "Targets":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return Targets(**{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in values.items()})

    def without_fold(self, fold: int) -> "Targets":
        return self._flows_where(self.flow_fold != fold)

    def only_fold(self, fold: int) -> "Targets":
        return self._flows_where(self.flow_fold == fold)


def _index(codes: pd.Series, lookup: dict[str, int], what: str) -> torch.Tensor:
    unknown = sorted(set(codes) - set(lookup))
    if unknown:
        raise KeyError(f"{what}: codes not in the panel's country list: {unknown[:10]}")
    return torch.as_tensor(codes.map(lookup).to_numpy(np.int64))


def build_inputs(
    countries: pd.DataFrame,
    country_year: pd.DataFrame,
    dyads: pd.DataFrame,
    refugees: pd.DataFrame,
    initial_stocks: pd.DataFrame,
    edges: pd.DataFrame,
    stocks_january: pd.DataFrame,
) -> ModelInputs:
    """Assemble ModelInputs from the panel tables (see panel/ for their contracts)."""
    codes = list(countries.sort_values("idx")["country"])
    lookup = {c: n for n, c in enumerate(codes)}
    n = len(codes)
    years = sorted(int(y) for y in country_year["year"].unique())
    y_of = {y: t for t, y in enumerate(years)}
    cy = country_year.assign(t=country_year["year"].map(y_of), c=country_year["country"].map(lookup))
    if len(cy) != len(years) * n or cy[["t", "c"]].isna().any().any():
        raise ValueError("country_year must hold exactly one row per panel country and year")
    cy = cy.sort_values(["t", "c"])

    def grid(col: str) -> torch.Tensor:
        return torch.as_tensor(cy[col].to_numpy(np.float64).reshape(len(years), n))

    cf = torch.stack([grid(c) for c in COUNTRY_FEATURES], dim=-1)

    dyad = torch.zeros(n, n, len(DYAD_FEATURES), dtype=torch.float64)
    o = _index(dyads["origin"], lookup, "dyads.origin")
    d = _index(dyads["destination"], lookup, "dyads.destination")
    dyad[o, d] = torch.as_tensor(dyads[list(DYAD_FEATURES)].to_numpy(np.float64))

    ref = torch.zeros(len(years), n, n, dtype=torch.float64)
    if len(refugees):
        r = refugees[refugees["year"].isin(y_of)]
        ref[
            torch.as_tensor(r["year"].map(y_of).to_numpy(np.int64)),
            _index(r["origin"], lookup, "refugees.origin"),
            _index(r["asylum"], lookup, "refugees.asylum"),
        ] = torch.as_tensor(r["x_log_refugees"].to_numpy(np.float64))

    s0 = torch.zeros(n, n, dtype=torch.float64)
    s0[
        _index(initial_stocks["birth"], lookup, "initial_stocks.birth"),
        _index(initial_stocks["residence"], lookup, "initial_stocks.residence"),
    ] = torch.as_tensor(initial_stocks["stock"].to_numpy(np.float64))

    e = edges.sort_values("edge")
    edge_index = torch.stack(
        [
            _index(e["birth"], lookup, "edges.birth"),
            _index(e["origin"], lookup, "edges.origin"),
            _index(e["destination"], lookup, "edges.destination"),
        ]
    )
    return ModelInputs(
        countries=codes,
        years=years,
        population=grid("population"),
        births=grid("births"),
        death_rate=grid("death_rate"),
        country_features=cf,
        dyad_features=dyad,
        refugee_features=ref,
        initial_stocks=s0,
        edges=edge_index,
        stock_trend=stock_trend(stocks_january, lookup, years),
        **dict(zip(("stock_next", "years_to_next"), stock_next(stocks_january, lookup, years))),
    )


TREND_LIMIT = 3.0  # log growth a year; a cell growing from 0 to 500,000 persons in five years is at 2.6
# A stock point closer than this many years to the next one is skipped by the trend. In the bundle
# Rev.2019's 2019 stands one year before Rev.2020's 2020: the growth between the two is the revisions'
# disagreement, not a trend (over the cells above 10,000 persons its correlation with the growth of
# 2015-2019 is -0.04, and its spread twice that of 2015-2020).
TREND_MIN_SPAN = 3


def _stock_points(stocks_january: pd.DataFrame, lookup: dict[str, int]):
    """The UN stock points the trend and the aim read: their years (a point less than TREND_MIN_SPAN
    years before the next skipped), the [birth, residence] index of each reported cell, and
    log(1 + stock) per cell and point (NaN where a point does not report the cell)."""
    wide = stocks_january.pivot_table(index=["birth", "residence"], columns="year", values="stock", aggfunc="sum")
    points = [int(y) for y in wide.columns]
    points = [p for p, q in zip(points, points[1:] + [None]) if q is None or q - p >= TREND_MIN_SPAN]
    birth = _index(wide.index.get_level_values("birth").to_series(), lookup, "stocks_january.birth")
    residence = _index(wide.index.get_level_values("residence").to_series(), lookup, "stocks_january.residence")
    return points, birth, residence, np.log1p(wide[points].to_numpy(np.float64).clip(min=0.0))


def _growth(logs: np.ndarray, points: list[int], n: int) -> np.ndarray:
    """Log growth a year over the interval from points[n] to points[n + 1], clipped to ±TREND_LIMIT;
    0 where either point does not report the cell."""
    growth = (logs[:, n + 1] - logs[:, n]) / (points[n + 1] - points[n])
    return np.nan_to_num(growth).clip(-TREND_LIMIT, TREND_LIMIT)


def stock_trend(stocks_january: pd.DataFrame, lookup: dict[str, int], years: list[int]) -> torch.Tensor:
    """(Y, N, N) log growth a year of each reported [birth, residence] stock over the interval between
    UN stock points that holds the flow year,

        g = (log(1 + S_next) − log(1 + S_previous)) / (y_next − y_previous),

    the last interval's after the last point and the first interval's before the first, clipped to
    ±TREND_LIMIT; 0 on the diagonal (natives: stocks_january holds foreign-born cells only) and in
    cells the UN does not report. A point less than
    TREND_MIN_SPAN years before the next is skipped (another revision's off-grid year).

    The stock points are data of every corridor, never held out with the observed flows. Fed to
    the network (network.py), they say between which censuses a diaspora grew or shrank: with
    them the members' stocks follow the UN's changes between points far more closely (fold 0 of
    the real panel: r 0.92 instead of 0.80), and so do the flows that make those changes."""
    out = torch.zeros(len(years), len(lookup), len(lookup), dtype=torch.float64)
    points, birth, residence, logs = _stock_points(stocks_january, lookup)
    for n, (start, end) in enumerate(zip(points[:-1], points[1:])):
        covered = [t for t, y in enumerate(years)
                   if (n == 0 or y >= start) and (n == len(points) - 2 or y < end)]
        if covered:
            rows = torch.as_tensor(covered)[:, None]
            out[rows, birth[None, :], residence[None, :]] = torch.as_tensor(_growth(logs, points, n))[None, :]
    return out


# After the last UN stock point the aim is the path the last interval's growth extrapolates, this
# many years ahead of the flow year (a stock point's usual distance).
AIM_AHEAD = 5


def stock_next(stocks_january: pd.DataFrame, lookup: dict[str, int],
               years: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the UN's stocks say each [birth, residence] cell is heading from each flow year: (Y, N, N)
    log(1 + S) at the next stock point after 1 January of the year, and (Y,) the years to it.

    After the last point (the years since the last revision) the aim is log(1 + S_last) + g·(y + AIM_AHEAD
    − y_last), AIM_AHEAD years ahead, g the last interval's growth (`stock_trend`'s), at least log 1 = 0.
    A cell the UN does not report aims at 0 (the diagonal too; the network masks it). Points are
    those of `stock_trend`.

    The network reads, per stock cell, the log growth a year its own stock needs to reach the aim
    (network.year_step): a controller that steers each member's stocks onto the UN's points instead of
    only along their average growth. On three folds of the real panel it fitted the UN's stock
    changes at r 0.94-0.95 (0.89-0.92 with the trend alone), and the held-out flows of OECD,
    Eurostat and Meta rose on both measures. With the gap falling back to the trend after the last
    point instead of the extrapolated aim, Meta's 2019-2022 cells lost 0.03 of r log1p on fold 0."""
    n = len(lookup)
    aim = torch.zeros(len(years), n, n, dtype=torch.float64)
    to_next = torch.full((len(years),), float(AIM_AHEAD), dtype=torch.float64)
    points, birth, residence, logs = _stock_points(stocks_january, lookup)
    if not points:
        return aim, to_next
    reported = np.nan_to_num(logs)
    last_growth = _growth(logs, points, len(points) - 2) if len(points) > 1 else np.zeros(len(logs))
    for t, y in enumerate(years):
        later = [k for k, p in enumerate(points) if p > y]
        if later:
            value = reported[:, later[0]]
            to_next[t] = points[later[0]] - y
        else:
            value = (reported[:, -1] + last_growth * (y + AIM_AHEAD - points[-1])).clip(min=0.0)
        aim[t, birth, residence] = torch.as_tensor(value)
    return aim, to_next


def build_targets(
    countries: pd.DataFrame,
    years: list[int],
    stock_targets: pd.DataFrame,
    net_migration_targets: pd.DataFrame,
    flow_targets: pd.DataFrame,
) -> Targets:
    """Assemble Targets from the panel's target tables."""
    lookup = {c: int(i) for c, i in zip(countries["country"], countries["idx"])}
    t_of = {y: t for t, y in enumerate(list(years) + [years[-1] + 1])}

    def years_index(col: pd.Series, what: str) -> torch.Tensor:
        bad = sorted(set(col.astype(int)) - set(t_of))
        if bad:
            raise KeyError(f"{what}: years outside the panel: {bad[:10]}")
        return torch.as_tensor(col.astype(int).map(t_of).to_numpy(np.int64))

    def f32(col: pd.Series) -> torch.Tensor:
        return torch.as_tensor(col.to_numpy(np.float32))

    sources = sorted(flow_targets["source"].unique()) if len(flow_targets) else []
    src_of = {s: n for n, s in enumerate(sources)}
    return Targets(
        stock_start=years_index(stock_targets["year_start"], "stock_targets.year_start"),
        stock_end=years_index(stock_targets["year_end"], "stock_targets.year_end"),
        stock_birth=_index(stock_targets["birth"], lookup, "stock_targets.birth"),
        stock_residence=_index(stock_targets["residence"], lookup, "stock_targets.residence"),
        stock_change=f32(stock_targets["stock_change"]),
        stock_level=f32(stock_targets["stock_end"]),
        stock_weight=f32(stock_targets["weight"]),
        net_year=years_index(net_migration_targets["year"], "net_migration_targets.year"),
        net_country=_index(net_migration_targets["country"], lookup, "net_migration_targets.country"),
        net_value=f32(net_migration_targets["net_migration"]),
        net_weight=f32(net_migration_targets["weight"]),
        flow_year=years_index(flow_targets["year"], "flow_targets.year"),
        flow_origin=_index(flow_targets["origin"], lookup, "flow_targets.origin"),
        flow_destination=_index(flow_targets["destination"], lookup, "flow_targets.destination"),
        flow_value=f32(flow_targets["flow"]),
        flow_weight=f32(flow_targets["weight"]),
        flow_source=torch.as_tensor(flow_targets["source"].map(src_of).to_numpy(np.int64)),
        flow_fold=torch.as_tensor(flow_targets["fold"].to_numpy(np.int64)),
        sources=sources,
    )
