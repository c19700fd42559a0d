"""A seeded synthetic world with known migration truth.

The generator builds a small world of countries (default 30, years 1990-2023) whose bilateral
stocks by country of birth evolve by an exact demographic recurrence, and derives from it the
*observed* tables the estimation path reads (`schemas.RAW`) and the *truth* tables benchmarks
score against (`schemas.TRUTH`). Only numpy (and pandas for the output frames) is used; all
randomness comes from `np.random.default_rng(config.seed)` and generators spawned from it, so
equal configs give identical worlds. The truth streams are spawned separately from the
observation streams, so the noise settings of a config never change the truth.

Notation: t = year index (0 = start_year), i = country of birth, j = origin (residence on
1 January), k = destination. S[t, i, k] are stocks on 1 January of start_year + t (natives on the
diagonal), T[t, i, j, k] flows during year t, B births, d the crude death rate.

Demographic recurrence (closes exactly on the truth arrays)
-----------------------------------------------------------
    S[t+1, i, k] = delta_ik B[t, k] + (1 - d[t, k]) S[t, i, k] + sum_j T[t, i, j, k] - sum_l T[t, i, k, l]
    T[t, i, j, k] = (1 - d[t, j]) S[t, i, j] pi[t, i, j, k],   pi[t, i, j, j] = 0,  sum_k pi < 1
    P[t, k] = sum_i S[t, i, k],  B = cbr P,  deaths D = d P   (d includes conflict deaths / P)

Movers are drawn from survivors, so no stock can become negative.

Flow law: pi[t, i, j, k] = r[t, i, j] * p[t, i, j, k]
-----------------------------------------------------
poverty index  f_k = clip((log 60000 - log gdp_pc_k) / (log 60000 - log 500), 0, 1)  (0 rich, 1 poor)

Leave rate r (per year):
- natives (i = j):  r = (0.0008 + 0.0036 f_j) * exp(-4 (growth_j - trend_j)), clipped to [0.0005, 0.02]
  (about 0.1 % for the richest, 0.45 % for the poorest; more in bad years; the bad-year factor is 1 in the burn-in),
  plus in conflict years a refugee surge r_ref = 0.002 + 0.06 (1 - exp(-(conflict_deaths/P) / 2e-3));
- foreign-born (i != j): r = 0.04 + 0.03 (1 - f_i) + 0.01 f_j   (4-8 %; about half of them return home),
  plus 0.5 r_ref of the residence country in conflict years.

Destination choice p = softmax over k != j of
    u[t, i, j, k] = 1.0 log gdp_pc_k - 1.0 log distance_jk + 1.5 common_language(i, k)
                    + 1.0 religious_similarity(i, k) + 1.0 colonial_tie(i, k)
                    + 1.5 [j and k union members in t] + 0.35 log1p(S[t, i, k]) [k != i]  (diaspora)
                    + 7.5 [k = i] (return home) + 0.5 log P_k - 2.0 [k in conflict in t]
                    + eps[t, j, k]
with a corridor effect eps following an AR(1) over years: eps[t+1] = 0.8 eps[t] + 0.5 sqrt(1 - 0.8^2) z
(stationary standard deviation 0.5). The refugee surge of natives of a country in conflict uses a
separate choice with a stronger distance penalty and weaker pull of income:
    u_ref = u - 1.5 log distance_jk - 0.7 log gdp_pc_k   (i.e. distance coefficient 2.5, income 0.3).

Refugees: a true refugee stock R[t, origin, asylum] (1 January) gains the refugee-surge flows,
loses 10 % a year (returns, status changes) and its deaths, and never exceeds S[t, origin, asylum].

With the default config this gives a world foreign-born share of about 3.7 % on 1 January 1990
(2.5-5 % over seeds), rising to about 4.2 % by 2024, and about 0.45 % of the world population
moving each year (roughly half natives leaving, half foreign-born returning or moving on).

Burn-in: the world starts from natives only (populations back-projected by their natural growth)
and runs 60 years of the same law with start-year covariates held fixed and no conflicts, so
foreign-born stocks on 1 January start_year are in quasi-equilibrium; nothing is rescaled.

Covariates
----------
- 5 regions with centres; countries scattered around them; great-circle distances clipped to
  [100, 15000] km.
- 1 January start_year population about log-normal, median 10 M, clipped to 0.3-300 M.
- GDP per capita (2015 USD) log-normal by region, clipped to 500-60000 at the start; growth =
  trend (0-4 %, poorer faster) + AR(1) shock (0.5, sd 1.5 %) + recessions (4 %/yr, -3..-8 %)
  - conflict losses (-2..-8 %). gdp_growth (percent) is exactly the change from the previous year.
- crude birth rate 9-40 per mille falling with income and slowly over time; base death rate 6-14
  per mille; life expectancy 50-84 rising with income and time, lower in conflict.
- conflicts: Poisson starts (rate 0.3-6.3 %/yr, higher for poorer countries), 1-6 years,
  100-80000 deaths a year (at most 0.5 % of the population).
- 8 languages (5 regional, 3 colonial), secondary languages give common_language 0.3-0.6;
  religion shares over 4 religions (region-clustered Dirichlet); 3 colonial powers with a few
  colonies each; a free-movement union founded by the richer countries of the richest region,
  joined by up to 4 neighbours in distinct years (1995, 2004, 2007, 2013 scaled to the range).

Observation model: see `_observe`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from migration_assets import schemas

# ---------------------------------------------------------------- coefficients of the law
BURN_IN_YEARS = 60
COEF = {
    "a_gdp": 1.0,
    "b_distance": 1.0,
    "c_language": 1.5,
    "e_religion": 1.0,
    "f_colonial": 1.0,
    "g_union": 1.5,
    "h_diaspora": 0.35,
    "q_return": 7.5,
    "s_population": 0.5,
    "conflict_penalty": 2.0,
    "eps_rho": 0.8,
    "eps_sd": 0.5,
    "refugee_b_distance": 2.5,
    "refugee_a_gdp": 0.3,
}
NATIVE_LEAVE = (0.0008, 0.0036)  # base, poverty slope
FOREIGN_LEAVE = (0.04, 0.03, 0.01)  # base, rich-birth slope, poor-residence slope
REFUGEE_SURGE = (0.002, 0.06, 2e-3)  # base, max, conflict deaths per capita scale
REFUGEE_EXIT = 0.10

GDP_LO, GDP_HI = 500.0, 60000.0
N_REGIONS = 5
# region centres (lat, lon), mean log GDP per capita, dominant religion
_REGION_CENTRE = np.array([[50.0, 10.0], [42.0, -95.0], [5.0, 20.0], [25.0, 95.0], [-15.0, -60.0]])
_REGION_LOGGDP = np.log(np.array([28000.0, 32000.0, 1400.0, 4500.0, 6000.0]))
_REGION_RELIGION = np.array([0, 0, 1, 2, 3])
N_LANGUAGES_REGIONAL = N_REGIONS
N_COLONIAL = 3
N_RELIGIONS = 4
_ACCESSIONS = (1995, 2004, 2007, 2013)
OBSERVED_SOURCES = {"register": 1.0, "permits": 0.85}
# A Facebook-like measurement of every corridor (Meta's: pairs >= 50 a year, last years only) and
# emigration statistics that undercount, as deregistration-based emigration does (UN IMFSC)
META_SOURCE, META_BIAS, META_MIN, META_YEARS, META_ABSENT = "meta_facebook", 1.0, 50.0, (2019, 2022), 0.25
EMIGRATION_SOURCE, EMIGRATION_BIAS, EMIGRATION_LAST_YEARS_BEFORE_END = "imfsc_residence_emigrants", 0.6, 10


@dataclass(frozen=True)
class WorldConfig:
    n_countries: int = 30
    start_year: int = 1990
    end_year: int = 2023  # last flow year; stocks exist on 1 Jan start_year .. end_year+1
    seed: int = 0
    stock_years_step: int = 5  # UN stocks observed mid-year at start_year, start_year+5, ... <= end_year
    stock_noise: float = 0.10  # multiplicative log-normal sigma of observed stocks
    stock_missing: float = 0.05  # share of observable stock cells reported missing
    net_migration_noise: float = 0.10
    flow_noise: float = 0.15  # log-normal sigma of observed flows
    observed_destinations: float = 0.3  # share of countries (the richest) whose inflows are reported


@dataclass(eq=False)
class SyntheticWorld:
    config: WorldConfig
    countries: list[str]
    years: list[int]
    flows: np.ndarray = field(repr=False)  # T[t, birth, origin, destination], (Y, N, N, N)
    stocks: np.ndarray = field(repr=False)  # S[t, birth, residence], (Y+1, N, N), 1 January
    births: np.ndarray = field(repr=False)  # B[t, k], (Y, N)
    death_rate: np.ndarray = field(repr=False)  # d[t, k], (Y, N)
    refugee_stocks: np.ndarray = field(default=None, repr=False)  # R[t, origin, asylum], (Y+1, N, N)
    _raw: dict = field(default_factory=dict, repr=False)
    _truth: dict = field(default_factory=dict, repr=False)

    def raw(self, name: str) -> pd.DataFrame:
        """An observed table (a name in `schemas.RAW`), as a fresh copy."""
        if name not in self._raw:
            raise KeyError(f"unknown raw table {name!r}; expected one of {sorted(schemas.RAW)}")
        return self._raw[name].copy()

    def truth(self, name: str) -> pd.DataFrame:
        """A truth table (a name in `schemas.TRUTH`), built on first use, as a fresh copy."""
        if name not in schemas.TRUTH:
            raise KeyError(f"unknown truth table {name!r}; expected one of {sorted(schemas.TRUTH)}")
        if name not in self._truth:
            self._truth[name] = self._build_truth(name)
        return self._truth[name].copy()

    # ------------------------------------------------------------------ truth tables
    def _build_truth(self, name: str) -> pd.DataFrame:
        codes = np.array(self.countries, dtype=object)
        years = np.array(self.years, dtype=np.int64)
        table = schemas.TRUTH[name]
        if name == "flows_by_birth":
            t, i, j, k = np.nonzero(self.flows > 0)
            frame = {
                "year": years[t],
                "birth": codes[i],
                "origin": codes[j],
                "destination": codes[k],
                "flow": self.flows[t, i, j, k],
            }
        elif name == "flows":
            agg = self.flows.sum(axis=1)
            t, j, k = np.nonzero(agg > 0)
            frame = {"year": years[t], "origin": codes[j], "destination": codes[k], "flow": agg[t, j, k]}
        elif name == "stocks":
            stock_years = np.arange(self.config.start_year, self.config.end_year + 2, dtype=np.int64)
            t, i, k = np.nonzero(self.stocks > 0)
            frame = {"year": stock_years[t], "birth": codes[i], "residence": codes[k], "stock": self.stocks[t, i, k]}
        else:  # net_migration
            net = _net_migration(self.flows)
            t, k = np.indices(net.shape)
            frame = {"year": years[t.ravel()], "country": codes[k.ravel()], "net_migration": net.ravel()}
        return table.conform(pd.DataFrame(frame))


def _net_migration(flows: np.ndarray) -> np.ndarray:
    """Inflows minus outflows per year and country, (Y, N)."""
    return flows.sum(axis=(1, 2)) - flows.sum(axis=(1, 3))


def country_codes(n: int) -> list[str]:
    """'QMA', 'QMB', ... (ISO 3166 user-assigned range), sorted."""
    first = 12 * 26  # 'MA'
    if n < 1 or first + n > 26 * 26:
        raise ValueError(f"n_countries must be in 1..{26 * 26 - first}, got {n}")
    return ["Q" + chr(65 + (first + m) // 26) + chr(65 + (first + m) % 26) for m in range(n)]


def _great_circle_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    dlat = la[:, None] - la[None, :]
    dlon = lo[:, None] - lo[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(la[:, None]) * np.cos(la[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _poverty(gdp: np.ndarray) -> np.ndarray:
    return np.clip((np.log(GDP_HI) - np.log(gdp)) / (np.log(GDP_HI) - np.log(GDP_LO)), 0.0, 1.0)


# ---------------------------------------------------------------------- generator
def generate_world(config: WorldConfig = WorldConfig()) -> SyntheticWorld:
    """Generate the synthetic world of `config` (deterministic in the config)."""
    if config.end_year < config.start_year:
        raise ValueError("end_year must not be before start_year")
    if config.stock_years_step < 1:
        raise ValueError("stock_years_step must be >= 1")
    n = config.n_countries
    if n < 2:
        raise ValueError("n_countries must be at least 2")
    n_years = config.end_year - config.start_year + 1
    countries = country_codes(n)
    years = list(range(config.start_year, config.end_year + 1))

    root = np.random.default_rng(config.seed)
    (r_geo, r_pop, r_econ, r_conf, r_cult, r_union, r_eps, r_obs) = root.spawn(8)

    # --- geography
    region = r_geo.permutation(np.arange(n) % N_REGIONS)
    lat = np.clip(_REGION_CENTRE[region, 0] + r_geo.normal(0.0, 8.0, n), -60.0, 70.0)
    lon = _REGION_CENTRE[region, 1] + r_geo.normal(0.0, 14.0, n)
    distance = np.clip(_great_circle_km(lat, lon), 100.0, 15000.0)
    np.fill_diagonal(distance, 0.0)
    log_dist = np.log(np.where(distance > 0, distance, 1.0))

    # --- population target on 1 January start_year
    pop_target = np.clip(np.exp(np.log(1e7) + r_pop.normal(0.0, 1.2, n)), 3e5, 3e8)

    # --- GDP per capita, conflicts, vital rates
    gdp0 = np.clip(np.exp(_REGION_LOGGDP[region] + r_econ.normal(0.0, 0.7, n)), GDP_LO, GDP_HI)
    pov0 = _poverty(gdp0)
    conflict_deaths = _conflicts(r_conf, pov0, pop_target, n_years)
    in_conflict = conflict_deaths > 0
    gdp, growth, trend = _gdp_path(r_econ, gdp0, in_conflict)
    pov = _poverty(gdp)  # (Y, N)
    tt = np.arange(n_years)[:, None]
    cbr_noise = np.exp(r_econ.normal(0.0, 0.08, n))
    cbr = np.clip((0.009 + 0.031 * pov**1.3) * cbr_noise * np.exp(-0.006 * tt), 0.007, 0.045)
    dr_noise = r_econ.normal(0.0, 0.0012, n)
    base_death = np.clip(0.0065 + 0.0065 * pov * np.exp(-0.008 * tt) + dr_noise, 0.006, 0.014)
    le_noise = r_econ.normal(0.0, 1.5, n)
    life_exp = 50.0 + 30.0 * (1.0 - pov) ** 1.2 + 0.15 * tt + le_noise

    # --- culture: languages, religion, colonial ties
    common_language, religious_similarity, colonial_tie = _culture(r_cult, region, gdp0)

    # --- free-movement union
    union = _union(r_union, region, gdp0, distance, config)  # (Y, N) 0/1

    # --- simulate
    sim = _simulate(
        r_eps=r_eps,
        n_years=n_years,
        pop_target=pop_target,
        gdp=gdp,
        pov=pov,
        growth=growth,
        trend=trend,
        cbr=cbr,
        base_death=base_death,
        conflict_deaths=conflict_deaths,
        log_dist=log_dist,
        common_language=common_language,
        religious_similarity=religious_similarity,
        colonial_tie=colonial_tie,
        union=union,
    )
    flows, stocks, births, death_rate, refugees = sim
    population = stocks[:-1].sum(axis=1)
    life_exp = np.clip(life_exp - np.minimum(10.0, 1000.0 * conflict_deaths / population), 50.0, 84.0)

    world = SyntheticWorld(
        config=config,
        countries=countries,
        years=years,
        flows=flows,
        stocks=stocks,
        births=births,
        death_rate=death_rate,
        refugee_stocks=refugees,
    )
    world._raw = _observe(
        r_obs,
        config,
        countries,
        flows=flows,
        stocks=stocks,
        births=births,
        death_rate=death_rate,
        refugees=refugees,
        life_exp=life_exp,
        gdp=gdp,
        growth=growth,
        union=union,
        conflict_deaths=conflict_deaths,
        distance=distance,
        common_language=common_language,
        religious_similarity=religious_similarity,
        colonial_tie=colonial_tie,
        region=region,
    )
    return world


def _conflicts(rng: np.random.Generator, pov0: np.ndarray, pop: np.ndarray, n_years: int) -> np.ndarray:
    """Conflict deaths (Y, N): Poisson episode starts, 1-6 years each, zero outside episodes."""
    n = pov0.size
    rate = 0.003 + 0.06 * pov0**2
    p_start = 1.0 - np.exp(-rate)
    u_start = rng.random((n_years, n))
    durations = rng.integers(1, 7, (n_years, n))
    intensity = np.exp(rng.uniform(np.log(300.0), np.log(30000.0), (n_years, n)))
    yearly = np.exp(rng.normal(0.0, 0.5, (n_years, n)))
    out = np.zeros((n_years, n))
    for k in range(n):
        t = 0
        while t < n_years:
            if u_start[t, k] < p_start[k]:
                end = min(n_years, t + int(durations[t, k]))
                level = intensity[t, k]
                out[t:end, k] = level * yearly[t:end, k]
                t = end + 1  # at least one peaceful year between episodes
            else:
                t += 1
    cap = np.minimum(80000.0, 0.005 * pop)[None, :]
    return np.where(out > 0, np.clip(out, 100.0, cap), 0.0)


def _gdp_path(rng: np.random.Generator, gdp0: np.ndarray, in_conflict: np.ndarray):
    """GDP per capita (Y, N), growth as a fraction (Y, N) and country trend (N)."""
    n_years, n = in_conflict.shape
    trend = np.clip(0.02 - 0.006 * (np.log(gdp0) - np.log(5000.0)) + rng.normal(0.0, 0.008, n), 0.0, 0.04)
    innov = rng.normal(0.0, 0.015, (n_years, n))
    recession = rng.random((n_years, n)) < 0.04
    rec_size = rng.uniform(0.03, 0.08, (n_years, n))
    war_loss = rng.uniform(0.02, 0.08, (n_years, n))
    shock = np.zeros(n)
    growth = np.zeros((n_years, n))
    for t in range(n_years):
        shock = 0.5 * shock + innov[t]
        growth[t] = trend + shock - recession[t] * rec_size[t] - in_conflict[t] * war_loss[t]
    growth = np.maximum(growth, -0.3)
    gdp = np.empty((n_years, n))
    gdp[0] = gdp0
    for t in range(1, n_years):
        gdp[t] = gdp[t - 1] * (1.0 + growth[t])
    return gdp, growth, trend


def _culture(rng: np.random.Generator, region: np.ndarray, gdp0: np.ndarray):
    n = region.size
    # colonial powers: rich countries; colonies: poorer countries of other regions
    n_powers = int(min(N_COLONIAL, max(1, n // 8)))
    rich = np.argsort(-gdp0)[: max(n_powers, n // 3)]
    powers = rng.choice(rich, size=n_powers, replace=False)
    colonial_tie = np.zeros((n, n))
    colony_of = np.full(n, -1)
    rest = np.setdiff1d(np.arange(n), powers)
    per_power = int(max(1, min(3, len(rest) // (3 * n_powers))))
    for p_idx, p in enumerate(powers):
        pool = [c for c in rest if colony_of[c] < 0 and region[c] != region[p]]
        if len(pool) < per_power:
            pool = [c for c in rest if colony_of[c] < 0]
        if not pool:
            continue
        weights = 1.0 + _poverty(gdp0[pool])
        chosen = rng.choice(pool, size=min(per_power, len(pool)), replace=False, p=weights / weights.sum())
        colony_of[chosen] = p_idx
        colonial_tie[chosen, p] = 1.0

    # languages: 0..4 regional, 5..7 colonial
    main = region.copy()
    other_regional = rng.integers(0, N_REGIONS, n)
    switch = rng.random(n) < 0.2
    main = np.where(switch, other_regional, main)
    secondary = np.full(n, -1)
    has_second = rng.random(n) < 0.25
    second_draw = rng.integers(0, N_REGIONS + N_COLONIAL, n)
    secondary = np.where(has_second & (second_draw != main), second_draw, secondary)
    colonial_main = rng.random(n) < 0.5
    for p_idx, p in enumerate(powers):
        lang = N_REGIONS + p_idx
        main[p] = lang
        for c in np.flatnonzero(colony_of == p_idx):
            if colonial_main[c]:
                secondary[c], main[c] = main[c], lang
            else:
                secondary[c] = lang
    overlap_level = rng.uniform(0.3, 0.6, (n, n))
    overlap_level = np.triu(overlap_level) + np.triu(overlap_level, 1).T
    same = main[:, None] == main[None, :]
    sec_ok = secondary >= 0
    overlap = (
        (main[:, None] == secondary[None, :])
        | (secondary[:, None] == main[None, :])
        | ((secondary[:, None] == secondary[None, :]) & sec_ok[:, None] & sec_ok[None, :])
    )
    common_language = np.where(same, 1.0, np.where(overlap, overlap_level, 0.0))

    # religion
    alpha = np.full((n, N_RELIGIONS), 0.3)
    alpha[np.arange(n), _REGION_RELIGION[region]] += 4.0
    shares = np.array([rng.dirichlet(a) for a in alpha])
    religious_similarity = shares @ shares.T
    return common_language, religious_similarity, colonial_tie


def _union(rng: np.random.Generator, region: np.ndarray, gdp0: np.ndarray, distance: np.ndarray, config: WorldConfig):
    n = region.size
    regions = np.unique(region)
    mean_gdp = np.array([np.log(gdp0[region == r]).mean() for r in regions])
    home = regions[np.argmax(mean_gdp)]
    members = np.flatnonzero(region == home)
    med = np.median(gdp0[members])
    founders = members[gdp0[members] >= med]
    if founders.size < 2 and members.size >= 2:
        founders = members[np.argsort(-gdp0[members])[:2]]
    span = max(1, config.end_year - config.start_year)
    acc_years = []
    for y in _ACCESSIONS:
        yy = config.start_year + int(round((y - 1990) / (2023 - 1990) * span))
        yy = min(max(yy, config.start_year + 1), config.end_year)
        if yy not in acc_years and yy > config.start_year:
            acc_years.append(yy)
    candidates = np.setdiff1d(np.arange(n), founders)
    n_join = min(len(acc_years), candidates.size, max(1, n // 6))
    if config.end_year <= config.start_year:
        n_join = 0
    accession = np.full(n, np.iinfo(np.int64).max)
    accession[founders] = config.start_year
    if n_join > 0:
        closeness = distance[np.ix_(candidates, founders)].mean(axis=1) * np.exp(rng.normal(0.0, 0.3, candidates.size))
        joiners = candidates[np.argsort(closeness)[:n_join]]
        joiners = rng.permutation(joiners)
        accession[joiners] = np.array(acc_years[:n_join])
    year = np.arange(config.start_year, config.end_year + 1)
    return (year[:, None] >= accession[None, :]).astype(float)


def _simulate(
    *,
    r_eps,
    n_years,
    pop_target,
    gdp,
    pov,
    growth,
    trend,
    cbr,
    base_death,
    conflict_deaths,
    log_dist,
    common_language,
    religious_similarity,
    colonial_tie,
    union,
):
    n = pop_target.size
    eye = np.eye(n, dtype=bool)
    ar = np.arange(n)
    c = COEF
    static_ik = (
        c["e_religion"] * religious_similarity
        + c["c_language"] * common_language
        + c["f_colonial"] * colonial_tie
        + c["q_return"] * eye
    )
    rho, sd = c["eps_rho"], c["eps_sd"]
    eps = r_eps.normal(0.0, sd, (n, n))
    innov_sd = sd * np.sqrt(1.0 - rho**2)
    eps_innov = r_eps.normal(0.0, innov_sd, (BURN_IN_YEARS + n_years, n, n))
    foreign_mask = ~eye

    def step(S, R, t_cov, d, births, eps, in_war_deaths, live):
        """One year: returns S_next, R_next, T (i, j, k)."""
        P = S.sum(axis=0)
        surv = (1.0 - d)[None, :] * S
        gdp_t, pov_t = gdp[t_cov], pov[t_cov]
        war = in_war_deaths > 0
        dest = c["a_gdp"] * np.log(gdp_t) + c["s_population"] * np.log(P) - c["conflict_penalty"] * war
        pair_jk = dest[None, :] - c["b_distance"] * log_dist + c["g_union"] * np.outer(union[t_cov], union[t_cov]) + eps
        dias = c["h_diaspora"] * np.log1p(S) * foreign_mask
        u = (static_ik + dias)[:, None, :] + pair_jk[None, :, :]
        u[:, ar, ar] = -np.inf
        u -= u.max(axis=2, keepdims=True)
        p = np.exp(u)
        p /= p.sum(axis=2, keepdims=True)

        # leave rates
        shock = np.exp(-4.0 * (growth[t_cov] - trend)) if live else 1.0
        r_nat = np.clip((NATIVE_LEAVE[0] + NATIVE_LEAVE[1] * pov_t) * shock, 0.0005, 0.02)
        base, mx, scale = REFUGEE_SURGE
        r_ref = np.where(war, base + mx * (1.0 - np.exp(-(in_war_deaths / P) / scale)), 0.0)
        r = FOREIGN_LEAVE[0] + FOREIGN_LEAVE[1] * (1.0 - pov_t)[:, None] + FOREIGN_LEAVE[2] * pov_t[None, :]
        r = r + 0.5 * r_ref[None, :]
        r[ar, ar] = r_nat
        pi = r[:, :, None] * p
        if war.any():
            u_ref = (
                u[ar, ar, :]
                - (c["refugee_b_distance"] - c["b_distance"]) * log_dist
                - (c["a_gdp"] - c["refugee_a_gdp"]) * np.log(gdp_t)[None, :]
            )
            u_ref[ar, ar] = -np.inf
            u_ref -= u_ref.max(axis=1, keepdims=True)
            p_ref = np.exp(u_ref)
            p_ref /= p_ref.sum(axis=1, keepdims=True)
            pi[ar, ar, :] += r_ref[:, None] * p_ref
            ref_flow = (surv[ar, ar] * r_ref)[:, None] * p_ref  # (origin, asylum)
        else:
            ref_flow = None
        T = surv[:, :, None] * pi
        S_next = surv + T.sum(axis=1) - T.sum(axis=2)
        S_next[ar, ar] += births
        R_next = R * (1.0 - REFUGEE_EXIT) * (1.0 - d)[None, :]
        if ref_flow is not None:
            R_next = R_next + ref_flow
        R_next = np.minimum(R_next, S_next)
        R_next[ar, ar] = 0.0
        return S_next, R_next, T

    # burn-in from natives only, back-projected by natural growth
    natural = cbr[0] - base_death[0]
    S = np.diag(pop_target * np.exp(-BURN_IN_YEARS * natural))
    R = np.zeros((n, n))
    no_war = np.zeros(n)
    for b in range(BURN_IN_YEARS):
        P = S.sum(axis=0)
        S, R, _ = step(S, R, 0, base_death[0], cbr[0] * P, eps, no_war, False)
        eps = rho * eps + eps_innov[b]

    flows = np.empty((n_years, n, n, n))
    stocks = np.empty((n_years + 1, n, n))
    refugees = np.empty((n_years + 1, n, n))
    births = np.empty((n_years, n))
    death_rate = np.empty((n_years, n))
    stocks[0], refugees[0] = S, R
    for t in range(n_years):
        P = S.sum(axis=0)
        d = base_death[t] + conflict_deaths[t] / P
        death_rate[t] = d
        births[t] = cbr[t] * P
        S, R, T = step(S, R, t, d, births[t], eps, conflict_deaths[t], True)
        flows[t] = T
        stocks[t + 1], refugees[t + 1] = S, R
        eps = rho * eps + eps_innov[BURN_IN_YEARS + t]
    return flows, stocks, births, death_rate, refugees


# ---------------------------------------------------------------------- observation model
def _observe(rng: np.random.Generator, config: WorldConfig, countries: list[str], **a) -> dict[str, pd.DataFrame]:
    """The observed tables.

    - migrant_stocks: mid-year (mean of 1 January stocks around the year) foreign-born stocks every
      `stock_years_step` years, log-normal noise `stock_noise`, rounded; cells with true value < 20
      are not reported and a share `stock_missing` of the rest is missing.
    - migrant_stock_totals: every destination's mid-year foreign-born total: the sum of all its noisy
      foreign-born cells (unreported ones included) plus 0-5 % of unknown origin, as in the UN
      tables; and its mid-year population.
    - demography: exact 1 January population, births, deaths (= death rate x population) and life
      expectancy; net_migration: truth + N(0, (net_migration_noise |truth| + 2e-4 P)^2).
    - gdp, union_membership, conflict, gravity: the covariates themselves.
    - refugees: refugee stock at the end of each year (>= 1 person) with 5 % log-normal noise.
    - refugee_arrivals: the year's growth of each refugee stock, capped at the corridor's true flow
      (a lower bound of the flow, as UNHCR's arrivals are), 5 % log-normal noise, rounded, >= 1; the
      world's arrivals are all refugees (no asylum-seekers, refugee-like or oip).
    - observed_flows: inflows reported by the richest `observed_destinations` share of countries
      from origins with a true corridor flow > 50, from a start year within the first 10 years, 15 %
      of destination-years missing, one reporting system per destination ("register" bias 1.0,
      "permits" bias 0.85), log-normal noise `flow_noise`, rounded.
    - meta_flows: every corridor between the countries Meta covers (a random 75 %; China and Iran
      are absent from the real data) in the world's years among `META_YEARS` (2019-2022, as Meta's), bias
      1, log-normal noise `flow_noise`, rounded, pairs below 50 dropped (as Meta publishes them).
    - imfsc_flows: emigration reported by the same destinations to every corridor with a true flow
      > 50, up to 10 years before the end, undercounted (bias 0.6), log-normal noise `flow_noise`.
    """
    (r_stock, r_net, r_ref, r_flow, r_total, r_meta, r_emig, r_arrive) = rng.spawn(8)
    flows, stocks = a["flows"], a["stocks"]
    n_years, n = a["births"].shape
    codes = np.array(countries, dtype=object)
    years = np.arange(config.start_year, config.end_year + 1, dtype=np.int64)
    out: dict[str, pd.DataFrame] = {}
    R = schemas.RAW

    # migrant stocks
    t_obs = np.arange(0, n_years, config.stock_years_step)
    mid = 0.5 * (stocks[t_obs] + stocks[t_obs + 1])
    noise = np.exp(r_stock.normal(0.0, config.stock_noise, mid.shape))
    missing = r_stock.random(mid.shape) < config.stock_missing
    foreign = ~np.eye(n, dtype=bool)[None, :, :]
    keep = foreign & (mid >= 20.0) & ~missing
    t, i, k = np.nonzero(keep)
    out["migrant_stocks"] = R["migrant_stocks"].conform(
        pd.DataFrame(
            {
                "year": years[t_obs[t]],
                "birth": codes[i],
                "residence": codes[k],
                "stock": np.round(mid * noise)[t, i, k],
            }
        )
    )

    out["countries"] = R["countries"].conform(pd.DataFrame(
        {"country": codes, "name": [f"Synthetic country {c}" for c in codes],
         "region": [f"Synthetic region {r + 1}" for r in a["region"]]}))

    # destination totals as the UN publishes them: every foreign-born cell of the same (noisy) table,
    # the unreported ones included, plus 0-5 % of unknown origin; and the mid-year population
    total = (np.round(mid * noise) * foreign).sum(axis=1) * (1.0 + r_total.uniform(0.0, 0.05, (len(t_obs), n)))
    tt, kk = np.indices(total.shape)
    out["migrant_stock_totals"] = R["migrant_stock_totals"].conform(
        pd.DataFrame({"year": years[t_obs[tt.ravel()]], "residence": codes[kk.ravel()],
                      "foreign_born": np.round(total.ravel()), "population": mid.sum(axis=1).ravel()})
    )

    # per country-year tables
    ty, ky = np.indices((n_years, n))
    ty, ky = ty.ravel(), ky.ravel()
    yc = {"year": years[ty], "country": codes[ky]}
    population = stocks[:-1].sum(axis=1)
    deaths = a["death_rate"] * population
    out["demography"] = R["demography"].conform(
        pd.DataFrame(
            {
                **yc,
                "population": population.ravel(),
                "births": a["births"].ravel(),
                "deaths": deaths.ravel(),
                "life_expectancy": a["life_exp"].ravel(),
                "projected": 0,  # the world's demography is all observed
            }
        )
    )
    net = _net_migration(flows)
    sd = config.net_migration_noise * np.abs(net) + 2e-4 * population
    out["net_migration"] = R["net_migration"].conform(
        pd.DataFrame({**yc, "net_migration": (net + sd * r_net.standard_normal(net.shape)).ravel()})
    )
    out["gdp"] = R["gdp"].conform(
        pd.DataFrame({**yc, "gdp_per_capita": a["gdp"].ravel(), "gdp_growth": 100.0 * a["growth"].ravel()})
    )
    out["union_membership"] = R["union_membership"].conform(pd.DataFrame({**yc, "member": a["union"].ravel()}))
    out["conflict"] = R["conflict"].conform(pd.DataFrame({**yc, "conflict_deaths": a["conflict_deaths"].ravel()}))

    # gravity
    o, d = np.nonzero(~np.eye(n, dtype=bool))
    out["gravity"] = R["gravity"].conform(
        pd.DataFrame(
            {
                "origin": codes[o],
                "destination": codes[d],
                "distance_km": a["distance"][o, d],
                "common_language": a["common_language"][o, d],
                "religious_similarity": a["religious_similarity"][o, d],
                "colonial_tie": a["colonial_tie"][o, d],
            }
        )
    )

    # refugees at the end of each year
    ref = a["refugees"][1:]
    ref_noisy = ref * np.exp(r_ref.normal(0.0, 0.05, ref.shape))
    t, i, k = np.nonzero(ref_noisy >= 1.0)
    out["refugees"] = R["refugees"].conform(
        pd.DataFrame({"year": years[t], "origin": codes[i], "asylum": codes[k], "refugees": ref_noisy[t, i, k],
                      "asylum_seekers": 0.0, "oip": 0.0})  # the world's refugees hold no separate categories
    )

    growth = np.maximum(a["refugees"][1:] - a["refugees"][:-1], 0.0)
    arrivals = np.round(np.minimum(growth, flows.sum(axis=1)) * np.exp(r_arrive.normal(0.0, 0.05, growth.shape)))
    t, i, k = np.nonzero(arrivals >= 1.0)
    out["refugee_arrivals"] = R["refugee_arrivals"].conform(pd.DataFrame(
        {"year": years[t], "origin": codes[i], "asylum": codes[k], "refugees": arrivals[t, i, k],
         "asylum_seekers": 0.0, "refugee_like": 0.0, "oip": 0.0}))

    # observed flows into the richest destinations
    n_dest = int(min(n, max(1, round(config.observed_destinations * n))))
    dests = np.sort(np.argsort(-a["gdp"][0], kind="stable")[:n_dest])
    source_names = list(OBSERVED_SOURCES)
    source_idx = r_flow.integers(0, len(source_names), n_dest)
    first = r_flow.integers(0, min(10, n_years - 1) + 1, n_dest)
    year_missing = r_flow.random((n_years, n_dest)) < 0.15
    reported = (np.arange(n_years)[:, None] >= first[None, :]) & ~year_missing
    corridor = flows.sum(axis=1)[:, :, dests]  # (Y, origin, dest)
    noise = np.exp(r_flow.normal(0.0, config.flow_noise, corridor.shape))
    bias = np.array([OBSERVED_SOURCES[s] for s in source_names])[source_idx]
    keep = reported[:, None, :] & (corridor > 50.0)
    t, j, m = np.nonzero(keep)
    value = np.round(corridor * bias[None, None, :] * noise)
    out["observed_flows"] = R["observed_flows"].conform(
        pd.DataFrame(
            {
                "year": years[t],
                "origin": codes[j],
                "destination": codes[dests[m]],
                "flow": value[t, j, m],
                "source": np.array(source_names, dtype=object)[source_idx[m]],
            }
        )
    )

    bilateral = flows.sum(axis=1)  # (Y, origin, destination)
    meta_t = np.flatnonzero((years >= META_YEARS[0]) & (years <= META_YEARS[1]))
    measured = np.round(bilateral[meta_t] * META_BIAS
                        * np.exp(r_meta.normal(0.0, config.flow_noise, (len(meta_t), n, n))))
    covered = r_meta.random(n) >= META_ABSENT
    t, j, k = np.nonzero((measured >= META_MIN) & ~np.eye(n, dtype=bool)[None] & covered[None, :, None]
                         & covered[None, None, :])
    out["meta_flows"] = R["meta_flows"].conform(pd.DataFrame(
        {"year": years[meta_t[t]], "origin": codes[j], "destination": codes[k], "flow": measured[t, j, k],
         "source": META_SOURCE}))

    emig_years = max(1, n_years - EMIGRATION_LAST_YEARS_BEFORE_END)
    leaving = bilateral[:emig_years, dests, :]  # (Y', reporter, destination)
    reported = np.round(leaving * EMIGRATION_BIAS
                        * np.exp(r_emig.normal(0.0, config.flow_noise, leaving.shape)))
    t, m, k = np.nonzero((leaving > 50.0) & (dests[None, :, None] != np.arange(n)[None, None, :]))
    out["imfsc_flows"] = R["imfsc_flows"].conform(pd.DataFrame(
        {"year": years[t], "origin": codes[dests[m]], "destination": codes[k], "flow": reported[t, m, k],
         "source": EMIGRATION_SOURCE}))
    return out
