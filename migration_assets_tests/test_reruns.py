"""Issues 32 and 33: `migration-run` twice in a row on unchanged data trains no member and leaves
the estimates as they were; the metadata of each yearly partition describes that year."""

import hashlib
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
    return SimpleNamespace(first=states[0], second=states[1], lines=lines, db=db)


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
