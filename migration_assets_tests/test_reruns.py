"""Issues 32 and 33: `migration-run` twice in a row on unchanged data trains no member and leaves
the estimates as they were; the metadata of each yearly partition describes that year."""

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from migration_assets.cli import run_all
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource

WORLD = {"n_countries": 6, "end_year": 2000, "seed": 1}
MEMBERS = ["m00", "m01"]
TABLES = ["flows", "flows_by_birth", "stocks", "net_migration"]
YEARS = [1991, 2000]
WRITTEN_BY_IO_MANAGER = [("raw", "demography"), ("raw", "observed_flows"), ("panel", "flow_targets")]


def _files(folder: Path) -> dict[str, str]:
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(folder.rglob("*")) if f.is_file()}


def _latest(instance, key: list[str], partition: str | None = None):
    return instance.fetch_materializations(dg.AssetRecordsFilter(
        dg.AssetKey(key), asset_partitions=[partition] if partition else None), limit=1).records[0]


@pytest.fixture(scope="module")
def reruns(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reruns")
    db = str(tmp / "warehouse.duckdb")
    resources = {"io_manager": WarehouseIOManager(database=db), "warehouse": DuckDBResource(database=db),
                 "model_store": ModelStore(root=str(tmp / "models")), "source": SyntheticSource(**WORLD)}
    configs = {"member_config": {"epochs": 5, "hidden": 8}, "parallel": 1,
               "validation_config": {"samples_per_member": 2, "min_cells_per_bin": 5, "min_cells_per_stratum": 5},
               "estimate_config": {"samples_per_member": 2}}
    states, lines = [], []
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            run_all(instance, resources, MEMBERS, log=lines.append, **configs)
            with duckdb.connect(db, read_only=True) as con:
                tables = {t: con.sql(f"select * from estimates.{t} order by all").df() for t in TABLES}
                validation = {t: con.sql(f"select * from validation.{t} order by all").df()
                              for t in ["calibration", "heldout_flows"]}
            members = {m: _latest(instance, ["models", "member"], m).asset_materialization.metadata for m in MEMBERS}
            states.append(SimpleNamespace(tables=tables, validation=validation, models=_files(tmp / "models"),
                                          members=members))
        # a changed setting retrains, and estimates that then move beyond the tolerance are said on the terminal
        changed = []
        run_all(instance, resources, MEMBERS, log=changed.append, **{
            **configs, "member_config": {"epochs": 6, "hidden": 8},
            "estimate_config": {"samples_per_member": 2, "revision_global_total": 0.0,
                                "revision_beyond_half_interval": 0.0}})
        retrained = {m: _latest(instance, ["models", "member"], m).asset_materialization.metadata for m in MEMBERS}
        partitions = {f"estimates.{t}": {y: _latest(instance, ["estimates", t], str(y)).asset_materialization.metadata
                                         for y in YEARS} for t in TABLES}
        partitions.update({f"{layer}.{t}": {y: _latest(instance, [layer, t], str(y)).asset_materialization.metadata
                                            for y in YEARS} for layer, t in WRITTEN_BY_IO_MANAGER})
        events = [e.event_log_entry for r in instance.get_run_records() for e in instance.get_records_for_run(
            r.dagster_run.run_id, of_type={dg.DagsterEventType.ASSET_MATERIALIZATION,
                                           dg.DagsterEventType.ASSET_CHECK_EVALUATION}).records]
        tables_metadata = [(e.dagster_event.asset_key.to_user_string(), label, value) for e in events
                           for label, value in (e.asset_materialization or e.dagster_event.event_specific_data
                                                ).metadata.items()
                           if isinstance(value, dg.TableMetadataValue)]
    return SimpleNamespace(first=states[0], second=states[1], lines=lines, db=db, partitions=partitions,
                           tables_metadata=tables_metadata, changed=changed, retrained=retrained)


def test_the_second_run_trains_no_member_and_says_why(reruns):
    for m in MEMBERS:
        assert reruns.first.members[m]["update"].value == "full"
        meta = reruns.second.members[m]
        assert meta["update"].value == "unchanged" and meta["epochs"].value == 0
        assert "unchanged" in meta["update_reason"].value and "nothing trained" in meta["update_reason"].value
    assert reruns.second.models == reruns.first.models, "the model store was rewritten"
    assert sum("unchanged" in line for line in reruns.lines) == len(MEMBERS), reruns.lines


def test_the_second_run_leaves_every_estimate_bit_identical(reruns):
    for t in TABLES:
        assert len(reruns.second.tables[t]) > 0
        assert reruns.second.tables[t].equals(reruns.first.tables[t]), f"estimates.{t} moved"
    for t, frame in reruns.second.validation.items():
        assert frame.equals(reruns.first.validation[t]), f"validation.{t} moved"


def test_a_changed_setting_retrains_and_a_revision_beyond_the_tolerance_is_said(reruns):
    for m in MEMBERS:
        meta = reruns.retrained[m]
        assert meta["update"].value == "full" and "model settings" in meta["update_reason"].value
        assert meta["epochs"].value == 6
    warnings = [line for line in reruns.changed if "warning:" in line]
    assert len(warnings) >= 1 and "estimates/flows:revisions_within_tolerance (a year's global flow moved by" in \
        warnings[-1], reruns.changed
    assert not any("revisions_within_tolerance" in line for line in reruns.lines)  # the identical rerun moved nothing


def test_each_year_partition_reports_its_own_rows_and_global_flow(reruns):
    with duckdb.connect(reruns.db, read_only=True) as con:
        for table, metadata in reruns.partitions.items():  # the estimates, and yearly tables the IO manager wrote
            counts = dict(con.execute(f"select year, count(*) from {table} group by year").fetchall())
            rows = {y: metadata[y]["dagster/partition_row_count"].value for y in YEARS}
            assert rows == {y: counts.get(y, 0) for y in YEARS}, table
        sums = dict(con.execute("select year, sum(mean) from estimates.flows group by year").fetchall())
    flows = {y: reruns.partitions["estimates.flows"][y]["global_flow"].value for y in YEARS}
    assert flows[YEARS[0]] != flows[YEARS[1]]
    assert flows == {y: round(sums[y]) for y in YEARS}
    assert reruns.partitions["estimates.flows"][YEARS[0]]["Query"].value.endswith(f"WHERE year = {YEARS[0]}")


def test_no_table_metadata_holds_a_number_the_ui_cannot_parse(reruns):
    """The UI parses each record as JSON, which has no NaN or infinity ("Could not parse record")."""
    labels = {(asset, label) for asset, label, _ in reruns.tables_metadata}
    assert ("validation/calibration", "table") in labels and ("estimates/flows", "global_flow_per_year") in labels
    for asset, label, value in reruns.tables_metadata:
        for record in value.records:
            json.dumps(record.data, allow_nan=False)  # raises on a non-finite number
    calibration = next(v for a, label, v in reruns.tables_metadata if (a, label) == ("validation/calibration", "table"))
    assert calibration.records[-1].data["size_to"] == "∞"
    per_year = next(v for a, label, v in reruns.tables_metadata if label == "global_flow_per_year")
    assert all(r.data["persons"].replace(",", "").isdigit() for r in per_year.records)
