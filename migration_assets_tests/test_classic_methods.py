"""The classic methods (migration_assets.classic) against the golden runs of the R package migest.

The golden files (`../shared/golden/abel_cohen/`, see its README) hold migest's own examples and the six-method
driver on 4-region tables (`small/`) and on two real 200-country periods (`real/`). migest places integer
residuals with R's random `sample()`; every recorded draw is replayed here, in call order.
"""

import doctest
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from migration_assets.classic import (
    METHODS,
    abel_cohen_2019,
    account,
    balance_native_born,
    demographic_accounting,
    migration_rates,
    pseudo_bayesian,
    rescale_net,
    rogers_von_rabenau,
    stock_differencing,
)
from migration_assets.classic import ipf, methods
from migration_assets.classic.ipf import ipf2, ipf3

# The golden runs of the workspace (never copied into the repository), beside the published-data bundle.
GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden" / "abel_cohen"
SMALL = sorted(p.name for p in (GOLDEN / "small").glob("*__v*.json")) or ["missing"]
PERIODS = ["1990_1995", "2015_2020"]


@pytest.fixture(scope="session")
def golden() -> Path:
    """The golden files; CI sets MIGRATION_REQUIRE_BUNDLE=1 so that their absence fails."""
    if not (GOLDEN / "README.md").exists():
        if os.environ.get("MIGRATION_REQUIRE_BUNDLE") == "1":
            pytest.fail(f"the golden files of migest are missing at {GOLDEN}")
        pytest.skip(f"golden files of migest not found at {GOLDEN}")
    return GOLDEN


def small_case(golden: Path, name: str) -> dict:
    return json.loads((golden / "small" / name).read_text())


def array(value) -> np.ndarray | None:
    """A golden matrix, 3-way array (data[orig][dest][birthplace]), named vector or list."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value["data"] if "data" in value else value["values"]
    return np.array(value, dtype=float)


def version_of(name: str) -> str:
    return "1.8.1" if name.endswith("__v181.json") else "2.0.5"


class Replay:
    """Replays migest's recorded `sample()` draws as the residual positions, checking each candidate."""

    def __init__(self, calls: list[dict]):
        self.calls = list(calls)

    def __call__(self, candidates: np.ndarray) -> int:
        assert self.calls, f"a residual draw among {candidates} that migest did not make"
        call = self.calls.pop(0)
        recorded = call["x"]["values"] if isinstance(call["x"], dict) else call["x"]
        assert list(candidates + 1) == list(np.atleast_1d(recorded))
        return call["result"] - 1


def assert_close(actual, expected, rtol: float = 1e-9) -> None:
    """Equal within `rtol` of the largest cell (the reference's own floating-point noise is about 1e-13)."""
    expected = np.asarray(expected, dtype=float)
    scale = max(np.abs(expected).max(), 1.0)
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=0, atol=rtol * scale)


# ---------------------------------------------------------------------------------------------------------
# Small cases: every golden file, both versions

@pytest.mark.parametrize("name", [n for n in SMALL if n.startswith(("diff_", "rates_", "missing"))])
def test_stock_differencing_and_rates_match_migest(golden, name):
    case = small_case(golden, name)
    start, end = array(case["inputs"]["s1"]), array(case["inputs"]["s2"])
    if case["fun"] == "ffs_diff":
        decrease = "drop" if 'decrease = "zero"' in case["call"] else "return"
        np.testing.assert_array_equal(stock_differencing(start, end, decrease).to_numpy(), array(case["output"]["flow"]))
    elif "dennett" in case["call"]:
        flows = migration_rates(start, case["inputs"]["M"]).to_numpy()
        assert_close(flows, array(case["output"]["flow"]), 1e-12)
        np.testing.assert_array_equal(np.round(flows), array(case["output"]["flow_rounded"]))
    else:
        assert_close(rogers_von_rabenau(start, end).to_numpy(), array(case["output"]["flow"]), 1e-9)


@pytest.mark.parametrize("name", [n for n in SMALL if n.startswith(("rescale_net", "missing"))])
def test_zero_sum_net_migration_matches_migest(golden, name):
    case = small_case(golden, name)
    draws = Replay(case["sample_calls"])
    rescaled = rescale_net(array(case["inputs"]["x"]), switches='"switches"' in case["call"],
                           integer="integer_result = FALSE" not in case["call"], pick_residual=draws)
    assert_close(rescaled, array(case["output"]["y"]), 1e-12)
    assert abs(rescaled.sum()) < 1e-9 and not draws.calls


@pytest.mark.parametrize("name", [n for n in SMALL if n.startswith(("global_nb", "missing"))])
def test_global_balance_of_native_born_matches_migest(golden, name):
    case = small_case(golden, name)
    draws = Replay(case["sample_calls"])
    inputs = {key: array(value) for key, value in case["inputs"].items()}
    start, end = balance_native_born(inputs["P1"], inputs["P2"], inputs["b"], inputs["d"], draws, version_of(name))
    np.testing.assert_array_equal(start, array(case["output"]["m1_adj"]))
    np.testing.assert_array_equal(end, array(case["output"]["m2_adj"]))
    assert end.sum() - start.sum() == inputs["b"].sum() - inputs["d"].sum() and not draws.calls


@pytest.mark.parametrize("name", [n for n in SMALL if n.startswith(("ipf", "missing"))])
def test_ipf_matches_migest(golden, name):
    case = small_case(golden, name)
    inputs, output = case["inputs"], case["output"]
    if case["fun"] == "ipf2":
        seed = array(inputs.get("m"))
        rows, columns = array(inputs["row_tot"]), array(inputs["col_tot"])
        fit = ipf2(np.ones((len(rows), len(columns))) if seed is None else seed, rows, columns)
    else:
        start, end = array(inputs["P1"]).T, array(inputs["P2"]).T
        fit = ipf3(start, end, array(inputs["m"]), stayers=case["fun"] == "ipf3_qi")
        flows = fit.table.sum(axis=2)
        np.fill_diagonal(flows, 0)
        assert_close(flows, array(output["od_flow"]))
    assert_close(fit.table, array(output["mu"]))
    assert fit.iterations == output["it"]


@pytest.mark.parametrize("name", [n for n in SMALL if n.startswith(("demo_", "missing"))])
def test_demographic_accounting_matches_migest_stage_by_stage(golden, name):
    case = small_case(golden, name)
    inputs, stages = case["inputs"], case["intermediates"]
    version = version_of(name)
    match = re.search(r'match_(?:pob|birthplace)_tot_method = "([^"]+)"', case["call"]).group(1)
    result = account(array(inputs["s1"]), array(inputs["s2"]), array(inputs["b"]), array(inputs["d"]),
                     stayers="stayer_assumption = TRUE" in case["call"], match=match,
                     offset=array(inputs["seed_m"]), version=version, pick_residual=Replay(case["sample_calls"]))
    # 2.0.5 ignores the offset in the stayer model and stops its IPFs on a looser rule (spec §8)
    rtol = 1e-9 if version == "1.8.1" else 1e-6
    for stage, actual in [("s1_global_stock_start", result.balanced_start), ("s1_global_stock_end", result.balanced_end),
                          ("s2_birth_mat", result.births), ("s2_death_mat", result.deaths),
                          ("s3_stock_start", result.balanced_start - result.deaths),
                          ("s3_stock_end", result.balanced_end - result.births),
                          ("s4_stock_start", result.matched_start), ("s4_stock_end", result.matched_end),
                          ("s4_out_mat", result.emigration), ("s4_in_mat", result.immigration),
                          ("s5_flow_by_birthplace", result.by_birthplace)]:
        assert_close(actual, array(stages[stage]), rtol)
    assert_close(result.flows, array(case["output"]["od_flow"]), rtol)
    np.testing.assert_array_equal(np.round(result.flows), array(case["output"]["od_flow_rounded"]))


@pytest.mark.parametrize("name", [n for n in SMALL if n.startswith(("pipeline_", "missing"))])
def test_six_methods_driver_matches_migest(golden, name):
    case = small_case(golden, name)
    inputs = {key: array(value) for key, value in case["inputs"].items()}
    draws = Replay([call for method in ["rescale_net", "da_min_closed", "independence_closed"]
                    for call in case["sample_calls_by_method"][method]])
    start, end = inputs["stock_start_foreign"], inputs["stock_end_foreign"]
    flows = abel_cohen_2019(start, end, inputs["native_start"] + start.sum(axis=0), inputs["native_end"] + end.sum(axis=0),
                            inputs["births"], inputs["deaths"], inputs["net_raw"], version_of(name), draws)
    for method in METHODS:
        np.testing.assert_array_equal(flows[method].to_numpy(), array(case["output"][method]), err_msg=method)
    assert not draws.calls


# ---------------------------------------------------------------------------------------------------------
# Real 200-country periods (1.8.1, the version of the published files)

def real_inputs(golden: Path, period: str) -> dict:
    folder = golden / "real" / period / "inputs"
    demog = pd.read_csv(folder / "demog.csv", index_col="iso3", keep_default_na=False)
    countries = list(demog.index)

    def stocks(file: str) -> pd.DataFrame:
        return pd.read_csv(folder / file, keep_default_na=False).pivot(index="pob", columns="por", values="stock").loc[countries, countries]

    return {"stock_start": stocks("stock_start.csv"), "stock_end": stocks("stock_end.csv"), "demog": demog}


def golden_flows(golden: Path, period: str, file: str, version: str = "1.8.1") -> pd.DataFrame:
    folder = golden / "real" / period / ("v181" if version == "1.8.1" else "v205")
    return pd.read_csv(folder / file, keep_default_na=False).set_index(["orig", "dest"])


def cells(table: pd.DataFrame, pairs: pd.Index) -> np.ndarray:
    """The off-diagonal cells of a flow table in the golden files' pair order."""
    return table.stack().reindex(pairs).to_numpy()


def full(stocks: pd.DataFrame, native: pd.Series) -> pd.DataFrame:
    table = stocks.astype(float).copy()
    table.values[np.diag_indices_from(table)] = native.loc[table.index].to_numpy()
    return table


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("version", ["1.8.1", "2.0.5"])
def test_real_period_reproduces_migest(golden, period, version):
    """All six methods on ~230 countries, each residual draw of migest's run replayed (spec §6, §10): 1.8.1 is
    the version of the published files, 2.0.5 the current one."""
    inputs = real_inputs(golden, period)
    demog = inputs["demog"]
    folder = golden / "real" / period / ("v181" if version == "1.8.1" else "v205")
    run = json.loads((folder / "run.json").read_text())["sample_calls_by_method"]
    rounded = golden_flows(golden, period, "flows_all_methods.csv.gz", version)
    pairs = rounded.index

    net = rescale_net(demog["net"].to_numpy(), pick_residual=Replay(run["rescale_net"]))
    expected_net = pd.read_csv(folder / "net_rescaled.csv", index_col="iso3", keep_default_na=False)
    np.testing.assert_array_equal(net, expected_net.loc[demog.index, "net_rescaled"])

    start, end = inputs["stock_start"], inputs["stock_end"]
    for method, decrease in [("sd_drop_neg", "drop"), ("sd_rev_neg", "return")]:
        np.testing.assert_array_equal(cells(stock_differencing(start, end, decrease), pairs), rounded[method])
    rates = migration_rates(start, np.abs(net).sum())
    np.testing.assert_array_equal(np.round(cells(rates, pairs)), rounded["mig_rate"])

    s1, s2 = full(start, demog["nb_start"]), full(end, demog["nb_end"])
    unrounded = {}
    for method, stayers, match in [("da_min_open", True, "open-dr"), ("da_min_closed", True, "rescale"),
                                   ("independence_closed", False, "rescale")]:
        draws = Replay(run[method])
        flows = demographic_accounting(s1, s2, demog["births"], demog["deaths"], stayers, match, version=version,
                                       pick_residual=draws)
        reference = golden_flows(golden, period, f"flows_{method}_unrounded.csv.gz", version).iloc[:, 0]
        unrounded[method] = cells(flows, pairs)
        np.testing.assert_allclose(unrounded[method], reference, rtol=1e-6, atol=1e-6, err_msg=method)
        assert not draws.calls
    ours = {"da_min_open": np.round(unrounded["da_min_open"]), "da_min_closed": np.round(unrounded["da_min_closed"])}
    ours["da_pb_closed"] = pseudo_bayesian(ours["da_min_closed"], unrounded["independence_closed"])
    for method, flows in ours.items():
        difference = np.abs(flows - rounded[method].to_numpy())
        assert (difference == 0).mean() >= 0.9999 and difference.max() <= 1, method


def test_real_period_without_recorded_draws_is_nearly_identical(golden):
    """The driver with residuals on the largest element (its default) instead of R's draws: ≥ 99.9 % of
    cells as published by migest, stock differencing exactly (spec §9.1)."""
    inputs = real_inputs(golden, "1990_1995")
    demog = inputs["demog"]
    flows = abel_cohen_2019(inputs["stock_start"], inputs["stock_end"], demog["pop_start"], demog["pop_end"],
                            demog["births"], demog["deaths"], demog["net"])
    rounded = golden_flows(golden, "1990_1995", "flows_all_methods.csv.gz")
    for method in METHODS:
        same = (cells(flows[method], rounded.index) == rounded[method].to_numpy()).mean()
        assert same == 1.0 if method.startswith("sd_") else same >= 0.999, (method, same)


# ---------------------------------------------------------------------------------------------------------
# Bad input: a clear error naming what is wrong and the fix

def four_countries() -> dict:
    names = ["A", "B", "C", "D"]
    stocks = pd.DataFrame([[0, 100, 10, 0], [55, 0, 50, 5], [80, 40, 0, 40], [20, 25, 20, 0]], index=names, columns=names)
    series = lambda *values: pd.Series(values, index=names, dtype=float)  # noqa: E731
    return {"stock_start": stocks, "stock_end": stocks * 1.1, "population_start": series(1155, 720, 880, 245),
            "population_end": series(1200, 700, 900, 260), "births": series(80, 20, 40, 60),
            "deaths": series(70, 30, 50, 10), "net_migration": series(40, -5, -30, 15)}


def test_driver_runs_on_labelled_tables_in_any_order():
    inputs = four_countries()
    shuffled = dict(inputs, stock_end=inputs["stock_end"].loc[["D", "B", "A", "C"], ["C", "A", "D", "B"]],
                    births=inputs["births"].iloc[::-1])
    flows, again = abel_cohen_2019(**inputs), abel_cohen_2019(**shuffled)
    for method in METHODS:
        pd.testing.assert_frame_equal(flows[method], again[method])
        assert (flows[method].to_numpy() >= 0).all() and (np.diag(flows[method]) == 0).all()
    assert flows["sd_drop_neg"].loc["A", "B"] == 10


def test_negative_stock_is_refused_with_the_cell():
    inputs = four_countries()
    inputs["stock_end"].loc["B", "C"] = -5
    with pytest.raises(ValueError, match=r"stock_end: 1 negative cells, e.g. born in B living in C = -5"):
        abel_cohen_2019(**inputs)
    with pytest.raises(ValueError, match="stock_end: 1 negative cells"):
        stock_differencing(inputs["stock_start"], inputs["stock_end"])


def test_country_with_zero_population_is_refused():
    inputs = four_countries()
    inputs["population_end"]["D"] = 0
    with pytest.raises(ValueError, match=r"population_end: \['D'\] have zero population .* drop these countries"):
        abel_cohen_2019(**inputs)
    empty = inputs["stock_start"].copy()
    empty["D"] = 0
    with pytest.raises(ValueError, match=r"stock_start: zero population in \['D'\].*drop these countries"):
        demographic_accounting(empty, inputs["stock_end"], inputs["births"], inputs["deaths"])


def test_offset_of_the_wrong_shape_is_refused():
    inputs = four_countries()
    with pytest.raises(ValueError, match=r"offset: shape \(3, 3\).*\(4×4\)"):
        demographic_accounting(inputs["stock_start"] + np.diag([900, 600, 700, 200]), inputs["stock_end"] + np.diag(
            [950, 580, 720, 210]), inputs["births"], inputs["deaths"], offset=np.ones((3, 3)))


def test_net_migration_of_one_sign_is_refused():
    with pytest.raises(ValueError, match="positive everywhere or negative everywhere.*check its signs"):
        rescale_net([5, 0, 12])


def test_documented_examples_hold():
    for module in (methods, ipf):
        failed, tried = doctest.testmod(module)
        assert tried and not failed, module.__name__


def test_mismatched_country_sets_are_refused():
    inputs = four_countries()
    renamed = inputs["stock_end"].rename(index={"D": "E"}, columns={"D": "E"})
    with pytest.raises(ValueError, match=r"stock_end covers other countries .*missing: \['D'\], extra: \['E'\].*same country set"):
        abel_cohen_2019(**dict(inputs, stock_end=renamed))
    with pytest.raises(ValueError, match=r"births covers other countries .*missing: \['D'\]"):
        abel_cohen_2019(**dict(inputs, births=inputs["births"].drop("D")))
    with pytest.raises(ValueError, match=r"stock_start: the birthplace rows and residence columns are not the same"):
        stock_differencing(inputs["stock_start"].drop(columns="D"), inputs["stock_end"])


# ---------------------------------------------------------------------------------------------------------
# On the platform's panel (classic/panel.py)

def _panel(populations: dict[str, float], stocks: dict[int, dict[tuple[str, str], float]], years=range(1990, 1996),
           growth: float = 0.01):
    """panel.stocks_january and panel.country_year of a few countries: births 10 and deaths 1 % a year; the
    population grows by `growth` of its 1990 size a year in the first country, and then alternately shrinks."""
    january = pd.DataFrame([(y, b, r, s) for y, cells in stocks.items() for (b, r), s in cells.items()],
                           columns=["year", "birth", "residence", "stock"])
    country_year = pd.DataFrame([(y, c, p * (1 + (-1) ** k * growth * (y - 1990)), 10.0, 0.01) for y in years
                                 for k, (c, p) in enumerate(populations.items())],
                                columns=["year", "country", "population", "births", "death_rate"])
    return january, country_year


def test_periods_are_stock_points_five_years_apart_that_the_demography_covers():
    from migration_assets.classic.panel import periods

    stock_points = [1990, 1995, 2000, 2005, 2010, 2015, 2019, 2020, 2024]
    assert periods(stock_points, range(1990, 2024)) == [(y, y + 5) for y in range(1990, 2020, 5)]
    assert periods(stock_points, range(1990, 2020)) == [(y, y + 5) for y in range(1990, 2015, 5)]
    assert periods([1990, 1994, 2000], range(1990, 2024)) == []


def test_panel_inputs_are_whole_persons_with_net_migration_the_demographys_residual():
    from migration_assets.classic.panel import period_inputs

    january, country_year = _panel(
        {"AAA": 1000.0, "BBB": 500.0, "DDD": 300.0, "CCC": 40.0},
        {1990: {("AAA", "BBB"): 20.4, ("BBB", "AAA"): 10.0, ("AAA", "CCC"): 50.0, ("AAA", "DDD"): 5.0},
         1995: {("AAA", "BBB"): 30.0, ("BBB", "AAA"): 12.0, ("AAA", "CCC"): 45.0, ("BBB", "CCC"): 2.0}})
    inputs, left_out, raised = period_inputs(january, country_year, 1990, 1995)
    assert left_out == ["DDD"]  # no foreign-born recorded in DDD in 1995
    assert list(inputs["stock_start"].index) == list(inputs["stock_start"].columns) == ["AAA", "BBB", "CCC"]
    assert inputs["stock_start"].loc["AAA", "BBB"] == 20  # rounded to whole persons
    # CCC: 40 residents in 1990 but 50 foreign-born there: raised to 50 (native-born 0); 1995: 42 < 47
    assert raised == ["CCC 1990", "CCC 1995"]
    assert inputs["population_start"]["CCC"] == 50 and inputs["population_end"]["CCC"] == 47
    assert inputs["births"]["AAA"] == 50  # five calendar years, 1990-1994
    assert inputs["deaths"]["AAA"] == round(sum(1000 * (1 + 0.01 * k) * 0.01 for k in range(5)))
    residual = inputs["population_end"] - inputs["population_start"] - inputs["births"] + inputs["deaths"]
    pd.testing.assert_series_equal(inputs["net_migration"], residual)


def test_classic_flows_of_a_panel_hold_every_method_and_period():
    from migration_assets.classic.panel import COLUMNS, classic_flows

    rng = np.random.default_rng(0)
    countries = ["AAA", "BBB", "CCC", "DDD", "EEE"]
    stocks = {y: {(b, r): float(rng.integers(100, 5000)) for b in countries for r in countries if b != r}
              for y in (1990, 1995, 2000)}
    january, country_year = _panel({c: 1e6 * (k + 1) for k, c in enumerate(countries)}, stocks, range(1990, 2001),
                                   growth=0.03)
    frame, facts = classic_flows(january, country_year)
    assert list(frame.columns) == COLUMNS
    assert facts["periods"] == ["1990-1995", "1995-2000"] and facts["countries"] == 5
    assert frame.groupby("year_start")["method"].nunique().eq(len(METHODS)).all()
    assert (frame["flow"] != 0).all() and (frame["year_end"] == frame["year_start"] + 5).all()
    # the same as the driver on the same tables
    start = january[january["year"] == 1995].pivot(index="birth", columns="residence", values="stock").fillna(0)
    end = january[january["year"] == 2000].pivot(index="birth", columns="residence", values="stock").fillna(0)
    sd = stock_differencing(start, end, "return").stack()
    ours = frame.query("year_start == 1995 and method == 'sd_rev_neg'").set_index(["origin", "destination"])["flow"]
    assert ours.sum() == sd.sum() and (ours == sd.reindex(ours.index).to_numpy()).all()


def test_a_panel_without_two_stock_points_five_years_apart_is_refused():
    from migration_assets.classic.panel import classic_flows

    january, country_year = _panel({"AAA": 1000.0, "BBB": 500.0},
                                   {1990: {("AAA", "BBB"): 20.0}, 1993: {("AAA", "BBB"): 30.0}})
    with pytest.raises(ValueError, match=r"stock points are \[1990, 1993\]"):
        classic_flows(january, country_year)
