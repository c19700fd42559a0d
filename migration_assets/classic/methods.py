"""The six classic flows-from-stocks methods of Abel & Cohen (2019), ported from the R package migest.

The specification is `../shared/docs/classic-methods.md` (section numbers below refer to it). The normative
version is migest 1.8.1, the one behind the 2019 published files; `version="2.0.5"` gives the current CRAN
line where it differs (global-balance parity step, IPF engine and stopping rules, the stayer model ignoring the
offset). 2.0.5's repair of negative native-born (`nb_non_zero`) is not ported: negative stocks raise instead.

Orientation: a stock table `S[k, j]` = persons born in k (row) living in j (column); a flow table `F[i, j]` =
persons living in i at the start (origin, row) and in j at the end (destination, column), zero diagonal.
Foreign-born tables have a zero diagonal; full tables hold the native-born on it.

Tables are pandas DataFrames (birthplace index, residence columns) or plain arrays in one country order;
vectors are Series indexed by country or arrays. Every method returns a DataFrame indexed by origin with
destination columns.

Integer residuals. migest spreads a rounding residual onto one element chosen with R's `sample()`, which,
given a single candidate c, draws from 1…c (spec §9.1): the published results therefore depend on R's random
state. Here `pick_residual(candidates) -> position` chooses; the default puts the residual on the largest
element (the evident intent). To reproduce a recorded migest run, pass a function replaying its draws, in call
order (rescale_net, then the closed minimisation's global balance, then the independence run's).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from migration_assets.classic.ipf import ipf2, ipf3, ipfp2, scale_columns, scale_rows, sum_like_r

VERSIONS = ("1.8.1", "2.0.5")
MATCHES = ("rescale", "open-dr", "open")
METHODS = ("sd_drop_neg", "sd_rev_neg", "mig_rate", "da_min_open", "da_min_closed", "da_pb_closed")
PSEUDO_BAYES_WEIGHT = 0.87  # Azose & Raftery (2019), the weight of the minimisation table in da_pb_closed

PickResidual = Callable[[np.ndarray], int]


def largest(candidates: np.ndarray) -> int:
    """The default residual position: the first of the largest elements."""
    return int(candidates[0])


# ---------------------------------------------------------------------------------------------------------
# Integer rescaling (spec §2.2, §2.3)

def rescale_integer_sum(values, total, pick_residual: PickResidual = largest) -> np.ndarray:
    """Integers proportional to `values` that sum exactly to `total` (migest `rescale_integer_sum`).

    Rounded shares, with the rounding residual added to one of the largest elements (by magnitude).

    >>> rescale_integer_sum([10, 20, 70], 11)
    array([1., 2., 8.])
    """
    values = np.asarray(values, dtype=float)
    rescaled = np.round(values * (total / values.sum()))
    residual = total - rescaled.sum()
    if residual != 0:
        magnitude = np.abs(values)
        rescaled[pick_residual(np.flatnonzero(magnitude == magnitude.max()))] += residual
    return rescaled


def rescale_net(net, switches: bool = False, integer: bool = True,
                pick_residual: PickResidual = largest) -> np.ndarray:
    """Net migration adjusted to sum to zero (migest `rescale_net`).

    Without `switches` (the paper's choice) signs are kept: positives and negatives are scaled so that each
    side sums to half the total absolute net migration. With `switches` the mean is subtracted. `integer`
    rounds and puts the residual on one of the largest elements (by magnitude).

    >>> rescale_net([-30, 10, 40])
    array([-40.,   8.,  32.])
    """
    net = np.asarray(net, dtype=float)
    if switches:
        rescaled = net - net.mean()
    else:
        positive, negative = net[net > 0].sum(), net[net < 0].sum()
        if (positive == 0) != (negative == 0):
            raise ValueError("net migration is positive everywhere or negative everywhere; it cannot sum to zero "
                             "without switching signs: check its signs, or pass switches=True")
        half_gap = (positive + negative) / 2
        rescaled = net.copy()
        rescaled[net > 0] = net[net > 0] * ((positive - half_gap) / positive)
        rescaled[net < 0] = net[net < 0] * ((negative - half_gap) / negative)
    if not integer:
        return rescaled
    rescaled = np.round(rescaled)
    residual = rescaled.sum()
    if residual != 0:
        magnitude = np.abs(rescaled)
        rescaled[pick_residual(np.flatnonzero(magnitude == magnitude.max()))] -= residual
    return rescaled


# ---------------------------------------------------------------------------------------------------------
# Input checks and labels

def _square(table, name: str) -> tuple[list, np.ndarray]:
    """A stock table's countries and values in row order; its columns must be the same countries."""
    if isinstance(table, pd.DataFrame):
        rows, columns = list(table.index), list(table.columns)
        if set(rows) != set(columns) or len(rows) != len(columns):
            raise ValueError(
                f"{name}: the birthplace rows and residence columns are not the same countries (rows only: "
                f"{sorted(set(rows) - set(columns), key=str)[:10]}, columns only: "
                f"{sorted(set(columns) - set(rows), key=str)[:10]}); give the table one row and one column per country")
        countries, values = rows, table.loc[:, rows].to_numpy(dtype=float)
    else:
        values = np.array(table, dtype=float)
        if values.ndim != 2 or values.shape[0] != values.shape[1]:
            raise ValueError(f"{name}: a stock table must be square (birthplace × residence), got shape {values.shape}")
        countries = list(range(values.shape[0]))
    if not np.isfinite(values).all():
        raise ValueError(f"{name}: {int((~np.isfinite(values)).sum())} cells are missing or infinite; "
                         "fill them (0 where no one is recorded)")
    negative = np.argwhere(values < 0)
    if len(negative):
        k, j = negative[0]
        raise ValueError(f"{name}: {len(negative)} negative cells, e.g. born in {countries[k]} living in "
                         f"{countries[j]} = {values[k, j]:g}; stocks count persons: correct the table "
                         "(a negative native-born diagonal means more foreign-born than population)")
    return countries, values


def _same_countries(countries: list, other: list, name: str) -> None:
    if countries != other and set(countries) != set(other):
        raise ValueError(
            f"{name} covers other countries than stock_start (missing: "
            f"{sorted(set(countries) - set(other), key=str)[:10]}, extra: {sorted(set(other) - set(countries), key=str)[:10]}); "
            "give every input the same country set")


def _stocks(stock_start, stock_end) -> tuple[list, np.ndarray, np.ndarray]:
    countries, start = _square(stock_start, "stock_start")
    end_countries, end = _square(stock_end, "stock_end")
    _same_countries(countries, end_countries, "stock_end")
    if isinstance(stock_end, pd.DataFrame):
        end = stock_end.loc[countries, countries].to_numpy(dtype=float)
    elif end.shape != start.shape:
        raise ValueError(f"stock_end has shape {end.shape} but stock_start {start.shape}; give both the same countries")
    return countries, start, end


def _vector(values, countries: list, name: str, non_negative: bool = True) -> np.ndarray:
    """A per-country vector in the order of `countries`."""
    if isinstance(values, pd.Series):
        _same_countries(countries, list(values.index), name)
        values = values.loc[countries]
    array = np.asarray(values, dtype=float)
    if array.shape != (len(countries),):
        raise ValueError(f"{name} has {array.size} values for {len(countries)} countries; give one per country")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: missing values for {[c for c, v in zip(countries, array) if not np.isfinite(v)][:10]}; fill them")
    if non_negative and (array < 0).any():
        raise ValueError(f"{name}: negative values for {[c for c, v in zip(countries, array) if v < 0][:10]}; "
                         f"{name} counts persons: correct it")
    return array


def _populated(countries: list, table: np.ndarray, name: str) -> None:
    empty = [c for c, total in zip(countries, table.sum(axis=0)) if total <= 0]
    if empty:
        raise ValueError(f"{name}: zero population in {empty[:10]} (residence column sums to 0); "
                         "drop these countries from every input, or supply their population and native-born")


def _flow_table(flows: np.ndarray, countries: list) -> pd.DataFrame:
    return pd.DataFrame(flows, index=pd.Index(countries, name="orig"), columns=pd.Index(countries, name="dest"))


# ---------------------------------------------------------------------------------------------------------
# Stock differencing and migration rates (spec §1, §3)

def stock_differencing(stock_start, stock_end, decrease: str = "drop") -> pd.DataFrame:
    """Flows from the change in foreign-born stocks (migest `ffs_diff`).

    An increase of persons born in i living in j is a flow i → j. `decrease="drop"` ignores falls
    (Bertoli & Fernández-Huertas Moraga; `sd_drop_neg`); `"return"` reads a fall of persons born in j living
    in i as a return flow i → j (Beine & Parsons; `sd_rev_neg`). Diagonals are ignored.
    """
    if decrease not in ("drop", "return"):
        raise ValueError(f"decrease must be 'drop' or 'return', got {decrease!r}")
    countries, start, end = _stocks(stock_start, stock_end)
    change = end - start
    np.fill_diagonal(change, 0.0)
    flows = np.maximum(change, 0.0)
    if decrease == "return":
        flows += np.maximum(-change, 0.0).T
    return _flow_table(flows, countries)


def migration_rates(stock_start, total_flows: float) -> pd.DataFrame:
    """`total_flows` spread over corridors in proportion to the start foreign-born stocks (Dennett; migest
    `ffs_rates(method = "dennett")`). Abel & Cohen use `total_flows = Σ|rescale_net(net)|` and round the result."""
    countries, start = _square(stock_start, "stock_start")
    np.fill_diagonal(start, 0.0)
    return _flow_table(total_flows * (start / start.sum()), countries)


def rogers_von_rabenau(stock_start, stock_end) -> pd.DataFrame:
    """Rogers & von Rabenau rates (migest `ffs_rates(method = "rogers-von-rabenau")`): the transition
    matrix G with `stock_start @ G = stock_end`, times each origin's start residents; can be negative."""
    countries, start, end = _stocks(stock_start, stock_end)
    flows = np.linalg.solve(start, end) * start.sum(axis=0)[:, None]
    np.fill_diagonal(flows, 0.0)
    return _flow_table(flows, countries)


# ---------------------------------------------------------------------------------------------------------
# Demographic accounting (spec §4, §5)

def balance_native_born(stock_start: np.ndarray, stock_end: np.ndarray, births, deaths,
                        pick_residual: PickResidual = largest, version: str = "1.8.1") -> tuple[np.ndarray, np.ndarray]:
    """Native-born diagonals shifted so that total stock change equals births minus deaths (migest
    `rescale_nb` / `nb_scale_global`, spec §5.2); only the diagonals change. An odd gap first adds one end
    native-born (1.8.1); 2.0.5 effectively skips that step and may leave half-persons."""
    start, end = np.array(stock_start, dtype=float), np.array(stock_end, dtype=float)
    natural_change = np.sum(births) - np.sum(deaths)
    diagonal = np.diag_indices_from(start)
    gap = natural_change - (end.sum() - start.sum())
    parity = gap % 2
    if (parity != 0) if version == "1.8.1" else (0 < parity <= 0.5):
        end[diagonal] = rescale_integer_sum(end[diagonal], np.trace(end) + 1, pick_residual)
        gap = natural_change - (end.sum() - start.sum())
    if gap != 0:
        start[diagonal] = rescale_integer_sum(start[diagonal], np.trace(start) - gap / 2, pick_residual)
        end[diagonal] = rescale_integer_sum(end[diagonal], np.trace(end) + gap / 2, pick_residual)
    return start, end


def births_matrix(stock_end: np.ndarray, births) -> np.ndarray:
    """Births by birthplace (rows) and residence (columns): native-born, except where a residence had more
    births than end native-born; there they are spread over birthplaces like its end stock (migest
    `birth_mat`, native, non-negative)."""
    births = np.asarray(births, dtype=float)
    matrix = np.diag(births)
    too_many = np.diag(stock_end) < births
    matrix[:, too_many] = scale_columns(stock_end, births)[:, too_many]
    return matrix


def deaths_matrix(stock_start: np.ndarray, deaths) -> np.ndarray:
    """Deaths of each residence spread over birthplaces like its start stock (migest `death_mat`, proportion)."""
    return scale_columns(stock_start, deaths)


@dataclass(frozen=True)
class Account:
    """The stages of a demographic account (spec §5), birthplace rows × residence columns, and its flows."""

    balanced_start: np.ndarray  # 5.2: stocks after the global balance (unchanged for the open methods)
    balanced_end: np.ndarray
    births: np.ndarray  # 5.3
    deaths: np.ndarray  # 5.4
    matched_start: np.ndarray  # 5.6: survivors at the start, birthplace totals matched to the end
    matched_end: np.ndarray  # 5.6: the end stock less births, birthplace totals matched to the start
    emigration: np.ndarray  # 5.6 open methods: leavers out of the system (zero when closed)
    immigration: np.ndarray  # 5.6 open methods: arrivals from outside the system (zero when closed)
    by_birthplace: np.ndarray  # 5.7: mu[origin, destination, birthplace], stayers on the diagonal

    @property
    def flows(self) -> np.ndarray:
        """Origin × destination flows, summed over birthplaces, zero diagonal (5.8)."""
        flows = sum_like_r(self.by_birthplace, 2)
        np.fill_diagonal(flows, 0.0)
        return flows


def match_birthplace_totals(survivors_start: np.ndarray, survivors_end: np.ndarray, match: str = "rescale",
                            version: str = "1.8.1") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Make each birthplace's total the same at the start and the end (migest `match_pob_tot`, spec §5.6).

    `"rescale"` (closed): both tables are fitted by IPF to the mean of the two birthplace totals, keeping their
    residence totals. `"open-dr"` (open): a birthplace's surplus at the start leaves the system shaped like the
    start stock, a surplus at the end arrives shaped like the end stock. `"open"`: the same with the two shapes
    swapped (cells may turn negative). Returns start, end, emigration, immigration.
    """
    surplus = survivors_start.sum(axis=1) - survivors_end.sum(axis=1)
    no_flows = np.zeros_like(survivors_start)
    if match == "rescale":
        fit = partial(ipf2, tol=0.1, max_iterations=100_000) if version == "1.8.1" else ipfp2
        start = fit(survivors_start, survivors_start.sum(axis=1) - surplus / 2, survivors_start.sum(axis=0)).table
        end = fit(survivors_end, survivors_end.sum(axis=1) + surplus / 2, survivors_end.sum(axis=0)).table
        return start, end, no_flows, no_flows
    if match not in MATCHES:
        raise ValueError(f"match must be one of {MATCHES}, got {match!r}")
    leaving_shape, arriving_shape = ((survivors_start, survivors_end) if match == "open-dr"
                                     else (survivors_end, survivors_start))
    emigration = scale_rows(leaving_shape, np.maximum(surplus, 0.0))
    immigration = scale_rows(arriving_shape, np.maximum(-surplus, 0.0))
    return survivors_start - emigration, survivors_end - immigration, emigration, immigration


def account(stock_start: np.ndarray, stock_end: np.ndarray, births, deaths, stayers: bool = True,
            match: str = "rescale", offset: np.ndarray | None = None, version: str = "1.8.1",
            pick_residual: PickResidual = largest) -> Account:
    """Demographic accounting on full stock tables in one country order (migest `ffs_demo`, spec §5).

    No input checks: `demographic_accounting` checks and labels. `stayers=True` is the minimisation
    assumption (most persons stay), `False` independence; `offset` (n×n or n×n×n) is the log-linear prior of
    the 3-way IPF (default 1; 2.0.5 ignores it in the stayer model).
    """
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, got {version!r}")
    start, end = np.asarray(stock_start, float), np.asarray(stock_end, float)
    if match == "rescale":
        start, end = balance_native_born(start, end, births, deaths, pick_residual, version)
    born, died = births_matrix(end, births), deaths_matrix(start, deaths)
    matched_start, matched_end, emigration, immigration = match_birthplace_totals(start - died, end - born,
                                                                                  match, version)
    tol = 1e-5 if version == "1.8.1" else 1e-3
    iterations = 500 if version == "1.8.1" else 100_000
    fit = ipf3(matched_start.T, matched_end.T, offset, stayers, tol, iterations, version)
    return Account(start, end, born, died, matched_start, matched_end, emigration, immigration, fit.table)


def demographic_accounting(stock_start, stock_end, births, deaths, stayers: bool = True, match: str = "rescale",
                           offset=None, version: str = "1.8.1",
                           pick_residual: PickResidual = largest) -> pd.DataFrame:
    """Unrounded flows by demographic accounting (migest `ffs_demo`) from full stock tables.

    `stock_start`, `stock_end`: persons by birthplace (rows) and residence (columns) with the native-born on the
    diagonal; `births`, `deaths`: per residence over the period; `offset`: prior weights of the flows (spec
    §5.7), an array in stock_start's country order. Abel & Cohen's `da_min_open` is
    `stayers=True, match="open-dr"`, `da_min_closed` is `stayers=True, match="rescale"`, and the independence
    table inside `da_pb_closed` is `stayers=False, match="rescale"`.
    """
    countries, start, end = _stocks(stock_start, stock_end)
    _populated(countries, start, "stock_start")
    _populated(countries, end, "stock_end")
    born = _vector(births, countries, "births")
    died = _vector(deaths, countries, "deaths")
    if offset is not None:
        offset = np.asarray(offset, dtype=float)
        n = len(countries)
        if offset.shape not in ((n, n), (n, n, n)) or not (offset >= 0).all():
            raise ValueError(f"offset: shape {offset.shape} or negative values; give non-negative origin × "
                             f"destination ({n}×{n}) or origin × destination × birthplace weights in stock_start's order")
    result = account(start, end, born, died, stayers, match, offset, version, pick_residual)
    return _flow_table(result.flows, countries)


def pseudo_bayesian(minimisation, independence, weight: float = PSEUDO_BAYES_WEIGHT):
    """`weight · minimisation + (1 − weight) · independence`, rounded (Azose & Raftery 2019; `da_pb_closed`).
    Abel & Cohen pass the rounded minimisation table and the unrounded independence table."""
    return np.round(weight * minimisation + (1 - weight) * independence)


# ---------------------------------------------------------------------------------------------------------
# The six published columns (spec §6)

def abel_cohen_2019(stock_start, stock_end, population_start, population_end, births, deaths, net_migration,
                    version: str = "1.8.1", pick_residual: PickResidual = largest) -> dict[str, pd.DataFrame]:
    """The six methods of Abel & Cohen (2019) for one five-year period, as their driver script runs them.

    `stock_start`, `stock_end`: foreign-born stocks (diagonal ignored); `population_*`, `births`, `deaths`,
    `net_migration`: per country for the period, in persons. Native-born = population − foreign-born from the
    countries given. Returns rounded flow tables keyed by `METHODS`.

    >>> stocks = pd.DataFrame([[0, 10], [20, 0]], index=["A", "B"], columns=["A", "B"])
    >>> per_country = lambda a, b: pd.Series([a, b], index=["A", "B"])
    >>> flows = abel_cohen_2019(stocks, stocks * 2, per_country(100, 50), per_country(110, 70),
    ...                         births=per_country(5, 4), deaths=per_country(3, 2), net_migration=per_country(-8, 18))
    >>> flows["sd_drop_neg"].to_numpy()  # born in A living in B: 10 → 20, so 10 moved A → B
    array([[ 0, 10],
           [20,  0]])
    """
    countries, start, end = _stocks(stock_start, stock_end)
    diagonal = np.diag_indices_from(start)
    start[diagonal] = end[diagonal] = 0.0
    full = []
    for name, population, foreign in [("population_start", population_start, start),
                                      ("population_end", population_end, end)]:
        population = _vector(population, countries, name)
        native = population - foreign.sum(axis=0)
        if (population <= 0).any() or (native < 0).any():
            bad = [c for c, p, n in zip(countries, population, native) if p <= 0 or n < 0]
            raise ValueError(f"{name}: {bad[:10]} have zero population or fewer persons than foreign-born in "
                             "the stock table; fix the population (or the stocks), or drop these countries")
        table = foreign.copy()
        table[diagonal] = native
        full.append(table)
    born, died = _vector(births, countries, "births"), _vector(deaths, countries, "deaths")
    net = _vector(net_migration, countries, "net_migration", non_negative=False)

    total_flows = np.abs(rescale_net(net, pick_residual=pick_residual)).sum()
    flows = {
        "sd_drop_neg": stock_differencing(start, end, "drop").to_numpy(),
        "sd_rev_neg": stock_differencing(start, end, "return").to_numpy(),
        "mig_rate": np.round(migration_rates(start, total_flows).to_numpy()),
    }

    def flows_of(stayers: bool, match: str) -> np.ndarray:
        return account(*full, born, died, stayers, match, None, version, pick_residual).flows

    flows["da_min_open"] = np.round(flows_of(True, "open-dr"))
    flows["da_min_closed"] = np.round(flows_of(True, "rescale"))
    flows["da_pb_closed"] = pseudo_bayesian(flows["da_min_closed"], flows_of(False, "rescale"))
    return {method: _flow_table(flows[method].astype(np.int64), countries) for method in METHODS}
