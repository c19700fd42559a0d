"""The numerics of model/: recurrence, flow parameterisation, loss, training and ensemble summaries."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from migration_assets.model.ensemble import Ensemble, MemberPasses
from migration_assets.model.loss import Scales, banded_loss, level_loss, loss_terms, predictions, psi
from migration_assets.model import network
from migration_assets.model.network import EdgeStructure, bilateral, net_migration, roll
from migration_assets.model.tensors import AIM_AHEAD, PANEL_INPUTS, TREND_LIMIT, build_inputs, stock_next, stock_trend
from migration_assets.model.train import (TrainConfig, device_for, evaluate, fit, new_model, simulate, simulate_once,
                                          windows)
from migration_assets.synthetic import WorldConfig, generate_world

from .conftest import model_data, panel_frames


@pytest.fixture(scope="module")
def tiny():
    world = generate_world(WorldConfig(n_countries=6, end_year=2000, seed=5))
    inputs, targets = model_data(world)
    return world, inputs, targets


def _random_model(inputs, targets, seed=0):
    torch.manual_seed(seed)
    model = new_model(inputs, len(targets.sources), hidden=8)
    with torch.no_grad():  # make flows large enough to matter
        model.head[-1].bias.fill_(-1.0)
    return model


def test_recurrence_closes_exactly(tiny):
    _, inputs, targets = tiny
    x = inputs.to(torch.float64)
    model = _random_model(inputs, targets).double()
    with torch.no_grad():
        flows, stocks = roll(model, x)
    e = x.edges.numpy()
    f, s = flows.numpy(), stocks.numpy()
    n = x.n_countries
    for t in range(len(x.years)):
        inflow = np.zeros((n, n))
        outflow = np.zeros((n, n))
        np.add.at(inflow, (e[0], e[2]), f[t])
        np.add.at(outflow, (e[0], e[1]), f[t])
        expected = (1 - x.death_rate[t].numpy())[None, :] * s[t] + np.diag(x.births[t].numpy()) + inflow - outflow
        assert np.abs(s[t + 1] - expected).max() <= 1e-9 * s[t].max()


def test_flows_are_a_share_of_survivors(tiny):
    _, inputs, targets = tiny
    model = _random_model(inputs, targets).double()
    x = inputs.to(torch.float64)
    with torch.no_grad():
        flows, stocks = roll(model, x)
    es = EdgeStructure(x.edges, x.n_countries)
    assert (flows > 0).all()
    assert (stocks >= 0).all()
    for t in range(len(x.years)):
        leaving = torch.zeros(x.n_countries ** 2, dtype=torch.float64).index_add(0, es.cell_from, flows[t])
        survivors = ((1 - x.death_rate[t])[None, :] * stocks[t]).reshape(-1)
        assert (leaving <= survivors + 1e-9).all()
    assert not (es.origin == es.destination).any()


def test_group_share_is_a_stable_softmax_with_a_stay_option():
    edges = torch.tensor([[0, 0, 0, 1], [0, 0, 0, 1], [1, 2, 3, 0]])
    es = EdgeStructure(edges, 4)
    logits = torch.tensor([500.0, 500.0, -500.0, 0.0], dtype=torch.float64)
    share = es.group_share(logits)
    assert torch.isfinite(share).all()
    assert share[:3].sum() <= 1 and share[0] == pytest.approx(0.5)
    moderate = es.group_share(torch.tensor([2.0, 1.0, 0.0, 0.0], dtype=torch.float64))
    assert moderate[:3].sum() == pytest.approx((np.e**2 + np.e + 1) / (1 + np.e**2 + np.e + 1))
    assert share[3] == pytest.approx(0.5)  # exp(0) / (1 + exp(0))


def test_aggregates_match_dense_sums(tiny):
    _, inputs, targets = tiny
    model = _random_model(inputs, targets)
    with torch.no_grad():
        flows, _ = roll(model, inputs.to(torch.float32))
    es = EdgeStructure(inputs.edges, inputs.n_countries)
    n = inputs.n_countries
    dense = np.zeros((len(inputs.years), n, n, n))
    e = inputs.edges.numpy()
    for t in range(len(inputs.years)):
        dense[t, e[0], e[1], e[2]] = flows[t].numpy()
    f = dense.sum(1)
    np.testing.assert_allclose(bilateral(flows, es).numpy().reshape(-1, n, n), f, rtol=1e-5)
    np.testing.assert_allclose(net_migration(flows, es).numpy(), f.sum(1) - f.sum(2), rtol=1e-4, atol=1e-2)


def test_psi_is_odd_monotone_and_log_at_zero():
    x = torch.linspace(-1e6, 1e6, 1001, dtype=torch.float64)
    y = psi(x)
    assert torch.all(y[1:] > y[:-1])
    assert torch.allclose(psi(-x), -y)
    assert psi(torch.tensor(3.0), lam=0.0) == pytest.approx(np.log(4.0))


def test_banded_loss():
    y = torch.tensor([100.0, -400.0, 10_000.0])
    w = torch.ones(3)
    assert banded_loss(y, y, w, 10.0, 0.01) == 0
    assert banded_loss(y * 1.001, y, w, 10.0, 0.01) == 0  # inside the tolerance band
    far = banded_loss(y * 3, y, w, 10.0, 0.01)
    assert far > 0
    # a zero weight removes an entry
    assert banded_loss(torch.tensor([100.0, 5.0]), torch.tensor([100.0, 500.0]), torch.tensor([1.0, 0.0]), 10.0, 0.01) == 0


def test_flow_log_term_charges_small_corridors_by_their_ratio(tiny):
    """At λ = 0.5 a small corridor estimated at a sixth of what is reported costs next to nothing
    beside a large one estimated at half; in log space the small miss costs, and the large one is
    inside the band (left to the λ = 0.5 term)."""
    _, _, targets = tiny
    reported = torch.tensor([60.0, 100_000.0])
    flows = dataclasses.replace(targets, flow_value=reported, flow_weight=torch.ones(2),
                                flow_year=torch.zeros(2, dtype=torch.long), flow_source=torch.zeros(2, dtype=torch.long))
    scales = Scales.of(flows)
    assert scales.flow_log == pytest.approx(float(torch.log1p(reported.double()).std()))
    weights = TrainConfig().loss_weights()
    anchored = torch.zeros(len(targets.sources), dtype=torch.bool)
    bias = torch.zeros(len(targets.sources))

    def terms(small: float, large: float) -> dict:
        return loss_terms({"flow": torch.tensor([small, large]), "stock": targets.stock_change,
                           "stock_level": targets.stock_level, "net": targets.net_value},
                          flows, scales, weights, bias, anchored)

    small_off, large_off = terms(10.0, 100_000.0), terms(60.0, 50_000.0)
    assert small_off["flow"] < large_off["flow"] / 100
    assert small_off["flow_log"] > 0 and large_off["flow_log"] == 0
    assert terms(60.0, 100_000.0)["flow_log"] == 0
    # the term is the setting's: at weight 0 the small miss is free again
    off = TrainConfig(weight_flow_log=0.0).loss_weights()
    assert loss_terms({"flow": torch.tensor([10.0, 100_000.0]), "stock": targets.stock_change,
                       "stock_level": targets.stock_level, "net": targets.net_value},
                      flows, scales, off, bias, anchored)["flow_log"] == 0


def test_level_loss_compares_each_level_source_year_by_its_total(tiny):
    _, _, targets = tiny
    # two sources, two years: source 0 sets the level, source 1 does not
    flows = dataclasses.replace(
        targets, flow_year=torch.tensor([0, 0, 1, 1, 0]), flow_source=torch.tensor([0, 0, 0, 0, 1]),
        flow_value=torch.tensor([100.0, 300.0, 50.0, 50.0, 7.0]), sources=["meta_facebook", "oecd_b11"])
    anchored = torch.tensor([True, False])
    # the totals match in both years (400 and 100), however the cells are shared out: no loss
    assert level_loss(torch.tensor([250.0, 150.0, 1.0, 99.0, 1e6]), flows, anchored) == 0
    # half the total in year 0, twice it in year 1: mean of log(1/2)^2 and log(2)^2
    got = level_loss(torch.tensor([100.0, 100.0, 100.0, 100.0, 7.0]), flows, anchored)
    assert float(got) == pytest.approx(np.log(2) ** 2, rel=1e-5)
    # no level source: no term
    assert level_loss(torch.tensor([1.0] * 5), flows, torch.tensor([False, False])) == 0


def test_training_reduces_loss_is_seeded_and_uses_the_learning_rate(tiny):
    _, inputs, targets = tiny
    config = TrainConfig(hidden=8, epochs=25, learning_rate=0.02, log_every=5)
    model, history = fit(inputs, targets, config, seed=3)
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    again, history_again = fit(inputs, targets, config, seed=3)
    assert [r["loss"] for r in history] == [r["loss"] for r in history_again]
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)
    other, _ = fit(inputs, targets, TrainConfig(hidden=8, epochs=2, learning_rate=0.0), seed=3)
    torch.manual_seed(3)
    untrained = new_model(inputs, len(targets.sources), 8)
    for a, b in zip(other.state_dict().values(), untrained.state_dict().values()):
        assert torch.equal(a, b)  # learning rate 0 really means no step


def test_large_rolls_run_compiled_to_the_same_numbers(tiny, monkeypatch):
    """Rolls of at least COMPILE_MIN_EDGES edges (the real panel) take each year through torch.compile:
    training and the float64 inference passes give what the eager step gives."""
    from torch._inductor.cpp_builder import get_cpp_compiler
    try:
        get_cpp_compiler()
    except Exception as error:  # inductor needs a C++ compiler; without one every roll stays eager
        pytest.skip(f"no C++ compiler for torch.compile: {error}")
    _, inputs, targets = tiny
    config = TrainConfig(hidden=8, epochs=3, log_every=1)
    eager, eager_history = fit(inputs, targets, config, seed=3)
    eager_flows, eager_stocks = simulate(eager, inputs, 1, 0.1, seed=4)
    monkeypatch.setattr(network, "COMPILE_MIN_EDGES", 0)
    assert network.step_for(inputs.n_edges) is not network.year_step
    compiled, history = fit(inputs, targets, config, seed=3)
    flows, stocks = simulate(compiled, inputs, 1, 0.1, seed=4)
    assert [r["loss"] for r in history] == pytest.approx([r["loss"] for r in eager_history], rel=1e-4)
    assert np.allclose(flows, eager_flows, rtol=1e-3) and np.allclose(stocks, eager_stocks, rtol=1e-3)
    monkeypatch.setattr(network, "COMPILE_MIN_EDGES", 10**9)
    again, _ = simulate(compiled, inputs, 1, 0.1, seed=4)  # the same weights, eager: float64 to rounding
    assert np.allclose(flows, again, rtol=1e-9, atol=1e-9)


def test_training_on_the_device_found_gives_a_member_on_the_cpu(tiny):
    """`device: auto` trains on a CUDA device when there is one (the CPU here, the same numbers) and
    returns the member on the CPU, where it is stored and rolled for inference."""
    _, inputs, targets = tiny
    config = TrainConfig(hidden=8, epochs=3, log_every=1)
    found, history = fit(inputs, targets, config, seed=1, validation=targets.only_fold(0), device="auto")
    cpu, history_cpu = fit(inputs, targets, config, seed=1, validation=targets.only_fold(0), device="cpu")
    assert device_for("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert {p.device.type for p in found.parameters()} == {"cpu"}
    if not torch.cuda.is_available():
        assert [r["loss"] for r in history] == [r["loss"] for r in history_cpu]
        for a, b in zip(found.state_dict().values(), cpu.state_dict().values()):
            assert torch.equal(a, b)
    else:  # float32 on another device: the same member within rounding
        assert history[-1]["loss"] == pytest.approx(history_cpu[-1]["loss"], rel=1e-3)
    with pytest.raises(RuntimeError):
        fit(inputs, targets, config, seed=1, device="no-such-device")


def test_each_source_reports_with_a_bias_and_a_size_elasticity(tiny):
    """A source compares the model's flow F as F·exp(b + δ(log(1 + F) − log 1000)); the level
    sources (Meta) keep b = δ = 0 through training, the others learn theirs."""
    _, inputs, targets = tiny
    model = _random_model(inputs, targets)
    es = EdgeStructure(inputs.edges, inputs.n_countries)
    with torch.no_grad():
        flows, stocks = roll(model, inputs.to(torch.float32))
        args = (flows, stocks, bilateral(flows, es), net_migration(flows, es), targets, inputs.n_countries)
        plain = predictions(*args)["flow"]
        bias = torch.tensor([0.5, 0.0, -0.2])
        elasticity = torch.tensor([0.1, -0.3, 0.0])
        got = predictions(*args, bias, elasticity)["flow"]
    s = targets.flow_source
    expected = plain * torch.exp(bias[s] + elasticity[s] * (torch.log1p(plain) - np.log(1000.0)))
    assert torch.allclose(got, expected, rtol=1e-5)
    level = dataclasses.replace(TrainConfig(hidden=8, epochs=4), level_sources=(targets.sources[1],))
    trained, _ = fit(inputs, targets, level, seed=1)
    assert float(trained.source_elasticity.detach()[1]) == 0 and float(trained.source_bias.detach()[1]) == 0
    assert float(trained.source_elasticity.detach()[0]) != 0 and float(trained.source_elasticity.detach()[2]) != 0


def test_training_windows_cut_only_where_no_stock_change_spans(tiny):
    _, _, targets = tiny
    # stock points at 0, 5, 10, 15, 20, 25, 29, 30, and one target from 10 to 20 over 15
    t = dataclasses.replace(targets, stock_start=torch.tensor([0, 5, 10, 10, 15, 20, 25, 29]),
                            stock_end=torch.tensor([5, 10, 15, 20, 20, 25, 29, 30]))
    assert windows(34, t, 10) == [(0, 10), (10, 20), (20, 30), (30, 34)]
    assert windows(34, t, 5) == [(0, 5), (5, 10), (10, 20), (20, 25), (25, 30), (30, 34)]
    assert windows(34, t, 0) == [(0, 34)] == windows(34, t, 40)
    for length in (1, 3, 7, 12):
        spans = windows(34, t, length)
        assert spans[0][0] == 0 and spans[-1][1] == 34
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # consecutive, no gap
        inside = [any(a <= s and e <= b for a, b in spans) for s, e in zip(t.stock_start.tolist(), t.stock_end.tolist())]
        assert all(inside)  # every stock change lies inside one window


def test_stock_level_term_pins_the_stock_itself(tiny):
    _, inputs, targets = tiny
    x = inputs.to(torch.float32)
    model = _random_model(x, targets)
    es = EdgeStructure(x.edges, x.n_countries)
    with torch.no_grad():
        flows, stocks = roll(model, x, structure=es)
        pred = predictions(flows, stocks, bilateral(flows, es), net_migration(flows, es), targets, x.n_countries)
    cell = targets.stock_birth * x.n_countries + targets.stock_residence
    assert torch.equal(pred["stock_level"], stocks.reshape(stocks.shape[0], -1)[targets.stock_end, cell])
    scales = Scales.of(targets)
    on = dataclasses.replace(TrainConfig().loss_weights(), stock_level=1.0)
    exact = dataclasses.replace(targets, stock_level=pred["stock_level"].clone())
    assert loss_terms(pred, exact, scales, on, model.source_bias, torch.zeros(len(targets.sources), dtype=torch.bool))["stock_level"] == 0
    # a stock drained to a tenth of what was reported costs, whatever its changes
    drained = dataclasses.replace(targets, stock_level=pred["stock_level"] * 10 + 1000)
    assert loss_terms(pred, drained, scales, on, model.source_bias, torch.zeros(len(targets.sources), dtype=torch.bool))["stock_level"] > 0


def test_country_effects_start_at_zero_and_are_learned(tiny):
    _, inputs, targets = tiny
    torch.manual_seed(0)
    untrained = new_model(inputs, len(targets.sources), 8)
    for role in ("birth_effect", "origin_effect", "destination_effect"):
        assert getattr(untrained, role).shape == (inputs.n_countries, 8)
        assert not getattr(untrained, role).any()
    model, _ = fit(inputs, targets, TrainConfig(hidden=8, epochs=5), seed=0)
    assert model.origin_effect.abs().sum() > 0


def test_training_refuses_fewer_than_one_epoch(tiny):
    _, inputs, targets = tiny
    for bad in (dict(epochs=0), dict(epochs=-1), dict(finetune_epochs=0)):
        with pytest.raises(ValueError, match="at least 1"):
            fit(inputs, targets, TrainConfig(hidden=8, **bad), seed=0)


@pytest.mark.parametrize("window_years", [0, 3])  # one full-batch step an epoch, or one per window
def test_training_learns_the_observed_corridors(tiny, window_years):
    _, inputs, targets = tiny
    torch.manual_seed(0)
    before = evaluate(new_model(inputs, len(targets.sources), 16), inputs, targets)
    model, _ = fit(inputs, targets, TrainConfig(hidden=16, epochs=120, learning_rate=0.02, window_years=window_years),
                   seed=0)
    after = evaluate(model, inputs, targets)
    assert after["mae_flow"] < 0.5 * before["mae_flow"]
    assert after["mae_stock_change"] < 0.5 * before["mae_stock_change"]


def test_folds_split_flow_targets(tiny):
    _, _, targets = tiny
    train, held = targets.without_fold(0), targets.only_fold(0)
    assert train.flow_value.numel() + held.flow_value.numel() == targets.flow_value.numel()
    assert (held.flow_fold == 0).all() and (train.flow_fold != 0).all()
    assert torch.equal(train.stock_change, targets.stock_change)
    scales = Scales.of(train)
    assert scales.stock > 0 and scales.flow > 0 and scales.net > 0


def test_validation_keeps_the_passes_the_estimates_take(tiny):
    """simulate_once: the passes kept by the first caller (validation) are handed to the second (the
    estimates) when weights, inputs and settings are the same, and computed anew otherwise."""
    _, inputs, targets = tiny
    model = _random_model(inputs, targets)
    kept = simulate_once(model, inputs, 2, 0.1, seed=7, keep=True)
    assert simulate_once(model, inputs, 2, 0.1, seed=7, keep=True) is kept
    frames = panel_frames(tiny[0])  # the same panel, built again as each asset does
    again = build_inputs(*(frames[n] for n in PANEL_INPUTS))
    assert simulate_once(model, again, 2, 0.1, seed=7, keep=False) is kept  # handed over ...
    fresh = simulate_once(model, again, 2, 0.1, seed=7, keep=False)  # ... once
    assert fresh is not kept and all(np.array_equal(a, b) for a, b in zip(fresh, kept))
    assert all(np.array_equal(a, b) for a, b in zip(fresh, simulate(model, inputs, 2, 0.1, seed=7)))
    other = _random_model(inputs, targets, seed=1)
    assert not np.array_equal(simulate_once(other, inputs, 2, 0.1, seed=7, keep=False)[0], kept[0])
    assert not np.array_equal(simulate_once(model, inputs, 2, 0.1, seed=8, keep=False)[0], kept[0])


def test_simulate_and_ensemble_tables(tiny):
    _, inputs, targets = tiny
    members = []
    for seed in range(2):
        model = _random_model(inputs, targets, seed)
        flows, stocks = simulate(model, inputs, n_samples=3, stock_noise=0.1, seed=seed)
        assert flows.shape == (4, len(inputs.years), inputs.n_edges)
        # perturbed passes keep every country's 1-January population
        np.testing.assert_allclose(stocks[1:, 0].sum(1), np.broadcast_to(stocks[0, 0].sum(0), (3, inputs.n_countries)),
                                   rtol=1e-9)
        members.append(MemberPasses(flows, stocks))
    ens = Ensemble(members, inputs.countries, inputs.years, inputs.edges.numpy())
    year = inputs.years[3]
    fb, fl, st, nm = ens.flows_by_birth(year), ens.flows_bilateral(year), ens.stocks_on(year), ens.net_migration(year)
    for frame in (fb, fl, st, nm):
        assert (frame["p05"] <= frame["p50"] + 1e-9).all() and (frame["p50"] <= frame["p95"] + 1e-9).all()
        assert (frame["std"] >= 0).all()
    summed = fb.groupby(["origin", "destination"])["mean"].sum()
    np.testing.assert_allclose(fl.set_index(["origin", "destination"])["mean"].sort_index(), summed.sort_index())
    assert abs(nm["mean"].sum()) < 1e-6 * nm["mean"].abs().sum()
    # the mean is the average of the members' central passes
    e0 = members[0].flows[0, 3, 0], members[1].flows[0, 3, 0]
    assert fb["mean"].iloc[0] == pytest.approx(np.mean(e0))


def test_stock_trend_is_the_log_growth_between_un_stock_points():
    """Each flow year reads the log growth a year of the UN stock over the interval that holds it; the
    first interval's before the first point, the last interval's after the last, clipped; 0 for natives
    and for cells the UN does not report."""
    lookup = {"AAA": 0, "BBB": 1, "CCC": 2}
    stocks = pd.DataFrame({"year": [1990, 1995, 2000, 1990, 1995, 2000],
                           "birth": ["AAA"] * 3 + ["BBB"] * 3, "residence": ["BBB"] * 3 + ["CCC"] * 3,
                           "stock": [np.expm1(2.0), np.expm1(7.0), np.expm1(4.5), 0.0, 0.0, 4e6]})
    years = list(range(1988, 2003))
    trend = stock_trend(stocks, lookup, years).numpy()
    ab, bc = trend[:, 0, 1], trend[:, 1, 2]
    np.testing.assert_allclose(ab[years.index(1988):years.index(1995)], 1.0)  # (7 − 2) / 5, and before 1990
    np.testing.assert_allclose(ab[years.index(1995):], -0.5)  # (4.5 − 7) / 5, and after 2000
    assert (bc[:years.index(1995)] == 0).all()
    assert (bc[years.index(1995):] == TREND_LIMIT).all()  # log(4e6) / 5 = 3.04, clipped
    others = np.ones((3, 3), bool)
    others[0, 1] = others[1, 2] = False
    assert (trend[:, others] == 0).all()
    # a point one year before the next (another revision's last year) is skipped
    revision = pd.DataFrame({"year": [1999], "birth": ["AAA"], "residence": ["BBB"], "stock": [1e6]})
    np.testing.assert_array_equal(stock_trend(pd.concat([stocks, revision]), lookup, years).numpy(), trend)


def test_stock_next_aims_at_the_next_un_stock_point_and_then_along_the_last_growth():
    """Each flow year aims at log(1 + S) of the next stock point after 1 January, with the years to
    it; after the last point at the path the last interval's growth extrapolates AIM_AHEAD years on,
    never below 0; unreported cells aim at 0. A revision's off-grid year is skipped."""
    lookup = {"AAA": 0, "BBB": 1, "CCC": 2}
    stocks = pd.DataFrame({"year": [1990, 1995, 2000, 1990, 1995, 2000, 1999],
                           "birth": ["AAA"] * 3 + ["BBB"] * 3 + ["AAA"], "residence": ["BBB"] * 3 + ["CCC"] * 4,
                           "stock": [np.expm1(2.0), np.expm1(7.0), np.expm1(4.5), 0.0, np.expm1(3.0), 0.0, 50.0]})
    years = list(range(1988, 2004))
    aim, to_next = stock_next(stocks, lookup, years)
    aim, to_next = aim.numpy(), to_next.numpy()
    at = years.index
    np.testing.assert_allclose(to_next[at(1988):at(2000)], [2, 1, 5, 4, 3, 2, 1, 5, 4, 3, 2, 1])
    assert (to_next[at(2000):] == AIM_AHEAD).all()
    ab = aim[:, 0, 1]
    np.testing.assert_allclose(ab[[at(1988), at(1989)]], 2.0)
    np.testing.assert_allclose(ab[at(1990):at(1995)], 7.0)
    np.testing.assert_allclose(ab[at(1995):at(2000)], 4.5)
    # after 2000: 4.5 − 0.5 a year, AIM_AHEAD years after the flow year
    np.testing.assert_allclose(ab[at(2000):], [4.5 - 0.5 * (y + AIM_AHEAD - 2000) for y in years[at(2000):]])
    bc = aim[:, 1, 2]
    np.testing.assert_allclose(bc[at(1990):at(1995)], 3.0)
    assert (bc[at(2000):] == 0).all()  # falling at 0.6 a year from 0: held at log 1 = 0
    # AAA in CCC is reported only in 1999, skipped one year before 2000's point
    others = np.ones((3, 3), bool)
    others[0, 1] = others[1, 2] = False
    assert (aim[:, others] == 0).all()


def test_the_stock_trend_and_aim_reach_the_flows(tiny):
    _, inputs, targets = tiny
    assert inputs.stock_trend.abs().sum() > 0 and inputs.stock_next.abs().sum() > 0
    model = _random_model(inputs, targets)
    x = inputs.to(torch.float32)
    with torch.no_grad():
        flows = roll(model, x)[0]
        for name in ("stock_trend", "stock_next"):
            blind = roll(model, dataclasses.replace(x, **{name: torch.zeros_like(getattr(x, name))}))[0]
            assert not torch.allclose(flows, blind), name


def test_build_inputs_rejects_unknown_codes(tiny):
    world, _, _ = tiny
    frames = panel_frames(world)
    edges = frames["edges"].copy()
    edges.loc[0, "destination"] = "XXX"
    with pytest.raises(KeyError, match="XXX"):
        build_inputs(*(frames[n] for n in ["countries", "country_year", "dyads", "refugees", "initial_stocks"]), edges,
                     frames["stocks_january"])


def test_panel_frames_are_consistent(tiny):
    world, inputs, _ = tiny
    frames = panel_frames(world)
    pop = frames["country_year"].query("year == 1990").set_index("country")["population"]
    start = frames["initial_stocks"].groupby("residence")["stock"].sum()
    pd.testing.assert_series_equal(start.sort_index(), pop.sort_index(), check_names=False)
    assert inputs.initial_stocks.sum().item() == pytest.approx(pop.sum(), rel=1e-6)


def test_untrained_network_follows_the_migration_rate_prior(tiny):
    """With a silent head, natives move towards destinations in proportion to their diaspora and
    foreign-born return at the prior's base rate: the network starts from a plausible scale."""
    _, inputs, targets = tiny
    model = new_model(inputs, len(targets.sources), hidden=8).double()
    with torch.no_grad():
        model.head[-1].weight.zero_()
    x = inputs.to(torch.float64)
    with torch.no_grad():
        flows, _ = roll(model, x)
    e, s0 = x.edges, x.initial_stocks
    alpha, beta_native, beta_return, _ = model.prior.tolist()
    i = int(e[0][0])
    natives = (e[0] == i) & (e[1] == i)
    weights = ((1 + s0[i, e[2][natives]]) / (1 + s0[i, i])) ** alpha * np.exp(beta_native)
    expected = (1 - x.death_rate[0, i]) * s0[i, i] * weights / (1 + weights.sum())
    np.testing.assert_allclose(flows[0][natives].numpy(), expected.numpy(), rtol=1e-9)
    returning = (e[0] != e[1]) & (e[0] == e[2])
    rate = flows[0][returning] / ((1 - x.death_rate[0, e[1][returning]]) * s0[e[0][returning], e[1][returning]])
    assert rate.max() < np.exp(beta_return) * 1.0001  # at most the base return rate of the group
