"""The whole graph materialized in-process on a tiny synthetic world, and what bad input does to it."""

import json
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from migration_assets import runner
from migration_assets.definitions import build_defs, defs
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource
from migration_assets.schemas import ESTIMATES
from migration_assets.sources.migrant_stocks import matches_un_totals
from migration_assets_tests.conftest import graph_of

WORLD = {"n_countries": 6, "end_year": 2000, "seed": 1}
MEMBERS = ["m00", "m01"]
YEARS = list(range(1990, 2001))
GRAPH = graph_of(SyntheticSource())
ALL_YEARS = {"dagster/asset_partition_range_start": "1990", "dagster/asset_partition_range_end": "2000"}


class CorruptSource(SyntheticSource):
    """The tiny world with one deliberately broken raw table."""

    corruption: str = ""

    def table(self, name: str) -> pd.DataFrame:
        frame = super().table(name)
        if self.corruption == "negative_stock" and name == "migrant_stocks":
            frame.loc[3, "stock"] = -5.0
        if self.corruption == "missing_column" and name == "migrant_stocks":
            frame = frame.drop(columns=["stock"])
        if self.corruption == "unknown_country" and name == "migrant_stocks":
            frame.loc[2, "residence"] = "Germany"
        if self.corruption == "text_in_numbers" and name == "migrant_stocks":
            frame["stock"] = frame["stock"].astype(object)
            frame.loc[4, "stock"] = "12 345"
        if self.corruption == "totals_in_thousands" and name == "migrant_stock_totals":
            frame["foreign_born"] = frame["foreign_born"] / 1000
        if self.corruption == "odd_life_expectancy" and name == "demography":
            frame.loc[0, "life_expectancy"] = 3.0
        return frame


def _tables(db: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(db, read_only=True) as con:
        names = con.sql("select schema_name || '.' || table_name from duckdb_tables()").fetchall()
        return {n: con.sql(f"select * from {n}").df() for (n,) in names}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    db = str(tmp / "warehouse.duckdb")
    resources = {"io_manager": WarehouseIOManager(database=db), "model_store": ModelStore(root=str(tmp / "models")),
                 "source": CorruptSource(**WORLD), "warehouse": DuckDBResource(database=db)}
    with dg.DagsterInstance.ephemeral() as instance:
        inputs = runner.ingest(resources, instance, log=lambda *_: None)
        members = [runner.train_member(resources, instance, m, {"epochs": 15, "hidden": 8}) for m in MEMBERS]
        estimated = runner.estimate(resources, instance, validation_config={
            "samples_per_member": 2, "min_cells_per_bin": 5, "min_cells_per_stratum": 5},
            estimate_config={"samples_per_member": 3})
        # one run of the job `estimate`: the validation, then the estimates
        yield SimpleNamespace(db=db, resources=resources, instance=instance, inputs=inputs, members=members,
                              validation=estimated, estimates=estimated, models=tmp / "models")


def test_estimate_tables_have_the_documented_schema(run):
    with duckdb.connect(run.db, read_only=True) as con:
        for name, table in ESTIMATES.items():
            described = con.sql(f"describe estimates.{name}").fetchall()
            assert [(r[0], r[1]) for r in described] == [(c.name, c.dtype) for c in table.columns], name


def test_estimates_cover_every_year_and_are_coherent(run):
    t = _tables(run.db)
    flows, by_birth = t["estimates.flows"], t["estimates.flows_by_birth"]
    stocks, net = t["estimates.stocks"], t["estimates.net_migration"]
    for frame in (flows, by_birth, stocks, net):
        assert sorted(frame["year"].unique()) == YEARS
        assert (frame["p05"] <= frame["p50"] + 1e-6).all() and (frame["p50"] <= frame["p95"] + 1e-6).all()
        assert (frame["mean"] >= 0).all() or frame is net
    assert (flows["origin"] != flows["destination"]).all()
    countries = sorted(t["panel.countries"]["country"])
    assert sorted(net["country"].unique()) == countries
    natives = stocks[stocks["birth"] == stocks["residence"]]
    assert len(natives) == len(countries) * len(YEARS)
    # 1-January population of the estimates is the observed population in the first year
    first = stocks[stocks["year"] == 1990].groupby("residence")["mean"].sum()
    pop = t["raw.demography"].query("year == 1990").set_index("country")["population"]
    np.testing.assert_allclose(first.sort_index(), pop.sort_index(), rtol=1e-9)


def test_every_check_ran_and_passed(run):
    raw_checks = run.inputs.get_asset_check_evaluations()
    # 13 raw suites, 13 comparisons with what the warehouse holds (keeps_landed_data), matches_un_totals
    assert len(raw_checks) == 29 and all(e.passed for e in raw_checks)
    invariants = {e.check_name: e for e in run.estimates.get_asset_check_evaluations()
                  if e.asset_key.path[0] == "estimates"}
    assert set(invariants) == {"stocks_nonnegative", "no_self_flows", "net_migration_matches_flows",
                               "net_migration_sums_to_zero", "recurrence_closes", "revisions_within_tolerance"}
    assert all(e.passed for e in invariants.values())
    closes = invariants["recurrence_closes"].metadata
    assert closes["cells_checked"].value > 0 and closes["worst_relative_residual"].value < 1e-6


def test_validation_scores_each_cell_with_the_members_that_never_saw_it(run):
    t = _tables(run.db)
    held, targets = t["validation.heldout_flows"], t["panel.flow_targets"]
    # members m00 and m01 hold out folds 0 and 1: exactly those cells are scored, all of them
    expected = targets[targets["fold"].isin([0, 1])]
    assert len(held) == len(expected) > 0 and set(held["fold"]) == {0, 1}
    key = ["year", "origin", "destination", "source"]
    merged = held.merge(expected, on=key)
    np.testing.assert_allclose(merged["reported"], merged["flow"])
    assert (held["p05"] <= held["p95"] + 1e-9).all() and (held["predicted"] >= 0).all()
    from migration_assets.validation.calibration import REPORTED, flow_strata, secondary

    calibration = t["validation.calibration"]
    flows = calibration[calibration["table"] == "flows"]
    # every flow target is a residual twice: held out (unreported), and predicted by the whole ensemble
    # (reported) unless IMFSC reports a corridor-year another source reports too
    last = int(t["panel.stock_targets"]["year_end"].max())
    strata = pd.Series(flow_strata(targets, targets, last))
    kept = (strata != REPORTED) | ~secondary(targets["source"])
    every = pd.concat([pd.Series(flow_strata(held, held.iloc[:0], last)), strata[kept]]).value_counts()
    # a stratum with fewer cells than a bin (min_cells_per_bin 5) gets no calibration of its own
    assert flows.groupby("stratum")["cells"].sum().to_dict() == every[every >= 5].to_dict()
    assert (calibration["residual_p05"] <= calibration["residual_p95"]).all()
    coverage = t["validation.coverage"].set_index(["stage", "interval", "stratum_kind", "stratum"])
    assert coverage.loc[("calibrated", "p05-p95", "pooled", "all"), "cells"] == len(held)
    # every estimate table with something reported has its interval's coverage
    per_table = coverage.xs("table", level="stratum_kind")
    assert per_table.loc[("calibrated", "p05-p95", "flows"), "cells"] == len(held) + kept.sum()
    stocks, net = per_table.loc[("ensemble_spread", "p05-p95", "stocks")], per_table.loc[
        ("ensemble_spread", "p05-p95", "net_migration")]
    assert stocks["cells"] == len(t["panel.stock_targets"]) and net["cells"] == len(t["panel.net_migration_targets"])
    assert 0 <= stocks["coverage"] <= 1 and 0 <= net["coverage"] <= 1
    (check,) = [e for e in run.validation.get_asset_check_evaluations() if e.check_name == "calibrated_coverage"]
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["cells"].value == coverage.loc[("calibrated", "p05-p95", "pooled", "all"), "cells"]
    scores = t["validation.flow_scores"]
    pooled = scores[(scores["stratum_kind"] == "pooled") & (scores["metric"] == "pearson_log1p")]
    assert len(pooled) == 1 and -1 <= pooled["value"].iloc[0] <= 1


def test_flow_intervals_are_the_calibration_applied_to_the_mean(run):
    from migration_assets.validation.calibration import Calibration

    t = _tables(run.db)
    flows, calibration = t["estimates.flows"], t["validation.calibration"]
    assert {"flows", "stocks", "net_migration"} <= set(calibration["table"])
    targets, key = t["panel.flow_targets"], ["year", "origin", "destination"]
    cell = pd.MultiIndex.from_frame(flows[key])
    by_other = cell.isin(pd.MultiIndex.from_frame(targets.loc[~targets["source"].str.startswith("imfsc"), key]))
    by_any = cell.isin(pd.MultiIndex.from_frame(targets[key]))
    after = flows["year"] >= t["panel.stock_targets"]["year_end"].max()
    strata = np.select([by_other, by_any, after], ["reported", "reported_imfsc_only", "unreported_after_stock_points"],
                       "unreported")
    assert {"reported", "unreported"} <= set(strata)
    expected = Calibration(calibration[calibration["table"] == "flows"].drop(columns="table")).apply(
        flows["mean"].to_numpy(), strata)
    for q in ("std", "p05", "p50", "p95"):
        np.testing.assert_allclose(flows[q], expected[q], rtol=1e-9, atol=1e-9)
    meta = run.estimates.get_asset_materialization_events()
    for name in ("flows", "flows_by_birth", "stocks", "net_migration"):
        described = next(e for e in meta if e.asset_key == dg.AssetKey(["estimates", name])).materialization.metadata
        assert described["calibrated_quantiles"].value is True, name


def test_every_estimate_table_describes_one_distribution(run):
    """mean, p50, the interval and std agree with each other in every table, and flows by birth sum
    to the flow's quantiles."""
    t = _tables(run.db)
    for name in ("flows", "flows_by_birth", "stocks", "net_migration"):
        frame = t[f"estimates.{name}"]
        assert (frame["p05"] <= frame["p50"] + 1e-6).all() and (frame["p50"] <= frame["p95"] + 1e-6).all(), name
        assert (frame["std"] >= 0).all() and (frame["std"] <= frame["p95"] - frame["p05"] + 1e-6).all(), name
        # std is half the central 68 % interval: at most half the 90 % one, about 0.3 of it typically
        wide = frame[frame["p95"] - frame["p05"] > 1]
        ratio = wide["std"] / (wide["p95"] - wide["p05"])
        assert len(wide) and (ratio <= 0.5 + 1e-6).all() and 0.15 < ratio.median() <= 0.5 + 1e-6, name
    flows = t["estimates.flows"]
    above = flows[flows["mean"] > 100]
    assert 0.5 < float(np.median(above["p50"] / above["mean"])) < 2.0
    summed = t["estimates.flows_by_birth"].groupby(["year", "origin", "destination"])[
        ["mean", "std", "p05", "p50", "p95"]].sum()
    merged = flows.set_index(["year", "origin", "destination"]).loc[summed.index]
    for q in ("mean", "std", "p05", "p50", "p95"):
        np.testing.assert_allclose(summed[q], merged[q], rtol=1e-6, atol=1e-6)


def test_coverage_is_published_by_stratum_with_its_width(run):
    coverage = _tables(run.db)["validation.coverage"]
    calibrated = coverage[coverage["stage"] == "calibrated"]
    kinds = set(calibrated["stratum_kind"])
    assert {"pooled", "size", "dataset", "years_from_stock_point", "corridor", "table"} <= kinds
    assert {"reported", "unreported"} <= set(calibrated.loc[calibrated["stratum_kind"] == "corridor", "stratum"])
    tables = calibrated[calibrated["stratum_kind"] == "table"]
    assert set(tables["stratum"]) == {"flows", "stocks", "net_migration"}
    assert (tables["cells"] > 0).all() and tables["coverage"].between(0, 1).all()
    assert (calibrated["median_width"].dropna() >= 0).all()
    ninety = calibrated[calibrated["interval"] == "p05-p95"].set_index(["stratum_kind", "stratum"])
    fifty = calibrated[calibrated["interval"] == "p25-p75"].set_index(["stratum_kind", "stratum"])
    # the 90 % interval is the wider one, where both are measured
    both = ninety.join(fifty, rsuffix="_50").dropna(subset=["median_width", "median_width_50"])
    assert (both["median_width"] >= both["median_width_50"] - 1e-9).all()


def test_members_record_config_seed_and_fold(run):
    for key, result in zip(MEMBERS, run.members):
        meta = result.get_asset_materialization_events()[0].materialization.metadata
        assert meta["seed"].value == int(key[1:]) and meta["fold"].value == int(key[1:])
        assert meta["epochs"].value == 15 and len(meta["config_digest"].value) == 12
        assert (run.models / key / "weights.pt").exists() and (run.models / key / "history.json").exists()
    state, record = run.resources["model_store"].load("m01")
    assert record["train"]["hidden"] == 8 and record["fold"] == 1


@pytest.mark.parametrize("config", [{"epochs": 0}, {"epochs": -1}, {"finetune_epochs": 0}])
def test_a_member_run_with_no_epochs_fails_and_keeps_the_trained_weights(run, config):
    folder = run.models / "m01"
    before = {name: (folder / name).read_bytes() for name in ("weights.pt", "config.json", "history.json")}
    result = dg.materialize(GRAPH, selection=[dg.AssetKey(["models", "member"])], partition_key="m01",
                            resources=run.resources, instance=run.instance, raise_on_error=False,
                            run_config={"ops": {"models__member": {"config": {"hidden": 8, **config}}}})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "must be at least 1" in str(failure.event_specific_data)
    assert {name: (folder / name).read_bytes() for name in before} == before


def test_a_member_run_without_settings_keeps_those_of_its_last_training(run, tmp_path):
    """As the automation and migration-update run members: no run config. The member is warm-started
    under the settings it was trained with (hidden 8, 15 epochs), not retrained under the defaults."""
    import shutil

    shutil.copytree(run.models / "m01", tmp_path / "m01")
    record = json.loads((tmp_path / "m01" / "config.json").read_text())  # as if the panel had changed since:
    (tmp_path / "m01" / "config.json").write_text(json.dumps({**record, "inputs_digest": "another panel"}))
    resources = {**run.resources, "model_store": ModelStore(root=str(tmp_path))}
    result = dg.materialize(GRAPH, selection=[dg.AssetKey(["models", "member"])], partition_key="m01",
                            resources=resources, instance=run.instance,
                            run_config={"ops": {"models__member": {"config": {"finetune_epochs": 2}}}})
    metadata = result.asset_materializations_for_node("models__member")[0].metadata
    assert metadata["update"].value == "warm" and metadata["epochs"].value == 2
    _, record = resources["model_store"].load("m01")
    assert record["train"]["hidden"] == 8 and record["train"]["epochs"] == 15
    assert record["train"]["finetune_epochs"] == 2  # what is given still wins


def test_truth_is_never_upstream_of_estimation():
    graph = defs.resolve_asset_graph()  # the default (synthetic) definitions
    truth = {k for k in graph.get_all_asset_keys() if k.path[0] == "truth"}
    assert truth
    for key in graph.get_all_asset_keys():
        if key.path[0] in ("panel", "models", "estimates"):
            assert not truth & _upstream(graph, key), key


def _upstream(graph, key) -> set:
    seen, todo = set(), [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


@pytest.mark.parametrize("corruption, message", [
    ("negative_stock", "stocks count persons"),
    ("missing_column", "missing column(s) ['stock']"),
    ("unknown_country", "'Germany'"),
    ("text_in_numbers", "'12 345'"),
])
def test_bad_raw_input_stops_its_asset_and_keeps_the_warehouse(run, corruption, message):
    before = _tables(run.db)
    resources = {**run.resources, "source": CorruptSource(**WORLD, corruption=corruption)}
    result = dg.materialize(GRAPH, selection=dg.AssetSelection.groups("raw", "panel"), resources=resources,
                            instance=run.instance, raise_on_error=False, tags=ALL_YEARS)
    assert not result.success
    check = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert not check["raw/migrant_stocks"].passed
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    text = failure.event_specific_data.error.message + "".join(
        str(v.value) for v in (failure.event_specific_data.user_failure_data.metadata.values()
                               if failure.event_specific_data.user_failure_data else []))
    assert "raw/migrant_stocks" in text and message in text and "Fix" in text
    if corruption != "missing_column":  # a row-level problem names its row
        assert "row " in text
    after = _tables(run.db)
    assert set(after) == set(before)
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)


def test_a_warning_does_not_block(run):
    resources = {**run.resources, "source": CorruptSource(**WORLD, corruption="odd_life_expectancy")}
    result = dg.materialize(GRAPH, selection=[dg.AssetKey(["raw", "demography"])], resources=resources,
                            instance=run.instance, raise_on_error=False, tags=ALL_YEARS)
    assert result.success
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "gx_suite"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "life_expectancy" in check.metadata["failures"].value
    with duckdb.connect(run.db, read_only=True) as con:
        assert con.execute("select min(life_expectancy) from raw.demography").fetchone()[0] == 3.0
    # restore the clean table for the other tests
    dg.materialize(GRAPH, selection=[dg.AssetKey(["raw", "demography"])], resources=run.resources,
                   instance=run.instance, tags=ALL_YEARS)


def test_bilateral_stocks_must_agree_with_the_un_totals(run):
    resources = {**run.resources, "source": CorruptSource(**WORLD, corruption="totals_in_thousands")}
    keys = [dg.AssetKey(["raw", "migrant_stocks"]), dg.AssetKey(["raw", "migrant_stock_totals"])]
    before = _tables(run.db)["raw.migrant_stocks"]
    try:
        result = dg.materialize(GRAPH, selection=dg.AssetSelection.assets(*keys) | dg.AssetSelection.checks(
            matches_un_totals), resources=resources, instance=run.instance, raise_on_error=False)
        # compared with the totals of the same release before anything is written (issue 33)
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE"
                       and e.step_key == "raw__migrant_stocks")
        message = failure.event_specific_data.error.message
        assert "times the UN's foreign-born total" in message and "QM" in message, message
        pd.testing.assert_frame_equal(_tables(run.db)["raw.migrant_stocks"], before)
    finally:  # restore the clean tables for the other tests
        dg.materialize(GRAPH, selection=keys, resources=run.resources, instance=run.instance)


def test_rematerializing_a_year_replaces_only_that_year(run):
    before = _tables(run.db)["estimates.flows"]
    rerun = dg.materialize(GRAPH, selection=dg.AssetSelection.groups("estimates"), partition_key="1995",
                           resources=run.resources, instance=run.instance,
                           run_config={"ops": {"ensemble_estimates": {"config": {"samples_per_member": 3}}}})
    revised = next(e for e in rerun.get_asset_check_evaluations() if e.check_name == "revisions_within_tolerance")
    # same members, same inputs: nothing moved
    assert revised.passed and revised.metadata["compared_years"].value == "1995-1995"
    assert revised.metadata["largest_global_total_change"].value == 0.0
    after = _tables(run.db)["estimates.flows"]
    assert len(after) == len(before)
    key = ["year", "origin", "destination"]
    pd.testing.assert_frame_equal(after.sort_values(key).reset_index(drop=True),
                                  before.sort_values(key).reset_index(drop=True))


def test_release_sensor_requests_only_the_tables_whose_content_changed(run):
    from migration_assets.sensors import RANGE_END, RANGE_START, RAW_KEYS, raw_release_sensor

    def evaluate(source):
        return raw_release_sensor(dg.build_sensor_context(instance=run.instance, resources={"source": source}))

    landed = evaluate(run.resources["source"])
    assert not landed.run_requests and "matches" in landed.skip_reason.skip_message
    revised = evaluate(CorruptSource(**WORLD, corruption="totals_in_thousands")).run_requests
    assert [r.asset_selection for r in revised] == [[dg.AssetKey(["raw", "migrant_stock_totals"])]]
    assert revised[0].run_key.startswith("raw/migrant_stock_totals:")
    # a broken file still gets one run, so that the asset reports the problem with its row and fix
    (broken,) = evaluate(CorruptSource(**WORLD, corruption="missing_column")).run_requests
    assert broken.asset_selection == [dg.AssetKey(["raw", "migrant_stocks"])] and ":unreadable-" in broken.run_key
    # a yearly table is compared year by year: one revised 1990 value asks for 1990 alone
    (year,) = evaluate(CorruptSource(**WORLD, corruption="odd_life_expectancy")).run_requests
    assert year.asset_selection == [dg.AssetKey(["raw", "demography"])]
    assert (year.tags[RANGE_START], year.tags[RANGE_END]) == ("1990", "1990")
    # a year withdrawn from the source is landed again, empty
    withdrawn = evaluate(CorruptSource(**WORLD, released_through=1999)).run_requests
    yearly = [r for r in withdrawn if RANGE_START in r.tags]
    assert yearly and all((r.tags[RANGE_START], r.tags[RANGE_END]) == ("2000", "2000") for r in yearly)
    # another world is a new release of every table
    other = evaluate(CorruptSource(**{**WORLD, "seed": 2})).run_requests
    # (Meta's series starts in 2019, after this world ends: empty in both worlds, so unchanged)
    assert {r.asset_selection[0] for r in other} == set(RAW_KEYS) - {dg.AssetKey(["raw", "meta_flows"])}
    assert len({r.run_key for r in other} | {r.run_key for r in revised}) == len(other) + 1


def test_migration_flows_prints_a_corridor_from_the_warehouse_and_leaves_it_unchanged(run, monkeypatch, capsys, tmp_path):
    from migration_assets import corridor

    t = _tables(run.db)
    flows = t["estimates.flows"]
    top = flows.groupby(["origin", "destination"])["mean"].sum().idxmax()
    monkeypatch.setenv("MIGRATION_WAREHOUSE", run.db)
    before = Path(run.db).read_bytes()
    assert corridor.main([top[0].lower(), top[1], "--plot", str(tmp_path / "corridor.png")]) == 0
    out = capsys.readouterr().out
    assert f"Migrants from {top[0]} to {top[1]}" in out
    rows = flows[(flows["origin"] == top[0]) & (flows["destination"] == top[1])].sort_values("year")
    first = out.splitlines()[2].split()  # header, column names, then the first year
    assert int(first[0]) == rows["year"].iloc[0] and first[1] == f"{rows['mean'].iloc[0]:,.0f}"
    assert out.splitlines()[1].split()[-1] == "basis" and first[-1] == "observed"  # panel.data_basis
    assert (tmp_path / "corridor.png").stat().st_size > 0
    assert corridor.main([top[0], top[1], "--by-birth"]) == 0
    assert "birth" in capsys.readouterr().out.splitlines()[1]
    with pytest.raises(SystemExit) as stop:
        corridor.main(["XXX", top[1]])
    assert stop.value.code == 1 and "XXX not among the warehouse's" in capsys.readouterr().err
    assert Path(run.db).read_bytes() == before  # read-only


def test_the_ui_gets_tables_and_tracked_numbers_not_markdown_blobs(run):
    """What the asset pages show: tables as table metadata, headline figures as numbers (the Plots tab
    tracks them), short descriptions (the columns are in the column schema), owners and a domain tag."""
    def materialization(result, name):
        return next(e.materialization for e in result.get_asset_materialization_events()
                    if e.asset_key.path[-1] == name)

    scores = materialization(run.validation, "flow_scores").metadata
    assert isinstance(scores["pooled"], dg.TableMetadataValue)
    assert "ours_heldout" in {r.data["method"] for r in scores["pooled"].records}
    assert isinstance(scores["heldout_r"], dg.FloatMetadataValue) and 0 < scores["heldout_r"].value <= 1
    coverage = materialization(run.validation, "coverage").metadata
    assert 0 < coverage["coverage_p05_p95"].value <= 1
    event = materialization(run.estimates, "flows")
    flows = event.metadata
    per_year = flows["global_flow_per_year"]
    assert isinstance(per_year, dg.TableMetadataValue) and [r.data["year"] for r in per_year.records] == YEARS
    persons = next(r.data["persons"] for r in per_year.records if str(r.data["year"]) == event.partition)
    assert f"{flows['global_flow'].value:,}" == persons  # this partition's own year, as the Plots tab draws it
    assert flows["dagster/table_name"].value == "warehouse.estimates.flows"  # not the file's path
    member = materialization(run.members[0], "member").metadata
    assert isinstance(member["loss_curve"], dg.TableMetadataValue)
    assert member["process_peak_memory_mib"].value > 100  # a process that imported torch and trained
    graph = build_defs({**run.resources}).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert "| column |" not in (node.description or ""), key
        assert node.owners and node.tags.get("domain") == node.group_name, key


@pytest.mark.parametrize("source", ["synthetic", "published"])
def test_descriptions_hold_on_every_source(source):
    """The same definitions describe the synthetic world and the published files: no description or
    column doc names a publisher's "style" or quotes a figure of one particular run."""
    from migration_assets.sources.published import PublishedSource
    from migration_assets.sources.source import SyntheticSource

    from migration_assets.resources import default_resources

    chosen = SyntheticSource() if source == "synthetic" else PublishedSource(root="unused")
    graph = build_defs({**default_resources(), "source": chosen}).resolve_asset_graph()
    texts = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        schema = node.metadata.get("dagster/column_schema")
        columns = schema.columns if schema else []
        texts += [(key, node.description or "")] + [(key, c.description or "") for c in columns]
    assert len(texts) > 100
    for key, text in texts:
        for claim in ("style)", "real run", "UN WPP", "UCDP", "UNHCR", "epochs)"):
            assert claim not in text, (key.to_user_string(), text)


def test_every_training_setting_can_be_set_in_the_run_config_of_a_member():
    """The training settings are declared once (TrainConfig); the member's run config offers each."""
    import dataclasses

    from migration_assets.ensemble.assets import MemberConfig
    from migration_assets.model.train import TrainConfig

    changed = {}
    for field in dataclasses.fields(TrainConfig):
        value = getattr(TrainConfig(), field.name)
        changed[field.name] = (list(value) + ["oecd_b11"] if isinstance(value, tuple)
                               else (not value) if isinstance(value, bool) else value * 2 + 1)
    config = MemberConfig(**changed).train_config(stored={"hidden": 4})
    assert dataclasses.asdict(config) == {k: tuple(v) if isinstance(v, list) else v for k, v in changed.items()}
    assert MemberConfig().train_config(stored={"hidden": 4}).hidden == 4  # unset: the last training's


def test_the_classic_methods_run_on_the_panel_and_are_scored_beside_ours(run):
    """Issue 30: validation.classic_flows holds Abel & Cohen's six methods for every five-year period of the
    panel's stocks, with its documented columns; validation.classic_scores scores ours beside them on the
    same cells, the synthetic world's true flows included."""
    from migration_assets.classic import METHODS
    from migration_assets.schemas import VALIDATION
    from migration_assets.validation.anchors import CLASSIC_METHODS

    with duckdb.connect(run.db, read_only=True) as con:
        described = con.sql("describe validation.classic_flows").fetchall()
        classic = con.sql("select * from validation.classic_flows").df()
        scores = con.sql("select * from validation.classic_scores").df()
        january = con.sql("select * from panel.stocks_january").df()
    assert [(r[0], r[1]) for r in described] == [(c.name, c.dtype) for c in VALIDATION["classic_flows"].columns]
    # stock points 1990, 1995, 2000 (every five years to the world's last year): two periods, six methods each
    assert sorted(set(zip(classic["year_start"], classic["year_end"]))) == [(1990, 1995), (1995, 2000)]
    assert classic.groupby("year_start")["method"].nunique().eq(len(METHODS)).all()
    assert (classic["flow"] > 0).all() and (classic["flow"] == classic["flow"].round()).all()
    assert (classic["origin"] != classic["destination"]).all()
    # stock differencing (decreases dropped) is the growth of the panel's foreign-born stocks, in whole persons
    wide = january.pivot_table(index=["birth", "residence"], columns="year", values="stock").fillna(0.0).round()
    growth = (wide[1995] - wide[1990]).clip(lower=0.0)
    sd = classic.query("method == 'sd_drop_neg' and year_start == 1990")
    assert sd["flow"].sum() == pytest.approx(growth.sum())
    facts = next(e.materialization for e in run.validation.get_asset_materialization_events()
                 if e.asset_key.path[-1] == "classic_flows").metadata
    assert facts["periods"].value == ["1990-1995", "1995-2000"] and facts["seconds"].value >= 0
    # ours and the six classic methods on the same true five-year cells, every corridor and both periods
    true = scores[scores["comparison"] == "five_year_true_flows"]
    assert set(true["method"]) == {"ours_ensemble", *CLASSIC_METHODS}
    pooled = true[true["stratum_kind"] == "pooled"]
    assert pooled.groupby("method")["cells"].max().eq(6 * 5 * 2).all()
    assert set(true.loc[true["stratum_kind"] == "period", "stratum"]) == {"1990-1995", "1995-2000"}
    compared = next(e.materialization for e in run.validation.get_asset_materialization_events()
                    if e.asset_key.path[-1] == "classic_scores").metadata["cells"].value
    assert compared["five_year_net_migration_wpp"] == 6 * 2  # too few to score (20): a bigger world scores them
    assert compared["five_year_true_flows"] == 6 * 5 * 2
    # measured on this world (2 members, 15 epochs): ours r 0.96, the pseudo-Bayesian combination 0.94, the other
    # five classic methods 0.51-0.71; on the default world (3 members, 40 epochs) 0.97 against 0.86 and below
    r = pooled[pooled["metric"] == "pearson"].set_index("method")["value"]
    assert r["classic_da_pb_closed"] > 0.5
    assert r["ours_ensemble"] > r.drop(["ours_ensemble", "classic_da_pb_closed"]).max() + 0.1

