"""Incremental yearly updates on a small synthetic world: release 1990-2022, then add 2023.

The sensor's change detection lands the releases and the automation conditions carry them
downstream, tick by tick, as `dagster dev` would (migration_assets.automation.run_until_quiet).
"""

from collections import Counter
from types import SimpleNamespace

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
import torch
from dagster_duckdb import DuckDBResource

from migration_assets import runner
from migration_assets.automation import run_until_quiet
from migration_assets.definitions import defs
from migration_assets.model import update
from migration_assets.model.loss import predictions
from migration_assets.model.network import EdgeStructure, bilateral, net_migration, roll
from migration_assets.model.tensors import PANEL_INPUTS, build_inputs, build_targets
from migration_assets.model.train import TrainConfig, fit, new_model
from migration_assets.partitions import YEARLY_PANEL, YEARLY_RAW, member_index
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource
from migration_assets.sensors import land_releases, release_requests

WORLD = {"n_countries": 8, "end_year": 2023, "seed": 3}
MEMBERS = ["m00", "m01"]
TRAIN = {"epochs": 150, "hidden": 8}
OPS = {"models__member": {"config": TRAIN},
       "flow_validation": {"config": {"samples_per_member": 2, "min_cells_per_bin": 5, "min_cells_per_stratum": 5}},
       "ensemble_estimates": {"config": {"samples_per_member": 2}}}


def panel(db: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(db, read_only=True) as con:
        return {name: con.sql(f"select * from panel.{name}").df() for name in
                [*PANEL_INPUTS, "stock_targets", "net_migration_targets", "flow_targets"]}


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("incremental")
    db = str(tmp / "warehouse.duckdb")

    def resources(last: int) -> dict:
        return {"io_manager": WarehouseIOManager(database=db), "warehouse": DuckDBResource(database=db),
                "model_store": ModelStore(root=str(tmp / "models")),
                "source": SyntheticSource(**WORLD, released_through=last)}

    with dg.DagsterInstance.ephemeral() as instance:
        cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
        first = resources(2022)
        land_releases(instance, first)
        cursor, bootstrap = run_until_quiet(defs, instance, first, cursor, OPS)
        for m in MEMBERS:  # the user chooses the ensemble; automation keeps it up to date
            runner.train_member(first, instance, m, TRAIN)
        cursor, _ = run_until_quiet(defs, instance, first, cursor, OPS)
        with duckdb.connect(db, read_only=True) as con:
            before = con.sql("select * from estimates.flows").df()
        mark = instance.get_run_records()[0].create_timestamp.timestamp()

        second = resources(2023)
        landed = land_releases(instance, second)
        cursor, done = run_until_quiet(defs, instance, second, cursor, OPS)
        after_update_requests = release_requests(instance, second["source"])
        final_tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        runs = [r for r in instance.get_run_records() if r.create_timestamp.timestamp() > mark]
        materialized = Counter()
        for run in runs:
            for record in instance.get_records_for_run(run.dagster_run.run_id,
                                                      of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records:
                mat = record.event_log_entry.asset_materialization
                materialized[(mat.asset_key.to_user_string(), mat.partition)] += 1
        members = {m: instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey(["models", "member"]), asset_partitions=[m]), limit=1
        ).records[0].asset_materialization.metadata for m in MEMBERS}
        recurrence = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey(["estimates", "flows_by_birth"]), "recurrence_closes"))
        revision = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey(["estimates", "flows"]), "revisions_within_tolerance")).evaluation
        yield SimpleNamespace(db=db, bootstrap=bootstrap, landed=landed, done=done, before=before,
                              materialized=materialized, after_update_requests=after_update_requests,
                              final_tick=final_tick, members=members, revision=revision,
                              recurrence=recurrence, mark=mark, resources=second)


def test_a_new_year_lands_only_that_year_of_the_yearly_tables(updated):
    assert sorted(updated.landed) == sorted((f"raw/{t}", "2023", "2023") for t in YEARLY_RAW)


def test_the_update_rebuilds_the_new_year_and_only_what_changed(updated):
    done = set(updated.done)
    for name in YEARLY_PANEL:
        assert {p for k, p in done if k == f"panel/{name}"} == {"2023"}
    # the bootstrap had built every year of them
    assert {p for k, p in updated.bootstrap if k == "panel/flow_targets"} == {str(y) for y in range(1990, 2023)}
    # tables whose content did not change stop the cascade: distances and the stock targets stay
    assert not {k for k, _ in done} & {"panel/dyads", "panel/stock_targets"}
    assert {p for k, p in done if k == "models/member"} == set(MEMBERS)  # only the members trained before
    assert {p for k, p in done if k == "estimates/flows"} == {str(y) for y in range(1990, 2024)}
    assert ("validation/calibration", None) in done


def test_nothing_ran_twice_and_nothing_is_left_to_do(updated):
    assert max(updated.materialized.values()) == 1, [k for k, n in updated.materialized.items() if n > 1]
    assert set(updated.materialized) == set(updated.done) | {(k, y) for k, y, _ in updated.landed}
    assert updated.after_update_requests == []
    assert updated.final_tick.total_requested == 0
    # the empty year partitions after 2023 (the calendar has reached them) stalled nothing
    assert ("estimates/flows", "2024") not in updated.materialized


def heldout_log_errors(model, inputs, heldout) -> np.ndarray:
    """|log1p(predicted) - log1p(reported)| on the observed flows of a member's held-out corridors."""
    structure = EdgeStructure(inputs.edges, inputs.n_countries)
    x = inputs.to(torch.float32)
    with torch.no_grad():
        flows, stocks = roll(model, x, structure=structure)
        pred = predictions(flows, stocks, bilateral(flows, structure), net_migration(flows, structure), heldout,
                           inputs.n_countries, model.source_bias, model.source_elasticity)["flow"]
    return (torch.log1p(pred.clamp_min(0)) - torch.log1p(heldout.flow_value)).abs().numpy()


def test_the_invariant_checks_ran_again_on_the_rewritten_estimates(updated):
    assert updated.recurrence.create_timestamp > updated.mark and updated.recurrence.evaluation.passed


def test_members_were_warm_started_and_match_a_full_retrain_on_held_out_corridors(updated):
    frames = panel(updated.db)
    inputs = build_inputs(*(frames[n] for n in PANEL_INPUTS))
    targets = build_targets(frames["countries"], inputs.years, frames["stock_targets"],
                            frames["net_migration_targets"], frames["flow_targets"])
    assert inputs.years[-1] == 2023
    store = updated.resources["model_store"]
    torch.set_num_threads(1)
    warm_errors, full_errors = [], []
    for key in MEMBERS:
        meta = updated.members[key]
        assert meta["update"].value == "warm" and meta["new_years"].value == [2023]
        assert meta["epochs"].value == TrainConfig.finetune_epochs
        m = member_index(key)
        heldout, train = targets.only_fold(m % 5), targets.without_fold(m % 5)
        state, record = store.load(key)
        warm = new_model(inputs, len(record["sources"]), record["train"]["hidden"])
        warm.load_state_dict(state)
        full, _ = fit(inputs, train, TrainConfig(**TRAIN), seed=m)
        warm_errors.append(heldout_log_errors(warm, inputs, heldout))
        full_errors.append(heldout_log_errors(full, inputs, heldout))
    # pooled over the members' held-out cells, as the validation pools folds: a warm start after
    # 15 epochs is within 0.1 (about 10 %) of a full 150-epoch retrain in mean absolute log error
    warm_error, full_error = np.concatenate(warm_errors).mean(), np.concatenate(full_errors).mean()
    assert warm_error <= full_error + 0.1, (warm_error, full_error)


def test_revisions_of_earlier_years_are_checked_and_listed_by_corridor(updated):
    check = updated.revision
    assert check.metadata["compared_years"].value == "1990-2022"
    assert "origin" in check.metadata["largest_revisions_by_corridor"].value
    assert check.passed, {k: v.value for k, v in check.metadata.items()}


def test_the_update_writes_every_revision_larger_than_its_interval(updated):
    """estimates.revisions holds every corridor-year of the earlier years whose mean moved by more
    than half its earlier p05-p95 width (and the largest moves besides), with the move in persons,
    relative and in interval widths."""
    with duckdb.connect(updated.db, read_only=True) as con:
        table = con.sql("select * from estimates.revisions").df()
        after = con.sql("select year, origin, destination, mean from estimates.flows where year <= 2022").df()
    both = updated.before.merge(after, on=["year", "origin", "destination"], suffixes=("_before", "_after"))
    moved = both[(both["mean_after"] - both["mean_before"]).abs() > (both["p95"] - both["p05"]) / 2]
    key = ["year", "origin", "destination"]
    assert len(table) >= len(moved) and table["year"].max() <= 2022  # 2023 is new, not a revision
    assert set(map(tuple, moved[key].values)) <= set(map(tuple, table[key].values))
    row = table.iloc[0]  # the largest move first
    assert row["change"] == pytest.approx(row["now"] - row["earlier"])
    assert abs(row["change"]) == pytest.approx(table["change"].abs().max())


def _targets(net_2000: float) -> dict[str, pd.DataFrame]:
    return {
        "stock_targets": pd.DataFrame({"year_start": [1990], "year_end": [1995], "birth": ["AAA"],
                                       "residence": ["BBB"], "stock_change": [100.0]}),
        "net_migration_targets": pd.DataFrame({"year": [2000, 2001], "country": ["AAA", "AAA"],
                                               "net_migration": [net_2000, -50.0]}),
        "flow_targets": pd.DataFrame({"year": [2000], "origin": ["AAA"], "destination": ["BBB"],
                                      "source": ["s"], "flow": [10.0]}),
    }


def test_a_member_is_retrained_from_scratch_when_history_or_code_changes():
    record = {"code_version": "gru-v2", "model_digest": "x", "countries": ["AAA", "BBB"], "sources": ["s"],
              "years": [2000, 2001]}
    grown = {**record, "years": [2000, 2001, 2002]}
    assert update.plan(None, None, grown, _targets(-100.0), 0.05).mode == "full"
    warm = update.plan(record, _targets(-100.0), grown, _targets(-102.0), 0.05)
    assert warm.mode == "warm" and warm.new_years == [2002] and warm.revision["net_migration_targets"] < 0.05
    revised = update.plan(record, _targets(-100.0), grown, _targets(-200.0), 0.05)
    assert revised.mode == "full" and "net_migration_targets" in revised.reason
    recoded = update.plan(record, _targets(-100.0), {**grown, "code_version": "gru-v3"}, _targets(-100.0), 0.05)
    assert recoded.mode == "full" and "code version" in recoded.reason


def test_revisions_by_corridor_year_keep_moves_beyond_half_the_interval_and_the_largest():
    from migration_assets.ensemble import revisions

    earlier = pd.DataFrame({"year": [2020, 2020, 2021, 2021], "origin": ["A", "B", "A", "B"],
                            "destination": ["B", "A", "B", "A"], "mean": [100.0, 50.0, 80.0, 10.0],
                            "p05": [60.0, 30.0, 70.0, 5.0], "p95": [140.0, 70.0, 90.0, 20.0]})
    now = pd.DataFrame({"year": [2020, 2020, 2021, 2022], "origin": ["A", "B", "A", "A"],
                        "destination": ["B", "A", "B", "B"], "mean": [150.0, 51.0, 80.0, 5.0]})
    table = revisions.corridor_years(earlier, now, top=1)
    # A->B 2020 moved 50 (half width 40); B->A 2021 vanished (-10, half width 7.5); B->A 2020 moved 1 only
    assert table[["year", "origin", "change"]].values.tolist() == [[2020, "A", 50.0], [2021, "B", -10.0]]
    assert table["interval_units"].tolist() == pytest.approx([50 / 80, 10 / 15])
    assert table["outside_interval"].tolist() == [1, 1]
    assert revisions.corridor_years(earlier.iloc[:0], now).empty  # a first run revises nothing
    assert revisions.corridor_years(earlier, earlier).empty  # nor does an identical rerun


def test_a_member_whose_inputs_and_settings_are_unchanged_is_kept_as_it_is():
    record = {"code_version": "gru-v2", "model_digest": "x", "countries": ["AAA", "BBB"], "sources": ["s"],
              "years": [2000, 2001], "inputs_digest": update.inputs_digest(_targets(-100.0))}
    same = update.plan(record, _targets(-100.0), dict(record), _targets(-100.0), 0.05)
    assert same.mode == "unchanged" and "nothing trained" in same.reason
    covariates = update.plan(record, _targets(-100.0), {**record, "inputs_digest": "other"}, _targets(-100.0), 0.05)
    assert covariates.mode == "warm" and "other than the targets" in covariates.reason
    revised = update.plan(record, _targets(-100.0), {**record, "inputs_digest": "other"}, _targets(-101.0), 0.05)
    assert revised.mode == "warm" and "within the threshold" in revised.reason
    # the digest reads content, not row order (a rewritten year partition moves to the end of its table)
    shuffled = {k: v.iloc[::-1] for k, v in _targets(-100.0).items()}
    assert update.inputs_digest(shuffled) == record["inputs_digest"]
    assert update.inputs_digest(_targets(-100.5)) != record["inputs_digest"]


def test_revisions_compare_years_both_estimates_cover_and_rank_corridors():
    from migration_assets.ensemble import revisions

    earlier = pd.DataFrame({"year": [2000, 2000, 2001], "origin": ["A", "B", "A"], "destination": ["B", "A", "B"],
                            "mean": [100.0, 900.0, 100.0], "p05": [50.0, 800.0, 50.0], "p95": [150.0, 1000.0, 150.0]})
    now = pd.DataFrame({"year": [2000, 2000, 2001, 2002], "origin": ["A", "B", "A", "A"],
                        "destination": ["B", "A", "B", "B"], "mean": [200.0, 910.0, 100.0, 5.0]})
    r = revisions.compare(earlier, now)
    assert r.years == [2000, 2001]  # 2002 is new, not a revision
    assert r.global_change[2000] == pytest.approx(0.11) and r.global_change[2001] == 0.0
    # A->B 2000 moved by 100, more than half its interval (50): 100 of the 1100 persons published
    assert r.beyond_share == pytest.approx(100 / 1100)
    assert list(r.corridors["origin"]) == ["A", "B"] and r.corridors["revision"].iloc[0] == 100.0
    assert not r.passed(revisions.Tolerance()) and r.passed(revisions.Tolerance(global_total=0.2))


def test_the_release_calendar_downloads_again_only_files_whose_publisher_version_changed(tmp_path):
    import json

    from migration_assets import fetch
    from migration_assets.sensors import reissued_downloads

    reissued = [e for e in fetch.load_catalog() if not e.sha256 and not e.manual]
    kept, changed, unknown, offline = (e.path for e in reissued[:4])
    for path in (kept, changed, unknown, offline):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    files = {p: {"etag": '"v1"'} for p in (kept, changed, offline)}
    (tmp_path / fetch.STATE_FILE).write_text(json.dumps({"version": 1, "files": files}))
    servers = {e.url: e.path for e in reissued}

    def version(url):
        path = servers[url]
        if path == offline:
            raise OSError("unreachable")
        return {"etag": '"v2"' if path == changed else '"v1"'}

    due = {e.path for e in reissued_downloads(tmp_path, version)}
    assert due == {changed, unknown}  # a file never recorded is fetched again; an unreachable server waits
