"""On a small synthetic world the ensemble recovers the true flows of corridors it never saw
better than naive stock differencing (the guard against a model that only fits its targets)."""

import numpy as np
import pandas as pd
import pytest

from migration_assets.model.ensemble import Ensemble, MemberPasses
from migration_assets.model.train import TrainConfig, fit, simulate
from migration_assets.synthetic import WorldConfig, generate_world
from migration_assets.synthetic.scoring import heldout_corridors, score, stock_differencing

from .conftest import model_data


@pytest.fixture(scope="module")
def recovered():
    world = generate_world(WorldConfig(n_countries=12, end_year=2010, seed=2))
    inputs, targets = model_data(world)
    members = []
    for m in range(2):
        model, _ = fit(inputs, targets.without_fold(m), TrainConfig(epochs=120), seed=m)
        members.append(MemberPasses(*simulate(model, inputs, n_samples=4, stock_noise=0.1, seed=m)))
    ensemble = Ensemble(members, inputs.countries, inputs.years, inputs.edges.numpy())
    estimate = pd.concat([ensemble.flows_bilateral(y) for y in inputs.years], ignore_index=True)
    heldout = heldout_corridors(pd.concat([world.raw(n) for n in ["observed_flows", "meta_flows", "imfsc_flows"]]),
                                 world.countries)
    return world, inputs.years, estimate, heldout


def test_ensemble_beats_stock_differencing_on_heldout_corridors(recovered):
    world, years, estimate, heldout = recovered
    truth = world.truth("flows")
    ours = score(estimate, truth, heldout, years)
    naive = score(stock_differencing(world.raw("migrant_stocks"), years).rename(columns={"flow": "mean"}),
                  truth, heldout, years)
    assert len(heldout) > 50
    assert ours["pearson_r"] > naive["pearson_r"]
    assert ours["pearson_r_log1p"] > naive["pearson_r_log1p"] + 0.1
    assert ours["median_relative_error"] < naive["median_relative_error"]
    assert ours["pearson_r"] > 0.7


def test_intervals_are_not_degenerate(recovered):
    world, years, estimate, heldout = recovered
    result = score(estimate, world.truth("flows"), heldout, years)
    assert (estimate["p95"] > estimate["p05"]).mean() > 0.9
    assert 0.05 < result["coverage_p05_p95"] <= 1.0
    assert np.isfinite(estimate[["mean", "std", "p05", "p50", "p95"]].to_numpy()).all()
