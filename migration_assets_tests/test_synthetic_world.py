"""Tests of the seeded synthetic world (migration_assets.synthetic)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from migration_assets import schemas
from migration_assets.synthetic import SyntheticWorld, WorldConfig, generate_world

TINY = WorldConfig(n_countries=6, end_year=2000, seed=3)
CODE = re.compile(r"^[A-Z]{3}$")


@pytest.fixture(scope="module")
def tiny() -> SyntheticWorld:
    return generate_world(TINY)


@pytest.fixture(scope="module")
def default() -> SyntheticWorld:
    return generate_world(WorldConfig())


def _frames(world: SyntheticWorld) -> dict[str, pd.DataFrame]:
    out = {f"raw.{n}": world.raw(n) for n in schemas.RAW}
    out.update({f"truth.{n}": world.truth(n) for n in schemas.TRUTH})
    return out


# ------------------------------------------------------------------ determinism
def test_same_config_gives_identical_output(tiny):
    again = generate_world(TINY)
    assert again.countries == tiny.countries and again.years == tiny.years
    for attr in ("flows", "stocks", "births", "death_rate", "refugee_stocks"):
        np.testing.assert_array_equal(getattr(again, attr), getattr(tiny, attr))
    a, b = _frames(tiny), _frames(again)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def test_different_seed_gives_different_flows(tiny):
    other = generate_world(WorldConfig(n_countries=6, end_year=2000, seed=4))
    assert other.flows.shape == tiny.flows.shape
    assert not np.allclose(other.flows, tiny.flows)


def test_raw_and_truth_return_copies(tiny):
    frame = tiny.raw("demography")
    frame["population"] = -1.0
    assert (tiny.raw("demography")["population"] > 0).all()
    truth = tiny.truth("flows")
    truth["flow"] = -1.0
    assert (tiny.truth("flows")["flow"] > 0).all()
    with pytest.raises(KeyError):
        tiny.raw("no_such_table")
    with pytest.raises(KeyError):
        tiny.truth("no_such_table")


def test_observation_noise_does_not_change_truth(tiny):
    noisy = generate_world(WorldConfig(n_countries=6, end_year=2000, seed=3, stock_noise=0.3, flow_noise=0.4))
    np.testing.assert_array_equal(noisy.flows, tiny.flows)
    assert not noisy.raw("migrant_stocks").equals(tiny.raw("migrant_stocks"))


# ------------------------------------------------------------------ the truth
def test_shapes_and_codes(tiny):
    n, y = TINY.n_countries, TINY.end_year - TINY.start_year + 1
    assert tiny.countries == sorted(tiny.countries) and len(set(tiny.countries)) == n
    assert all(CODE.match(c) and c.startswith("Q") for c in tiny.countries)
    assert tiny.countries[:2] == ["QMA", "QMB"]
    assert tiny.years == list(range(TINY.start_year, TINY.end_year + 1))
    assert tiny.flows.shape == (y, n, n, n) and tiny.stocks.shape == (y + 1, n, n)
    assert tiny.births.shape == (y, n) and tiny.death_rate.shape == (y, n)
    for arr in (tiny.flows, tiny.stocks, tiny.births, tiny.death_rate):
        assert arr.dtype == np.float64 and np.isfinite(arr).all()


def test_recurrence_closes_exactly(tiny):
    S, T, B, d = tiny.stocks, tiny.flows, tiny.births, tiny.death_rate
    n = S.shape[1]
    predicted = (
        np.eye(n)[None] * B[:, None, :]
        + (1.0 - d)[:, None, :] * S[:-1]
        + T.sum(axis=2)  # sum_j T[t, i, j, k]
        - T.sum(axis=3)  # sum_l T[t, i, k, l]
    )
    assert np.abs(S[1:] - predicted).max() / S.max() < 1e-9


def test_flows_and_stocks_are_feasible(tiny):
    S, T, d = tiny.stocks, tiny.flows, tiny.death_rate
    n = S.shape[1]
    assert (T >= 0).all() and (S >= 0).all()
    ar = np.arange(n)
    assert (T[:, :, ar, ar] == 0).all()  # no move from a country to itself
    survivors = (1.0 - d)[:, None, :] * S[:-1]
    outflow = T.sum(axis=3)
    assert (outflow < survivors + 1e-9 * S.max()).all()  # sum_k pi < 1
    assert (T.sum(axis=(1, 2, 3)) > 0).all()


def test_global_net_migration_is_zero(tiny):
    net = tiny.truth("net_migration")
    totals = net.groupby("year")["net_migration"].sum()
    scale = tiny.flows.sum(axis=(1, 2, 3))
    assert (np.abs(totals.to_numpy()) <= 1e-9 * scale).all()


def test_truth_tables(tiny):
    for name, table in schemas.TRUTH.items():
        frame = tiny.truth(name)
        assert list(frame.columns) == table.column_names
        pd.testing.assert_frame_equal(frame, table.conform(frame))
    fbb = tiny.truth("flows_by_birth")
    assert (fbb["flow"] > 0).all() and (fbb["origin"] != fbb["destination"]).all()
    np.testing.assert_allclose(fbb["flow"].sum(), tiny.flows.sum(), rtol=1e-12)
    flows = tiny.truth("flows")
    assert (flows["flow"] > 0).all()
    np.testing.assert_allclose(flows["flow"].sum(), tiny.flows.sum(), rtol=1e-12)
    stocks = tiny.truth("stocks")
    assert sorted(stocks["year"].unique()) == list(range(TINY.start_year, TINY.end_year + 2))
    assert (stocks["stock"] > 0).all()


def test_refugee_stock_bounded_by_stock(tiny):
    R, S = tiny.refugee_stocks, tiny.stocks
    assert (R >= 0).all() and (R <= S + 1e-6).all()


# ------------------------------------------------------------------ observed tables
def test_raw_tables_conform(tiny):
    for name, table in schemas.RAW.items():
        frame = tiny.raw(name)
        assert list(frame.columns) == table.column_names, name
        pd.testing.assert_frame_equal(frame, table.conform(frame), obj=name)
        assert len(frame) > 0 or name == "meta_flows", name  # Meta's 2019-2022 are after this world
        assert not frame.duplicated(list(table.key)).any(), name
        for col in frame.columns:
            if frame[col].dtype == object:
                assert frame[col].map(lambda v: bool(CODE.match(v))).all() or col in ("source", "name", "region"), (name, col)
        numeric = frame.select_dtypes("number")
        assert np.isfinite(numeric.to_numpy(dtype=float)).all(), name


def test_migrant_stocks_observation(tiny):
    ms = tiny.raw("migrant_stocks")
    assert (ms["birth"] != ms["residence"]).all()
    assert set(ms["year"]) <= {1990, 1995, 2000} and 1990 in set(ms["year"])
    assert (ms["stock"] >= 0).all() and (ms["stock"] == ms["stock"].round()).all()
    # cells with a true mid-year stock of at least 20 that are not reported are the missing ones
    S = tiny.stocks
    t = np.array([0, 5, 10])
    mid = 0.5 * (S[t] + S[t + 1])
    n = S.shape[1]
    observable = int(((mid >= 20) & ~np.eye(n, dtype=bool)[None]).sum())
    assert 0 < observable - len(ms) < 0.25 * observable


def test_missing_share_follows_config():
    world = generate_world(WorldConfig(n_countries=6, end_year=2000, seed=3, stock_missing=0.5))
    assert len(world.raw("migrant_stocks")) < 0.8 * len(generate_world(TINY).raw("migrant_stocks"))


def test_observed_flows_minority_of_destinations(tiny):
    of = tiny.raw("observed_flows")
    dests = set(of["destination"])
    assert 1 <= len(dests) < len(tiny.countries) / 2
    assert (of["origin"] != of["destination"]).all()
    assert set(of["source"]) <= {"register", "permits"}
    assert of.groupby("destination")["source"].nunique().max() == 1
    assert (of["flow"] > 0).all()
    # reported values are noisy versions of true corridor flows
    idx = {c: i for i, c in enumerate(tiny.countries)}
    t = of["year"].to_numpy() - TINY.start_year
    j = of["origin"].map(idx).to_numpy()
    k = of["destination"].map(idx).to_numpy()
    true = tiny.flows.sum(axis=1)[t, j, k]
    assert (true > 50).all()
    ratio = np.log(of["flow"].to_numpy() / true)
    assert np.abs(np.median(ratio)) < 0.3 and ratio.std() < 0.5


def test_demography_matches_truth(tiny):
    dem = tiny.raw("demography").sort_values(["year", "country"])
    n = len(tiny.countries)
    rate = (dem["deaths"] / dem["population"]).to_numpy().reshape(-1, n)
    np.testing.assert_allclose(rate, tiny.death_rate, rtol=1e-9, atol=0)
    pop = dem["population"].to_numpy().reshape(-1, n)
    np.testing.assert_allclose(pop, tiny.stocks[:-1].sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(dem["births"].to_numpy().reshape(-1, n), tiny.births, rtol=1e-12)
    assert dem["life_expectancy"].between(50, 84).all()
    assert ((dem["births"] / dem["population"]).between(0.005, 0.05)).all()


def test_net_migration_is_noisy_truth(tiny):
    obs = tiny.raw("net_migration").sort_values(["year", "country"])["net_migration"].to_numpy()
    true = tiny.truth("net_migration").sort_values(["year", "country"])["net_migration"].to_numpy()
    assert not np.allclose(obs, true)
    assert np.corrcoef(obs, true)[0, 1] > 0.8


def test_covariate_tables(tiny):
    n, y = len(tiny.countries), len(tiny.years)
    gdp = tiny.raw("gdp").sort_values(["country", "year"])
    assert len(gdp) == n * y and (gdp["gdp_per_capita"] > 0).all()
    for _, g in gdp.groupby("country"):
        change = 100.0 * (g["gdp_per_capita"].to_numpy()[1:] / g["gdp_per_capita"].to_numpy()[:-1] - 1.0)
        np.testing.assert_allclose(change, g["gdp_growth"].to_numpy()[1:], atol=1e-8)
    union = tiny.raw("union_membership").pivot(index="year", columns="country", values="member")
    assert set(np.unique(union.to_numpy())) <= {0.0, 1.0}
    assert (union.diff().fillna(0) >= 0).all().all()  # membership never ends
    assert union.iloc[0].sum() >= 1
    conflict = tiny.raw("conflict")
    assert len(conflict) == n * y and (conflict["conflict_deaths"] >= 0).all()
    gravity = tiny.raw("gravity")
    assert len(gravity) == n * (n - 1)
    assert gravity["distance_km"].between(100, 15000).all()
    assert gravity["common_language"].between(0, 1).all()
    assert gravity["religious_similarity"].between(0, 1).all()
    assert set(gravity["colonial_tie"]) <= {0.0, 1.0}
    sym = gravity.set_index(["origin", "destination"])["distance_km"]
    swapped = gravity.set_index(["destination", "origin"])["distance_km"]
    swapped.index.names = ["origin", "destination"]
    pd.testing.assert_series_equal(sym.sort_index(), swapped.sort_index(), check_names=False)


# ------------------------------------------------------------------ plausibility (default world)
def test_default_world_is_plausible(default):
    S, T = default.stocks, default.flows
    world_pop = S.sum(axis=(1, 2))
    foreign = world_pop - np.trace(S, axis1=1, axis2=2)
    assert 0.01 < foreign[0] / world_pop[0] < 0.08
    movers = T.sum(axis=(1, 2, 3)) / world_pop[:-1]
    assert (movers > 0.001).all() and (movers < 0.01).all()
    conflict = default.raw("conflict")
    assert (conflict["conflict_deaths"] > 0).any()
    assert len(default.raw("refugees")) > 0 and default.refugee_stocks.sum() > 0
    union = default.raw("union_membership").groupby("year")["member"].sum()
    assert union.is_monotonic_increasing and union.iloc[-1] > union.iloc[0]
    of = default.raw("observed_flows")
    assert 1 <= of["destination"].nunique() <= 0.3 * len(default.countries) + 1


def test_meta_like_and_emigration_sources_measure_the_truth_with_their_bias(default):
    """meta_flows: every corridor among the covered countries, 2019-2022, pairs >= 50, unbiased;
    imfsc_flows: emigration of the reporting countries to 2013, undercounted by 0.6."""
    truth = default.truth("flows").set_index(["year", "origin", "destination"])["flow"]
    meta = default.raw("meta_flows")
    assert sorted(meta["year"].unique()) == [2019, 2020, 2021, 2022] and (meta["flow"] >= 50).all()
    assert set(meta["source"]) == {"meta_facebook"}
    covered = set(meta["origin"]) | set(meta["destination"])
    assert 0.5 * len(default.countries) < len(covered) < len(default.countries)  # some countries are absent
    ratio = meta["flow"].sum() / truth.loc[list(meta[["year", "origin", "destination"]].itertuples(index=False))].sum()
    assert 0.95 < ratio < 1.05
    emigration = default.raw("imfsc_flows")
    assert emigration["year"].max() == 2013 and set(emigration["source"]) == {"imfsc_residence_emigrants"}
    reporters = set(emigration["origin"])
    assert reporters <= set(default.raw("observed_flows")["destination"])
    cells = list(emigration[["year", "origin", "destination"]].itertuples(index=False))
    assert 0.55 < emigration["flow"].sum() / truth.loc[cells].sum() < 0.65
