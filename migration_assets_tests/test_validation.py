"""The validation harness's pieces: metrics, conformal calibration, held-out draws and anchor cells."""

import numpy as np
import pandas as pd
import pytest

from migration_assets.validation import anchors, calibration, metrics
from migration_assets.validation.heldout import corridor_draws


def test_agreement_metrics_on_known_cells():
    rng = np.random.default_rng(0)
    cells = pd.DataFrame({"reported": rng.lognormal(5, 2, 200), "dest": rng.integers(0, 4, 200),
                          "pop": rng.uniform(1e5, 1e7, 200)})
    cells["same"] = cells["reported"]
    cells["double"] = 2 * cells["reported"]
    cells["noise"] = cells["reported"] * rng.lognormal(0, 1, 200)
    same = metrics.agreement(cells, "reported", "same", share_of=["dest"], population="pop")
    assert same["pearson"] == pytest.approx(1) and same["pearson_log1p"] == pytest.approx(1)
    assert same["pearson_proportion"] == pytest.approx(1) and same["pearson_rate"] == pytest.approx(1)
    assert same["median_relative_error"] == 0 and same["spearman"] == pytest.approx(1)
    double = metrics.agreement(cells, "reported", "double", share_of=["dest"])
    # a constant factor changes neither the count correlation nor the proportions, only the error
    assert double["pearson"] == pytest.approx(1) and double["pearson_proportion"] == pytest.approx(1)
    assert double["median_relative_error"] == pytest.approx(1)
    noisy = metrics.agreement(cells, "reported", "noise")
    assert 0.3 < noisy["pearson_log1p"] < 0.99 and "pearson_rate" not in noisy


def test_scores_are_long_and_skip_small_strata():
    cells = pd.DataFrame({"reported": np.arange(1.0, 51.0), "a": np.arange(1.0, 51.0) ** 1.5,
                          "group": ["big"] * 45 + ["small"] * 5})
    s = metrics.scores(cells, "test", "reported", ["a"], {"pooled": None, "group": "group"})
    assert set(s["stratum"]) == {"all", "big"}  # "small" has 5 < 20 cells
    assert set(s["metric"]) == {"pearson", "pearson_log1p", "spearman", "median_relative_error"}
    assert np.allclose(s.loc[s["metric"] == "spearman", "value"], 1)
    assert s.loc[s["stratum"] == "all", "cells"].eq(50).all()


def test_conformal_intervals_cover_their_nominal_share_on_new_cells():
    rng = np.random.default_rng(1)

    def draw(n):
        predicted = rng.lognormal(4, 2, n)
        # small flows are relatively noisier, and the model is biased low by a factor 1.5
        sigma = np.where(predicted < 50, 1.5, 0.4)
        return predicted, np.expm1(np.log1p(predicted) + np.log(1.5) + sigma * rng.standard_normal(n))

    cal = calibration.fit(*draw(5000), n_bins=5, min_cells=200)
    assert len(cal.frame) == 5 and cal.frame["cells"].sum() == 5000
    predicted, reported = draw(20000)
    q = cal.apply(predicted)
    assert 0.87 < metrics.coverage(reported, q["p05"], q["p95"]) < 0.93
    assert 0.46 < metrics.coverage(reported, q["p25"], q["p75"]) < 0.54
    assert (q["p05"] <= q["p50"]).all() and (q["p50"] <= q["p95"]).all() and (q["p05"] >= 0).all()
    # one distribution: the std is half the central 68 % interval, the median follows the bias
    np.testing.assert_allclose(q["std"], (q["p84"] - q["p16"]) / 2)
    big = predicted > 500
    assert np.median(q["p50"][big] / predicted[big]) == pytest.approx(1.5, rel=0.05)
    # the band is wider where the flows are noisier
    width = np.log1p(q["p95"]) - np.log1p(q["p05"])
    assert width[predicted < 20].mean() > 2 * width[predicted > 500].mean()
    # the table in the warehouse gives back the same calibration
    again = calibration.Calibration(cal.frame.copy())
    np.testing.assert_allclose(again.apply(predicted)["p95"], q["p95"])


def test_strata_get_their_own_width_and_an_unknown_stratum_the_widest():
    rng = np.random.default_rng(2)
    n = 4000
    predicted = rng.lognormal(6, 1.5, n)
    stratum = np.where(rng.random(n) < 0.5, "reported", "unreported")
    sigma = np.where(stratum == "reported", 0.2, 1.2)
    reported = np.expm1(np.log1p(predicted) + sigma * rng.standard_normal(n))
    cal = calibration.fit(predicted, reported, stratum, n_bins=3, min_cells=200)
    assert set(cal.frame["stratum"]) == {"reported", "unreported"}
    test = np.full(6, 5000.0)
    q = cal.apply(test, np.array(["reported"] * 2 + ["unreported"] * 2 + ["elsewhere"] * 2))
    ratio = q["p95"] / q["p05"]
    assert ratio[0] < 2 < 20 < ratio[2] and ratio[4] == ratio[2]
    # coverage holds in each stratum, cross-fitted over folds
    cells = pd.DataFrame({"fold": rng.integers(0, 5, n), "predicted": predicted, "reported": reported,
                          "stratum": stratum})
    out = calibration.cross_calibrated(cells, n_bins=3, min_cells=100)
    for _, part in out.groupby("stratum"):
        assert 0.86 < metrics.coverage(part["reported"], part["calibrated_p05"], part["calibrated_p95"]) < 0.94


def test_signed_values_are_calibrated_on_the_population_scale():
    rng = np.random.default_rng(3)
    n = 3000
    population = rng.lognormal(15, 1.5, n)
    estimate = rng.normal(0, 0.003, n) * population
    reported = estimate + rng.normal(0, 0.002, n) * population
    cal = calibration.fit(estimate, reported, scale=population, kind=calibration.SHARE, n_bins=4, min_cells=200)
    q = cal.apply(estimate, scale=population)
    assert 0.86 < metrics.coverage(reported, q["p05"], q["p95"]) < 0.94
    # the width is in persons, proportional to the population; std near the noise's
    assert np.median(q["std"] / population) == pytest.approx(0.002, rel=0.15)
    assert (q["p05"] < 0).any() and (q["p05"] <= q["p50"]).all() and (q["p50"] <= q["p95"]).all()


def test_reported_values_in_the_flow_scale_undo_the_sources_bias_and_elasticity():
    flow = np.array([10.0, 1000.0, 50_000.0])
    bias, elasticity = np.array([-0.5] * 3), np.array([0.2] * 3)
    u = np.log1p(flow)
    reported = np.expm1(u + bias + elasticity * (u - np.log(1000.0)))  # as the model reports its flow
    np.testing.assert_allclose(calibration.as_flow(reported, bias, elasticity), flow, rtol=0.02)
    np.testing.assert_allclose(calibration.as_flow(reported, 0 * bias, 0 * elasticity), reported)


def test_no_calibration_without_enough_cells():
    assert calibration.fit(np.ones(10), np.ones(10), min_cells=200) is None
    cells = pd.DataFrame({"fold": [0] * 300 + [1] * 20, "predicted": 10.0, "reported": 12.0})
    out = calibration.cross_calibrated(cells, min_cells=200)
    # fold 1 is calibrated on fold 0's 300 cells; fold 0 on fold 1's 20 only: not possible
    assert out.loc[out["fold"] == 0, "calibrated_p95"].isna().all()
    np.testing.assert_allclose(out.loc[out["fold"] == 1, "calibrated_p50"], 12.0)


def test_corridor_draws_sum_edges_by_origin_and_destination():
    codes = {"AAA": 0, "BBB": 1, "CCC": 2}
    # edges (birth, origin, destination): two groups moving A -> B, one moving B -> C
    edges = np.array([[0, 2, 1], [0, 0, 1], [1, 1, 2]])
    flows = np.arange(12, dtype=float).reshape(2, 2, 3)  # (passes, years, edges)
    corridors = pd.DataFrame({"origin": ["AAA", "BBB", "CCC"], "destination": ["BBB", "CCC", "AAA"]})
    out = corridor_draws(flows, edges, corridors, codes)
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[..., 0], flows[..., 0] + flows[..., 1])
    np.testing.assert_allclose(out[..., 1], flows[..., 2])
    np.testing.assert_allclose(out[..., 2], 0.0)  # no edge: a flow of 0


def test_wpp_net_migration_is_the_demographic_residual():
    demography = pd.DataFrame({"year": [2000, 2001, 2002], "country": "AAA", "population": [100.0, 110.0, 115.0],
                               "births": [5.0, 4.0, 3.0], "deaths": [2.0, 2.0, 2.0]})
    net = anchors.wpp_net_migration(demography)
    assert net["net_migration"].tolist() == [7.0, 3.0] and net["year"].tolist() == [2000, 2001]


def test_five_year_cells_need_all_five_years_and_read_abel_cohen_by_method():
    years = list(range(1990, 1995))
    annual = pd.DataFrame({"year": years * 2 + [1995], "origin": ["AAA"] * 5 + ["BBB"] * 5 + ["AAA"],
                           "destination": "CCC", "source": ["s"] * 5 + ["s"] * 5 + ["s"],
                           "reported": 10.0, "ours_heldout": 1.0, "gaskin_abel": 2.0})
    annual = annual.drop(index=9)  # BBB -> CCC misses 1994: not a complete period
    ac = pd.DataFrame({"period_start": 1990, "period_end": 1995, "method": ["da_pb_closed", "mig_rate"],
                       "origin": "AAA", "destination": "CCC", "flow": [30.0, 40.0]})
    population = pd.DataFrame({"year": [1990], "country": ["AAA"], "population": [1000.0]})
    regions = pd.DataFrame({"country": ["AAA"], "region": ["Somewhere"]})
    five = anchors.five_year_flows(annual, ac, population, regions)
    assert len(five) == 1
    row = five.iloc[0]
    assert row["period"] == "1990-1995" and row["reported"] == 50 and row["ours_heldout"] == 5
    assert row["da_pb_closed"] == 30 and row["mig_rate"] == 40 and row["sd_drop_neg"] == 0
    assert row["origin_population"] == 1000 and row["origin_region"] == "Somewhere"


def test_abel_cohen_net_migration_is_inflow_minus_outflow():
    annual = pd.DataFrame({"year": np.repeat(range(1990, 1995), 2), "country": ["AAA", "BBB"] * 5,
                           "reported": 1.0, "ours_ensemble": 2.0, "gaskin_abel": 3.0})
    ac = pd.DataFrame({"period_start": 1990, "method": "da_pb_closed", "origin": ["AAA", "BBB"],
                       "destination": ["BBB", "AAA"], "flow": [100.0, 30.0]})
    five = anchors.five_year_net_migration(annual, ac).set_index("country")
    assert five.loc["AAA", "da_pb_closed"] == -70 and five.loc["BBB", "da_pb_closed"] == 70
    assert five.loc["AAA", "reported"] == 5 and five.loc["AAA", "mig_rate"] == 0


def test_anchor_scores_put_every_method_on_the_same_cells():
    from migration_assets.validation.assets import anchor_scores

    rng = np.random.default_rng(3)
    countries = ["DEU", "FRA", "ITA", "POL", "ROU"]
    years = list(range(1990, 2005))
    pairs = [(o, d) for o in countries for d in countries if o != d]
    cells = pd.DataFrame([(y, o, d) for y in years for o, d in pairs], columns=["year", "origin", "destination"])
    cells["reported"] = rng.lognormal(7, 1.5, len(cells)).round()
    heldout = cells.assign(source="register", fold=np.arange(len(cells)) % 5, predicted=cells["reported"])
    flows = cells.assign(mean=cells["reported"] * 2)  # twice the level, perfectly correlated
    paper = cells.assign(flow=cells["reported"] * rng.lognormal(0, 0.5, len(cells)))
    net = pd.DataFrame([(y, c) for y in years for c in countries], columns=["year", "country"])
    net["mean"] = rng.normal(0, 1e4, len(net))
    demography = net.assign(population=1e6 + net["year"] * 10.0, births=1e4, deaths=1e4)
    # WPP net migration = population change - births + deaths = 10 per year for every country
    national = net.assign(net_migration=net["mean"])[["year", "country", "net_migration"]]
    ac = pd.DataFrame([(p, p + 5, m, o, d, rng.lognormal(8, 1)) for p in (1990, 1995) for m in anchors.AC_METHODS
                       for o, d in pairs], columns=["period_start", "period_end", "method", "origin", "destination",
                                                    "flow"])
    stocks = pd.DataFrame([(y, b, r, rng.lognormal(9, 1)) for y in years for b in countries for r in countries],
                          columns=["year", "birth", "residence", "mean"])
    wide = stocks.set_index(["year", "birth", "residence"])["mean"]
    targets = pd.DataFrame([(1990, 1995, b, r, wide[(1995, b, r)] - wide[(1990, b, r)], 1.0)
                            for b in countries for r in countries if b != r],
                           columns=["year_start", "year_end", "birth", "residence", "stock_change", "weight"])
    # the classic methods computed in the pipeline: also for 2000-2005, a period Abel & Cohen did not publish
    classic = pd.DataFrame([(p, p + 5, o, d, m, 10.0 * p + len(o + m)) for p in (1990, 1995, 2000)
                            for m in anchors.AC_METHODS for o, d in pairs],
                           columns=["year_start", "year_end", "origin", "destination", "method", "flow"])
    scores, parts = anchor_scores(heldout, flows, net, stocks, paper, net.assign(std=1.0), ac, demography,
                                  national, targets, demography[["year", "country", "population"]], classic)
    pooled = scores[scores["stratum_kind"] == "pooled"].set_index(["comparison", "method", "metric"])["value"]
    assert pooled[("annual_heldout_flows", "ours_heldout", "pearson")] == pytest.approx(1)
    assert pooled[("annual_heldout_flows", "ours_ensemble", "pearson_proportion")] == pytest.approx(1)
    assert pooled[("annual_heldout_flows", "gaskin_abel", "pearson_log1p")] < 0.99
    assert pooled[("net_migration_national", "ours_ensemble", "pearson")] == pytest.approx(1)
    assert pooled[("stock_change", "ours_ensemble", "pearson")] == pytest.approx(1)
    # five-year cells: 20 corridors x 2 complete periods, all six Abel & Cohen methods on them, as published
    # and as computed in the pipeline, over the published periods only
    assert len(parts["five_year_flows"]) == 40
    five = scores[scores["comparison"] == "five_year_flows"]
    assert set(five["method"]) == {"ours_heldout", "gaskin_abel", *anchors.AC_METHODS, *anchors.CLASSIC_METHODS}
    assert set(five.loc[five["stratum_kind"] == "period", "stratum"]) == {"1990-1995", "1995-2000"}
    assert five.groupby("method")["cells"].max().nunique() == 1
    assert (parts["five_year_flows"]["classic_da_pb_closed"] > 19_000).all()
    assert set(anchors.CLASSIC_METHODS) <= set(parts["five_year_net_migration_wpp"].columns)
    # signed comparisons carry only the correlations that mean something for them
    assert set(scores.loc[scores["comparison"] == "net_migration_wpp", "metric"]) == {"pearson", "spearman"}
    regions = set(scores.loc[scores["stratum_kind"] == "origin_region", "stratum"])
    assert "Western Europe" in regions and "unknown" not in regions


def test_stock_changes_by_size_sums_ours_over_the_uns_changes_in_each_class():
    """accuracy.py's and fold_experiment.py's measure of how much of the UN's stock changes the
    members reproduce: sums by class of the UN's change, and their ratio."""
    reported = np.array([250_000.0, 150_000.0, 20_000.0, 500.0, -40_000.0])
    ours = np.array([200_000.0, 100_000.0, 5_000.0, 9_999.0, -10_000.0])
    table = anchors.stock_changes_by_size(reported, ours).set_index("change")
    assert table.loc[">= 100,000", "cells"] == 2
    assert table.loc[">= 100,000", "ours_over_un"] == pytest.approx(300_000 / 400_000)
    assert table.loc["10,000-100,000", "ours_over_un"] == pytest.approx(0.25)
    assert table.loc["<= -30,000", "ours_over_un"] == pytest.approx(0.25)


def test_true_five_year_flows_cover_every_corridor_beside_ours_and_the_classic_methods():
    countries = ["AAA", "BBB", "CCC"]
    truth = pd.DataFrame([(y, "AAA", "BBB", 10.0) for y in range(1990, 2000)] + [(1990, "BBB", "CCC", 7.0)],
                         columns=["year", "origin", "destination", "flow"])
    truth = pd.concat([truth, pd.DataFrame({"year": 1999, "origin": "CCC", "destination": countries[:2],
                                            "flow": 0.0})])
    ours = truth.rename(columns={"flow": "mean"}).assign(mean=lambda f: f["mean"] * 2)
    classic = pd.DataFrame({"year_start": [1990, 1995], "year_end": [1995, 2000], "origin": "AAA",
                            "destination": "BBB", "method": "da_pb_closed", "flow": [40.0, 45.0]})
    observed = pd.DataFrame({"origin": ["AAA"], "destination": ["BBB"]})
    cells = anchors.five_year_true_flows(truth, ours, anchors.classic_baselines(classic), anchors.CLASSIC_METHODS,
                                         observed)
    assert len(cells) == 2 * 6  # both periods, every ordered pair of distinct countries
    cell = cells.set_index(["period", "origin", "destination"])
    assert cell.loc[("1990-1995", "AAA", "BBB"), "reported"] == 50
    assert cell.loc[("1990-1995", "AAA", "BBB"), "ours_ensemble"] == 100
    assert cell.loc[("1995-2000", "AAA", "BBB"), "classic_da_pb_closed"] == 45
    assert cell.loc[("1990-1995", "BBB", "CCC"), "reported"] == 7
    assert cell.loc[("1990-1995", "CCC", "AAA"), ["reported", "ours_ensemble", "classic_mig_rate"]].eq(0).all()
    assert cell.loc[("1990-1995", "AAA", "BBB"), "corridors"] == "observed"
    assert (cells["corridors"] == "never_observed").sum() == 2 * 5
