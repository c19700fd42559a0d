"""Issue 12, case 2: the four estimate tables of a run are replaced together or not at all, and are
never left disagreeing with each other (net migration = inflows − outflows, stocks roll forward).

A tiny synthetic world with one member; each estimates run takes seconds."""

import hashlib
import shutil
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from migration_assets import runner
from migration_assets.ensemble import assets
from migration_assets.ensemble.checks import KEYS
from migration_assets.model.ensemble import Ensemble
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource
from migration_assets_tests.conftest import graph_of

WORLD = {"n_countries": 6, "end_year": 2000, "seed": 1}
FIRST, LAST = 1990, 2000
DEFINED = graph_of(SyntheticSource())
TABLES = [f"estimates.{name}" for name in KEYS]
INVARIANTS = {"stocks_nonnegative", "no_self_flows", "net_migration_matches_flows", "net_migration_sums_to_zero",
              "recurrence_closes"}


def snapshot(db: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(db, read_only=True) as con:
        return {t: con.sql(f"select * from {t} order by all").df() for t in TABLES}


def digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def assert_unchanged(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    assert set(after) == set(before)
    for table in before:
        assert len(after[table]) == len(before[table]), table
        assert digest(after[table]) == digest(before[table]), table
        pd.testing.assert_frame_equal(after[table], before[table], obj=table)


def estimates_run(world, config: dict | None = None, first: int = FIRST, last: int = LAST):
    return dg.materialize(DEFINED, selection=dg.AssetSelection.groups("estimates"), resources=world.resources,
                          instance=world.instance, raise_on_error=False,
                          run_config={"ops": {"ensemble_estimates": {"config": {"samples_per_member": 2,
                                                                                **(config or {})}}}},
                          tags={"dagster/asset_partition_range_start": str(first),
                                "dagster/asset_partition_range_end": str(last)})


def failure_message(result) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return failure.event_specific_data.error.message


def estimate_materializations(result) -> list:
    return [e for e in result.get_asset_materialization_events() if e.asset_key in KEYS.values()]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reliability")
    db = str(tmp / "warehouse.duckdb")
    resources = {"io_manager": WarehouseIOManager(database=db), "warehouse": DuckDBResource(database=db),
                 "model_store": ModelStore(root=str(tmp / "models")), "source": SyntheticSource(**WORLD)}
    with dg.DagsterInstance.ephemeral() as instance:
        runner.ingest(resources, instance, log=lambda *_: None)
        runner.train_member(resources, instance, "m00", {"epochs": 5, "hidden": 8})
        first = runner.estimate(resources, instance, {"samples_per_member": 2, "min_cells_per_bin": 5,
                                                      "min_cells_per_stratum": 5}, {"samples_per_member": 2})
        yield SimpleNamespace(db=db, tmp=tmp, resources=resources, instance=instance, first=first)


def test_a_run_writes_all_four_tables_and_they_agree(world):
    t = snapshot(world.db)
    for table in TABLES:
        assert sorted(t[table]["year"].unique()) == list(range(FIRST, LAST + 1)), table
    flows, net = t["estimates.flows"], t["estimates.net_migration"]
    inflow = flows.groupby(["year", "destination"])["mean"].sum().rename_axis(["year", "country"])
    outflow = flows.groupby(["year", "origin"])["mean"].sum().rename_axis(["year", "country"])
    net = net.set_index(["year", "country"])["mean"]
    expected = inflow.reindex(net.index, fill_value=0) - outflow.reindex(net.index, fill_value=0)
    np.testing.assert_allclose(net, expected, rtol=1e-9, atol=1e-6)
    # every invariant ran as a blocking check of the write, and passed
    checks = {e.check_name: e for e in world.first.get_asset_check_evaluations()}
    assert INVARIANTS <= set(checks)
    assert all(checks[name].passed and checks[name].blocking for name in INVARIANTS)
    # the four assets are materialized, every year, with the IO manager's metadata and their own
    events = estimate_materializations(world.first)
    for name, key in KEYS.items():
        mine = [e for e in events if e.asset_key == key]
        assert sorted(int(e.partition) for e in mine) == list(range(FIRST, LAST + 1)), name
        meta = mine[0].materialization.metadata
        table = t[f"estimates.{name}"]  # each year's materialization counts that year's rows (issue 32)
        assert meta["dagster/partition_row_count"].value == (table["year"] == int(mine[0].partition)).sum()
        assert meta["dagster/table_name"].value.endswith(f"estimates.{name}")
        assert meta["years"].value == f"{FIRST}-{LAST}" and meta["members"].value == ["m00"]
    # a downstream asset still loads the tables through the IO manager
    @dg.asset(ins={name: dg.AssetIn(key=key) for name, key in KEYS.items()})
    def reader(flows, flows_by_birth, stocks, net_migration) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.json(
            [len(flows), len(flows_by_birth), len(stocks), len(net_migration)])})

    read = dg.materialize([*DEFINED, reader], selection=[reader], resources=world.resources, instance=world.instance)
    assert read.get_asset_materialization_events()[0].materialization.metadata["rows"].value == [
        len(t[table]) for table in TABLES]


def test_a_failure_between_table_writes_leaves_all_four_tables_as_they_were(world, monkeypatch):
    before = snapshot(world.db)
    written = {}
    real = assets.replace_table_slice

    def fails_on_the_third_table(connection, table_slice, frame, schema):
        if table_slice.table == "stocks":
            raise duckdb.IOException("injected: disk full")
        # other values than the first run's, so that a table left written would show
        written[table_slice.table] = frame = frame.assign(p95=frame["p95"] + 1.0)
        return real(connection, table_slice, frame, schema)

    monkeypatch.setattr(assets, "replace_table_slice", fails_on_the_third_table)
    result = estimates_run(world, {"samples_per_member": 4, "initial_stock_noise": 0.3})
    assert not result.success
    assert list(written) == ["flows", "flows_by_birth"]
    key = ["year", "birth", "origin", "destination"]
    new = written["flows_by_birth"].sort_values(key).reset_index(drop=True)
    old = before["estimates.flows_by_birth"].sort_values(key).reset_index(drop=True)
    assert not np.allclose(new["p95"], old["p95"])
    message = failure_message(result)
    assert "writing estimates.stocks (1990-2000) failed" in message and "injected: disk full" in message
    assert "rolled back" in message and "as they were before this run" in message
    assert estimate_materializations(result) == []
    assert_unchanged(before, snapshot(world.db))


def test_a_kill_between_table_writes_leaves_all_four_tables_as_they_were(world, tmp_path):
    """kill -9 of the writing process after estimates.flows and flows_by_birth were written."""
    db = str(tmp_path / "warehouse.duckdb")
    shutil.copy(world.db, db)
    before = snapshot(db)
    script = textwrap.dedent(f"""
        import os, signal
        import duckdb
        from dagster_duckdb import DuckDBResource
        from migration_assets.ensemble import assets

        with duckdb.connect({db!r}, read_only=True) as con:
            tables = {{name: con.sql(f"select * from estimates.{{name}}").df() for name in
                      ["flows", "flows_by_birth", "stocks", "net_migration"]}}
            country_year = con.sql("select * from panel.country_year").df()
        tables = {{name: frame.assign(mean=frame["mean"] * 2) for name, frame in tables.items()}}
        real = assets.replace_table_slice

        def killed_on_the_third_table(connection, table_slice, frame, schema):
            if table_slice.table == "stocks":
                print("killing after", sorted(written), flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
            written.add(table_slice.table)
            return real(connection, table_slice, frame, schema)

        written = set()
        assets.replace_table_slice = killed_on_the_third_table
        assets.publish_estimates(DuckDBResource(database={db!r}), tables, list(range({FIRST}, {LAST + 1})),
                                 country_year)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    assert "killing after ['flows', 'flows_by_birth']" in done.stdout
    assert_unchanged(before, snapshot(db))


def test_estimates_that_disagree_are_not_written(world, monkeypatch):
    before = snapshot(world.db)
    real = Ensemble.net_migration

    def shifted(self, year):  # moves 5,000 persons between two countries' net migration: sums still to 0
        frame = real(self, year)
        frame.loc[0, "mean"] += 5000.0
        frame.loc[1, "mean"] -= 5000.0
        return frame

    monkeypatch.setattr(Ensemble, "net_migration", shifted)
    result = estimates_run(world)
    assert not result.success
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = {name for name, e in checks.items() if not e.passed}
    assert failed == {"net_migration_matches_flows"}
    assert checks["net_migration_matches_flows"].blocking
    assert checks["net_migration_matches_flows"].severity == dg.AssetCheckSeverity.ERROR
    message = failure_message(result)
    assert "were not written" in message and "estimates/net_migration:net_migration_matches_flows" in message
    assert "by up to 5,000 persons" in message and "as they were before this run" in message
    assert estimate_materializations(result) == []
    assert_unchanged(before, snapshot(world.db))


def test_a_year_that_would_disagree_with_its_neighbours_is_refused_until_all_years_are_rewritten(world):
    # what a kill between table writes used to leave: stocks of 1996 from another run than the flows
    with duckdb.connect(world.db) as con:
        con.execute("update estimates.stocks set mean = mean * 1.1 where year = 1996")
    mixed = snapshot(world.db)
    one_year = estimates_run(world, first=1995, last=1995)
    assert not one_year.success
    checks = {e.check_name: e for e in one_year.get_asset_check_evaluations()}
    assert not checks["recurrence_closes"].passed
    message = failure_message(one_year)
    assert "estimates/flows_by_birth:recurrence_closes" in message and "S(1996)" in message
    assert "materialize every year of the estimates in one run" in message
    assert_unchanged(mixed, snapshot(world.db))
    # the fix the message names: every year in one run makes the tables agree again
    every_year = estimates_run(world)
    assert every_year.success
    assert all(e.passed for e in every_year.get_asset_check_evaluations() if e.check_name in INVARIANTS)
    repaired = snapshot(world.db)
    assert not np.allclose(repaired["estimates.stocks"]["mean"], mixed["estimates.stocks"]["mean"])
