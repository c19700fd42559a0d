"""Issue 12, case 1: a release that holds less than the warehouse does not land silently.

A raw table may not lose years, countries, series (corridors) or rows that the warehouse holds unless
the run states why (the asset's `withdrawal` config); a code that names no country, a header-only
file and a release short of the source's declared coverage stop before landing. Each failure names
the table, what is missing and the fix, and leaves the warehouse table as it was."""

import argparse
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from migration_assets import cli
from migration_assets_tests.conftest import graph_of
from migration_assets.partitions import YEARLY_RAW
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource
from migration_assets.sources import conflict
from migration_assets.sources.published import PublishedSource
from migration_assets.sources.raw import withdrawn

WORLD = {"n_countries": 6, "end_year": 2000, "seed": 1}


class Release(SyntheticSource):
    """The tiny synthetic world with one table of its release changed as `change` says."""

    change: str = ""

    def table(self, name):
        frame = super().table(name)
        change, _, table = self.change.partition(":")
        if name != table:
            return frame
        if change == "years_after_1995":
            return frame[frame["year"] <= 1995].reset_index(drop=True)
        if change == "header_only":
            return frame.iloc[:0]
        if change == "one_country":
            gone = sorted(frame["birth"])[0]
            return frame[(frame["birth"] != gone) & (frame["residence"] != gone)].reset_index(drop=True)
        if change == "one_corridor":
            first = frame.iloc[0]
            return frame[(frame["origin"] != first["origin"]) | (frame["destination"] != first["destination"])
                         ].reset_index(drop=True)
        if change == "unknown_code":
            frame = frame.copy()
            frame.loc[4, "country"] = "XYZ"
            return frame
        raise AssertionError(self.change)


def land(db, instance, source, table: str, withdrawal: str = ""):
    resources = {"io_manager": WarehouseIOManager(database=db), "warehouse": DuckDBResource(database=db),
                 "model_store": ModelStore(root=str(db) + ".models"), "source": source}
    tags = {"dagster/asset_partition_range_start": "1990", "dagster/asset_partition_range_end": "2000"} \
        if table in YEARLY_RAW else {}
    config = {"ops": {f"raw__{table}": {"config": {"withdrawal": withdrawal}}}} if withdrawal else None
    return dg.materialize(graph_of(source), selection=dg.AssetSelection.assets(["raw", table]), resources=resources,
                          instance=instance, raise_on_error=False, tags=tags, run_config=config)


def failure_message(result) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return failure.event_specific_data.error.message


def landed(db: str, table: str) -> pd.DataFrame:
    with duckdb.connect(db, read_only=True) as con:
        return con.sql(f"select * from raw.{table} order by all").df()


def has_table(db: str, table: str) -> bool:
    if not Path(db).exists():
        return False
    with duckdb.connect(db, read_only=True) as con:
        return bool(con.sql(f"select * from information_schema.tables where table_name = '{table}'").fetchall())


def check(result, name: str):
    return next(c for c in result.get_asset_check_evaluations() if c.check_name == name)


@pytest.fixture(scope="module")
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def warehouse(tmp_path, instance):
    """A warehouse where the release of conflict, migrant_stocks and observed_flows landed."""
    db = str(tmp_path / "warehouse.duckdb")
    for table in ("conflict", "migrant_stock_totals", "migrant_stocks", "observed_flows"):
        assert land(db, instance, SyntheticSource(**WORLD), table).success
    return db


@pytest.mark.parametrize("change, expected", [
    ("years_after_1995:conflict", ["5 years (1996; 1997; 1998; 1999; 2000)"]),
    ("header_only:conflict", ["11 years", "6 countries", "6 series"]),
    ("one_country:migrant_stocks", ["1 countries (QMA)", "series (birth=QMA, residence="]),
    ("one_corridor:observed_flows", ["series (origin=", "rows (year="]),
])
def test_a_release_with_less_than_the_warehouse_stops_and_changes_nothing(warehouse, instance, change, expected):
    table = change.split(":")[1]
    before = landed(warehouse, table)
    result = land(warehouse, instance, Release(**WORLD, change=change), table)
    assert not result.success
    message = failure_message(result)
    assert f"raw/{table} from synthetic world" in message, message
    for text in expected:
        assert text in message, message
    assert "The warehouse table is unchanged" in message
    assert f"migration-run --withdrawal {table}='<reason>'" in message
    assert f"ops.raw__{table}.config.withdrawal" in message
    assert not check(result, "keeps_landed_data").passed
    pd.testing.assert_frame_equal(landed(warehouse, table), before)


def test_a_stated_withdrawal_lands_and_keeps_the_reason(warehouse, instance):
    reason = "the publisher withdrew 1996-2000 pending a revision"
    result = land(warehouse, instance, Release(**WORLD, change="years_after_1995:conflict"), "conflict", reason)
    assert result.success
    kept = check(result, "keeps_landed_data")
    assert not kept.passed and kept.severity == dg.AssetCheckSeverity.WARN
    assert kept.metadata["reason"].value == reason
    metadata = result.asset_materializations_for_node("raw__conflict")[0].metadata
    assert metadata["withdrawal"].value.startswith(f"{reason}: 5 years (1996")
    assert landed(warehouse, "conflict")["year"].max() == 1995  # the years 1996-2000 land empty


def test_an_unchanged_release_passes_and_a_larger_one_too(warehouse, instance):
    result = land(warehouse, instance, SyntheticSource(**WORLD), "conflict")
    assert result.success and check(result, "keeps_landed_data").passed
    assert check(result, "keeps_landed_data").metadata["withdrawn"].value == "nothing"


def test_a_code_that_names_no_country_stops_the_table(tmp_path, instance):
    db = str(tmp_path / "warehouse.duckdb")
    result = land(db, instance, Release(**WORLD, change="unknown_code:conflict"), "conflict")
    assert not result.success
    message = failure_message(result)
    assert "expect_column_values_to_be_in_set` on column `country` failed for 1 row(s)" in message
    assert "country='XYZ'" in message and "aliases.csv" in message
    assert not has_table(db, "conflict")


def test_withdrawn_lists_what_the_release_lacks():
    before = pd.DataFrame({"year": [2000, 2000, 2001, 2001], "origin": ["AAA", "BBB", "AAA", "BBB"],
                           "destination": ["CCC", "CCC", "CCC", "AAA"], "flow": [1.0, 2.0, 3.0, 4.0]})
    lost = withdrawn(before, before.iloc[[0, 1, 2]], ("year", "origin", "destination"), ["origin", "destination"])
    assert lost == {"years": [], "countries": [], "series": ["origin=BBB, destination=AAA"],
                    "rows": ["year=2001, origin=BBB, destination=AAA"]}
    lost = withdrawn(before, before.iloc[[0, 1]], ("year", "origin", "destination"), ["origin", "destination"])
    assert lost["years"] == [2001] and lost["rows"] == ["year=2001, origin=AAA, destination=CCC",
                                                         "year=2001, origin=BBB, destination=AAA"]
    assert withdrawn(before, before, ("year", "origin", "destination"), ["origin"]) == \
        {"years": [], "countries": [], "series": [], "rows": []}


def test_the_cli_takes_a_withdrawal_with_its_reason_only():
    parser = argparse.ArgumentParser()
    cli._withdrawal_argument(parser)
    args = parser.parse_args(["--withdrawal", "raw/conflict=UCDP withdrew 2023", "--withdrawal", "gdp= revised"])
    assert cli.withdrawal_config(args.withdrawal) == {
        "raw__conflict": {"config": {"withdrawal": "UCDP withdrew 2023"}},
        "raw__gdp": {"config": {"withdrawal": "revised"}}}
    for bad in ("conflict", "conflict=", "nonsense=why"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--withdrawal", bad])


# ---------------------------------------------------------------------------------------------
# The published UCDP file: a first landing is checked against the source's declared coverage.


@pytest.fixture
def ucdp(bundle, tmp_path):
    """A raw folder holding a copy of the real UCDP file (all that raw/conflict reads)."""
    path = tmp_path / "raw" / conflict.UCDP
    path.parent.mkdir(parents=True)
    shutil.copy(bundle / conflict.UCDP, path)
    return path


def test_a_cut_published_file_stops_even_on_a_first_landing(ucdp, tmp_path, instance):
    db = str(tmp_path / "warehouse.duckdb")
    source = PublishedSource(root=str(ucdp.parents[1]))
    lines = ucdp.read_text().splitlines(keepends=True)
    ucdp.write_text("".join(line for line in lines if line.split(",")[1] <= "2000" or line.startswith(",Year")))
    result = land(db, instance, source, "conflict")
    assert not result.success
    message = failure_message(result)
    assert str(ucdp) in message
    assert "`expect_table_row_count_to_be_between` failed: observed 2541. Fix: at least 7,854 rows expected" in message
    assert "Fix: rows expected in every year of 1990-2023" in message
    assert "fetch it again (migration-fetch)" in message
    assert not has_table(db, "conflict")
    # stated as a withdrawal, the same release lands, with the shortfall as warnings
    result = land(db, instance, source, "conflict", withdrawal="testing a cut file")
    assert result.success and not check(result, "gx_suite").passed
    assert check(result, "gx_suite").severity == dg.AssetCheckSeverity.WARN


def test_a_header_only_published_file_stops_with_the_file_and_line(ucdp, tmp_path, instance):
    db = str(tmp_path / "warehouse.duckdb")
    source = PublishedSource(root=str(ucdp.parents[1]))
    assert land(db, instance, source, "conflict").success
    before = landed(db, "conflict")
    ucdp.write_text(ucdp.read_text().splitlines(keepends=True)[0])
    result = land(db, instance, source, "conflict")
    assert not result.success
    message = failure_message(result)
    assert f"{ucdp}, line 2: has a header but no data rows" in message, message
    assert "fetch it again" in message
    pd.testing.assert_frame_equal(landed(db, "conflict"), before)
