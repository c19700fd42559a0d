"""Harmonized panel functions (panel/build.py) on small hand-made inputs."""

import numpy as np
import pandas as pd
import pytest

from migration_assets.panel import build


def _demography(*codes, years=(1990, 1995, 2000)):
    rows = [{"year": y, "country": c, "population": 1e6, "births": 1e4, "deaths": 1e4} for y in years for c in codes]
    return pd.DataFrame(rows)


def _countries(*codes):
    return build.countries(pd.DataFrame({"country": list(codes)}), _demography(*codes))


NO_REFUGEES = pd.DataFrame({"year": [], "origin": [], "asylum": [], "refugees": []})


def test_mid_year_stocks_move_to_january_by_linear_interpolation():
    stocks = pd.DataFrame({"year": [1990, 1995, 2000, 1995], "birth": ["AAA", "AAA", "AAA", "BBB"],
                           "residence": ["BBB", "BBB", "BBB", "AAA"], "stock": [1000.0, 2000.0, 2500.0, 70.0]})
    jan, meta = build.stocks_january(_countries("AAA", "BBB"), stocks, NO_REFUGEES, _demography("AAA", "BBB"))
    got = jan.set_index(["year", "birth", "residence"])["stock"]
    # first point: the next interval's slope (200 a year), half a year earlier
    assert got[(1990, "AAA", "BBB")] == pytest.approx(1000 - 0.5 * 200)
    assert got[(1995, "AAA", "BBB")] == pytest.approx(2000 - 0.5 * 200)
    assert got[(2000, "AAA", "BBB")] == pytest.approx(2500 - 0.5 * 100)
    assert got[(1995, "BBB", "AAA")] == 70.0  # a single point keeps its value
    assert meta["stock_points"] == [1990, 1995, 2000]


def test_stocks_are_corrected_floored_by_refugees_and_harmonized():
    stocks = pd.DataFrame({"year": [1995, 1995, 1995, 1995], "birth": ["DEU", "AFG", "XKX", "SYR"],
                           "residence": ["USA", "PAK", "DEU", "SYR"], "stock": [9.0, 100.0, 50.0, 5.0]})
    refugees = pd.DataFrame({"year": [1994, 1995], "origin": ["AFG", "AFG"], "asylum": ["PAK", "PAK"],
                             "refugees": [3000.0, 1000.0]})
    codes = ["AFG", "DEU", "PAK", "SRB", "SYR", "USA"]
    jan, meta = build.stocks_january(_countries(*codes), stocks, refugees, _demography(*codes))
    got = jan.set_index(["birth", "residence"])["stock"]
    assert got[("DEU", "USA")] == 1335539  # stock_corrections.csv
    assert got[("AFG", "PAK")] == 2000  # at least the refugees around mid-1995
    assert got[("SRB", "DEU")] == 50  # Kosovo folded into Serbia
    assert ("SYR", "SYR") not in got.index
    assert meta["corrected_cells"] == 1 and meta["cells_raised_to_refugee_count"] == 1
    assert meta["harmonization"]["merged_rows"] == {"XKX": 1}
    reasons = build.stock_corrections()
    assert reasons["reason"].str.len().gt(5).all() and not reasons.duplicated(["birth", "residence", "year"]).any()


def test_countries_need_demography():
    with pytest.raises(ValueError, match="no demography.*CCC"):
        build.countries(pd.DataFrame({"country": ["AAA", "CCC"]}), _demography("AAA"))


def test_initial_stocks_fill_from_later_points_and_put_natives_on_the_diagonal():
    c = _countries("AAA", "BBB")
    jan = pd.DataFrame({"year": [1995, 1990], "birth": ["AAA", "BBB"], "residence": ["BBB", "AAA"],
                        "stock": [300.0, 50.0]})
    demography = pd.DataFrame({"year": [1990, 1990], "country": ["AAA", "BBB"], "population": [1000.0, 2000.0]})
    frame, meta = build.initial_stocks(c, jan, demography)
    got = frame.set_index(["birth", "residence"])["stock"]
    assert got[("AAA", "BBB")] == 300.0 and got[("BBB", "AAA")] == 50.0
    assert got[("AAA", "AAA")] == 950.0 and got[("BBB", "BBB")] == 1700.0
    assert meta["cells_filled_from_later_points"] == 1


def test_stock_targets_are_successive_changes_with_noise_weights():
    jan = pd.DataFrame({"year": [1990, 1995, 2000, 1990, 1995], "birth": ["AAA"] * 3 + ["BBB"] * 2,
                        "residence": ["BBB"] * 3 + ["AAA"] * 2, "stock": [100.0, 5000.0, 5010.0, 1e6, 1e6 + 50]})
    frame, _ = build.stock_targets(jan, relative_error=0.1)
    got = frame.set_index(["year_start", "birth"])
    assert list(got.loc[(1990, "AAA"), ["year_end", "stock_change"]]) == [1995, 4900.0]
    assert got.loc[(1995, "AAA"), "stock_change"] == 10.0
    # and the stock reached, which the level term of the loss pins
    assert list(got.loc[(1990, "AAA"), ["stock_end"]]) == [5000.0]
    assert got.loc[(1995, "AAA"), "stock_end"] == 5010.0
    assert ((frame["weight"] > 0) & (frame["weight"] <= 1)).all()
    # a clear change outweighs a change buried in the noise of a large stock
    assert got.loc[(1990, "AAA"), "weight"] > got.loc[(1990, "BBB"), "weight"]


def test_stock_targets_leave_out_cells_that_stay_at_zero():
    zeros = pd.DataFrame({"year": [1990, 1995, 2000] * 50, "birth": ["CCC"] * 150,
                          "residence": [f"Q{i:02d}" for i in range(50) for _ in range(3)], "stock": 0.0})
    changing = pd.DataFrame({"year": [1990, 1995, 2000, 1990, 1995, 2000], "birth": ["AAA"] * 3 + ["BBB"] * 3,
                             "residence": ["BBB"] * 3 + ["AAA"] * 3, "stock": [0.0, 5000.0, 5100.0, 800.0, 0.0, 0.0]})
    frame, meta = build.stock_targets(pd.concat([zeros, changing]), relative_error=0.1)
    assert meta["zero_to_zero_left_out"] == 101  # 100 from the zero cells, BBB->AAA 1995-2000
    assert set(zip(frame["birth"], frame["year_start"])) == {("AAA", 1990), ("AAA", 1995), ("BBB", 1990)}
    # the weights spread over (0.05, 1]: the median is set by cells that change, not by zeros
    assert frame["weight"].max() > 0.3 and frame["weight"].min() >= 0.05


def test_edges_follow_the_recorded_rule():
    c = _countries("AAA", "BBB", "CCC")
    jan = pd.DataFrame({"year": [1990, 1990], "birth": ["AAA", "BBB"], "residence": ["BBB", "CCC"],
                        "stock": [500.0, 10.0]})
    flows = pd.DataFrame({"origin": ["CCC"], "destination": ["AAA"]})
    frame, meta = build.edges(c, jan, flows, build.PanelSettings(min_stock=100))
    got = set(map(tuple, frame[["birth", "origin", "destination"]].to_numpy()))
    assert ("AAA", "AAA", "BBB") in got  # natives to their diaspora
    assert ("AAA", "BBB", "AAA") in got  # return home
    assert ("CCC", "CCC", "AAA") in got  # an observed corridor
    assert ("BBB", "BBB", "CCC") not in got  # below min_stock
    assert all(o != d for _, o, d in got)
    assert list(frame["edge"]) == list(range(len(frame)))
    assert meta["edges"] == len(frame) and "min_stock" in meta["rule"]


def test_corridor_folds_are_fixed_by_seed_balanced_and_stable_when_corridors_are_added():
    flows = pd.DataFrame({"origin": [f"A{i:03d}" for i in range(1000)] * 2, "destination": ["ZZZ"] * 2000})
    a = build.corridor_folds(flows, 5, seed=1)
    b = build.corridor_folds(flows, 5, seed=1)
    c = build.corridor_folds(flows, 5, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["fold"].equals(c["fold"])
    assert len(a) == 1000 and a["fold"].value_counts().between(150, 250).all() and a["fold"].nunique() == 5
    # a release adding corridors moves no existing corridor to another fold (a warm-started member
    # must keep never seeing its held-out corridors)
    more = pd.concat([flows, pd.DataFrame({"origin": ["NEW", "A000"], "destination": ["ZZZ", "YYY"]})])
    grown = build.corridor_folds(more, 5, seed=1).merge(a, on=["origin", "destination"], suffixes=("", "_before"))
    assert len(grown) == 1000 and (grown["fold"] == grown["fold_before"]).all()


def test_country_year_scales_covariates_and_fills_gaps():
    c = _countries("AAA", "BBB")
    years = [1990, 1991, 1992]
    demography = pd.DataFrame({"year": years * 2, "country": ["AAA"] * 3 + ["BBB"] * 3,
                               "population": [1e6, 1.1e6, 1.2e6, 5e6, 5e6, 5e6], "births": 2e4, "deaths": 1e4,
                               "life_expectancy": 70.0})
    gdp = pd.DataFrame({"year": years * 2, "country": ["AAA"] * 3 + ["BBB"] * 3,
                        "gdp_per_capita": [1000.0, np.nan, 1200.0, 9000.0, 9100.0, 9200.0], "gdp_growth": 1.0})
    conflict = pd.DataFrame({"year": [1991], "country": ["AAA"], "conflict_deaths": [500.0]})
    union = pd.DataFrame({"year": years, "country": ["BBB"] * 3, "member": 1.0})
    frame, meta = build.country_year(c, demography, gdp, conflict, union)
    assert meta["filled_values"]["gdp_per_capita"] == 1
    assert frame["x_log_gdp_per_capita"].notna().all()
    assert frame["x_log_population"].mean() == pytest.approx(0, abs=1e-12)
    assert frame.loc[frame["country"] == "AAA", "x_union_member"].eq(0).all()
    assert frame["death_rate"].iloc[0] == pytest.approx(1e4 / 1e6)


def test_edge_limits_keep_the_largest_diasporas_and_the_way_home():
    c = _countries("AAA", "BBB", "CCC", "DDD")
    jan = pd.DataFrame({"year": 1990, "birth": ["AAA", "AAA", "AAA"], "residence": ["BBB", "CCC", "DDD"],
                        "stock": [500.0, 9000.0, 200.0]})
    no_flows = pd.DataFrame({"origin": [], "destination": []})
    frame, _ = build.edges(c, jan, no_flows, build.PanelSettings(native_destinations=1, foreign_destinations=1))
    got = set(map(tuple, frame[["birth", "origin", "destination"]].to_numpy()))
    natives = {e for e in got if e[0] == e[1] == "AAA"}
    assert natives == {("AAA", "AAA", "CCC")}  # only the largest diaspora
    assert {e for e in got if e[1] == "BBB"} == {("AAA", "BBB", "AAA"), ("AAA", "BBB", "CCC")}  # home + largest
    assert {e for e in got if e[1] == "CCC"} == {("AAA", "CCC", "AAA"), ("AAA", "CCC", "BBB")}


def test_every_reported_corridor_gets_edges_for_natives_and_the_largest_foreign_born_groups():
    """A corridor any source reports, even one no diaspora rule would pick, is an edge of the
    origin's natives and of its largest foreign-born groups (returns of the destination's own
    emigrants included), so no reported corridor-year is estimated as exactly 0."""
    c = _countries("AAA", "BBB", "CCC", "DDD", "EEE")
    # BBB hosts AAA-born (9000), CCC-born (5000), DDD-born (300) and EEE-born (50, below min_stock)
    jan = pd.DataFrame({"year": 1990, "birth": ["AAA", "CCC", "DDD", "EEE"], "residence": "BBB",
                        "stock": [9000.0, 5000.0, 300.0, 50.0]})
    none = pd.DataFrame({"origin": [], "destination": []})
    reported = pd.DataFrame({"origin": ["BBB", "BBB"], "destination": ["EEE", "EEE"]})  # one corridor, two sources
    settings = build.PanelSettings(native_destinations=1, foreign_destinations=1, observed_corridor_groups=2)
    base, _ = build.edges(c, jan, none, settings)
    frame, meta = build.edges(c, jan, reported, settings)
    before = set(map(tuple, base[["birth", "origin", "destination"]].to_numpy()))
    got = set(map(tuple, frame[["birth", "origin", "destination"]].to_numpy()))
    assert not any(o == "BBB" and d == "EEE" for _, o, d in before)
    assert got - before == {("BBB", "BBB", "EEE"), ("AAA", "BBB", "EEE"), ("CCC", "BBB", "EEE")}
    assert meta["reported_corridors"] == 1 and meta["edges_added_for_reported_corridors"] == 3
    assert meta["edges"] == len(frame) and list(frame["edge"]) == list(range(len(frame)))
    # natives alone when no foreign-born group is asked for
    natives, _ = build.edges(c, jan, reported, build.PanelSettings(native_destinations=1, foreign_destinations=1,
                                                                   observed_corridor_groups=0))
    along = {e for e in map(tuple, natives[["birth", "origin", "destination"]].to_numpy()) if e[1:] == ("BBB", "EEE")}
    assert along == {("BBB", "BBB", "EEE")}



def test_flow_targets_keep_every_source_of_a_corridor_in_one_fold():
    """Cells of one corridor and year from several sources all stay, each with its source id; a
    corridor has one fold whatever source reports it; per-source cells, corridors and years are in
    the metadata."""
    c = _countries("AAA", "BBB", "CCC")
    demography = _demography("AAA", "BBB", "CCC", years=(2019, 2020))
    reported = pd.DataFrame({
        "year": [2019, 2019, 2019, 2020, 2020],
        "origin": ["AAA", "AAA", "AAA", "AAA", "CCC"],
        "destination": ["BBB", "BBB", "BBB", "BBB", "AAA"],
        "flow": [100.0, 80.0, 120.0, 90.0, 60.0],
        "source": ["oecd_b11", "imfsc_residence_immigrants", "meta_facebook", "meta_facebook",
                   "imfsc_residence_emigrants"]})
    frame, meta = build.flow_targets(c, reported, demography, build.PanelSettings())
    ab = frame[(frame["origin"] == "AAA") & (frame["destination"] == "BBB")]
    assert sorted(ab.loc[ab["year"] == 2019, "source"]) == ["imfsc_residence_immigrants", "meta_facebook", "oecd_b11"]
    assert ab["fold"].nunique() == 1 and len(ab) == 4
    assert {k: v for k, v in meta["per_source"]["meta_facebook"].items() if k != "weight_per_cell"} == {
        "cells": 2, "corridors": 1, "years": "2019-2020", "persons": 210.0}
    assert meta["per_source"]["imfsc_residence_emigrants"]["corridors"] == 1
    assert meta["sources"] == sorted(set(reported["source"]))


def test_each_dataset_weighs_by_the_square_root_of_its_cells():
    """A dataset that tabulates the same corridors many times over (IMFSC) does not drown the others:
    the total loss weight of a dataset's cells grows as the square root of their number, mean weight 1."""
    c = _countries("AAA", "BBB", "CCC")
    demography = _demography("AAA", "BBB", "CCC", years=(2019, 2020))
    sources = ["imfsc_residence_immigrants"] * 6 + ["imfsc_citizenship_emigrants_foreigners"] * 3 + ["meta_facebook"]
    reported = pd.DataFrame({"year": [2019, 2020] * 5, "origin": ["AAA"] * 4 + ["BBB"] * 4 + ["CCC"] * 2,
                             "destination": ["BBB", "BBB", "CCC", "CCC", "AAA", "AAA", "CCC", "CCC", "AAA", "AAA"],
                             "flow": 100.0, "source": sources})
    frame, meta = build.flow_targets(c, reported, demography, build.PanelSettings())
    total = frame.groupby(build.dataset(frame["source"]))["weight"].sum()
    cells = frame.groupby(build.dataset(frame["source"])).size()
    assert frame["weight"].mean() == pytest.approx(1.0)
    assert (total / np.sqrt(cells)).to_numpy() == pytest.approx(np.full(len(total), (total / np.sqrt(cells)).iloc[0]))
    assert meta["per_source"]["meta_facebook"]["weight_per_cell"] > meta["per_source"]["imfsc_residence_immigrants"][
        "weight_per_cell"]


# ---------------------------------------------------------------------------------------------
# nowcast years: inputs that end before the estimates do


def _covariates(codes, years):
    gdp = pd.DataFrame([{"year": y, "country": c, "gdp_per_capita": 1000.0 + y, "gdp_growth": 1.0}
                        for y in years for c in codes])
    return gdp


def test_covariates_after_their_last_year_are_carried_forward_not_zeroed():
    """UCDP and the EU list end before the estimates (2023 against 2025): each country keeps its last
    value; a year without an event before that stays 0."""
    codes = ["AAA", "BBB"]
    years = list(range(2020, 2026))
    demo = _demography(*codes, years=years).assign(life_expectancy=70.0)
    conflict = pd.DataFrame({"year": [2021, 2023], "country": ["AAA", "AAA"], "conflict_deaths": [500.0, 900.0]})
    union = pd.DataFrame([{"year": y, "country": c, "member": float(c == "BBB")} for y in range(2020, 2024)
                          for c in codes])
    frame, meta = build.country_year(_countries(*codes), demo, _covariates(codes, range(2020, 2023)), conflict, union)
    got = frame.set_index(["country", "year"])
    deaths = np.expm1(got["x_log_conflict_deaths"] * meta["scaling"]["x_log_conflict_deaths"]["std"]
                      + meta["scaling"]["x_log_conflict_deaths"]["mean"])
    assert deaths[("AAA", 2022)] == pytest.approx(0.0, abs=1e-6)  # no event reported that year
    assert deaths[("AAA", 2024)] == pytest.approx(900.0) and deaths[("AAA", 2025)] == pytest.approx(900.0)
    assert got.loc[("BBB", 2025), "x_union_member"] == 1.0 and got.loc[("AAA", 2025), "x_union_member"] == 0.0
    assert meta["carried_forward"] == {"conflict": {"last_year": 2023, "years": [2024, 2025]},
                                       "union_membership": {"last_year": 2023, "years": [2024, 2025]}}


def test_refugee_years_the_source_lacks_take_the_last_reported_year():
    """A year UNHCR does not report at all (2019 in the older files; after the last release) is the
    last reported year's count, not none."""
    codes = ["AFG", "PAK", "IRN"]
    refugees = pd.DataFrame({"year": [2017, 2018, 2018, 2020], "origin": ["AFG", "AFG", "AFG", "AFG"],
                             "asylum": ["PAK", "PAK", "IRN", "PAK"], "refugees": [100.0, 200.0, 50.0, 300.0]})
    frame, meta = build.refugees_panel(_countries(*codes), refugees, _demography(*codes, years=range(2017, 2024)))
    got = frame.set_index(["year", "origin", "asylum"])["refugees"]
    assert got[(2019, "AFG", "PAK")] == 200.0  # end of 2018
    assert got[(2020, "AFG", "PAK")] == 200.0 and got[(2020, "AFG", "IRN")] == 50.0  # 2019 missing: 2018's
    assert got[(2021, "AFG", "PAK")] == 300.0 and (2021, "AFG", "IRN") not in got.index  # end of 2020
    assert got[(2023, "AFG", "PAK")] == 300.0  # after the last year: 2020's
    assert meta["carried_forward"] == {"2020": 2019, "2022": 2021, "2023": 2021}


def test_data_basis_says_what_each_year_rests_on():
    years = list(range(2018, 2026))
    demo = pd.DataFrame([{"year": y, "country": "AAA", "projected": int(y > 2023)} for y in years])
    tables = {
        "demography": demo,
        "gdp": pd.DataFrame({"year": range(2018, 2024), "country": "AAA"}),
        "refugees": pd.DataFrame({"year": [2018, 2020, 2021, 2022, 2023, 2024, 2025]}),
        "migrant_stocks": pd.DataFrame({"year": [2015, 2020]}),
        "meta_flows": pd.DataFrame({"year": [2019, 2020, 2021, 2022]}),
        "refugee_arrivals": pd.DataFrame({"year": []}),
    }
    frame = build.data_basis(years, tables)
    assert frame.equals(build.PANEL["data_basis"].conform(frame))
    got = frame.set_index(["input", "year"])
    assert got.loc[("demography", 2023), "basis"] == "observed" and got.loc[("demography", 2024), "basis"] == "projected"
    assert got.loc[("gdp", 2025), "basis"] == "carried_forward" and "2023" in got.loc[("gdp", 2025), "detail"]
    assert got.loc[("refugees", 2020), "basis"] == "carried_forward"  # 1 January 2020 = end of 2019, not reported
    assert got.loc[("refugees", 2025), "basis"] == "observed"  # end of 2024
    assert got.loc[("migrant_stocks", 2018), "basis"] == "interpolated"
    assert got.loc[("migrant_stocks", 2024), "basis"] == "extrapolated"
    assert got.loc[("meta_flows", 2023), "basis"] == "none" and got.loc[("meta_flows", 2023), "role"] == "target"
    assert got.loc[("meta_flows", 2024), "last_observed_year"] == 2022
    assert "refugee_arrivals" not in set(frame["input"])  # empty: not listed
    assert len(frame) == 5 * len(years)
