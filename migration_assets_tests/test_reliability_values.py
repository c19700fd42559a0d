"""Issue 33, bad values that land: an infinite value, or a count of persons above the world's
population, stops the raw table naming the file, its line and the fix, and nothing is written; the
migrant stocks are compared with the UN totals of the same release before they land.

Small made-up files in the publishers' formats (fixtures/, and files written here)."""

import json
import shutil
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from migration_assets.sources import conflict, migrant_stock_totals, migrant_stocks, observed_flows
from migration_assets.sources.files import SourceFileError
from migration_assets.sources.published import PublishedSource
from migration_assets_tests.test_reliability_sources import failure_message, has_table, land, landed

from .conftest import FIXTURES

UN_CSV = migrant_stocks.REV2019_CSV
UN_JSON = migrant_stocks.REV2020_JSON
UCDP_ROWS = [(1990, "DEU", 0.0), (1990, "FRA", 12.0), (1991, "DEU", 3.0), (1991, "FRA", 0.0)]


@pytest.fixture(scope="module")
def instance():
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def root(tmp_path) -> Path:
    """A raw folder: the UN DESA stock fixtures, the Eurostat fixture and a small UCDP file."""
    shutil.copytree(FIXTURES / "undesa", tmp_path / "raw")
    # the fixture's Montenegro 2010 total is below its bilateral stocks (21,157): made consistent
    replace_cell(tmp_path / "raw" / migrant_stock_totals.TOTALS_2020, 10, "2010,21000,", "2010,21200,")
    eurostat = tmp_path / "raw" / observed_flows.EUROSTAT
    eurostat.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "flows" / observed_flows.EUROSTAT, eurostat)
    ucdp = tmp_path / "raw" / conflict.UCDP
    ucdp.parent.mkdir(parents=True)
    ucdp.write_text(",Year,Country ISO,Conflict deaths\n"
                    + "".join(f"{i},{y},{c},{d}\n" for i, (y, c, d) in enumerate(UCDP_ROWS)))
    return tmp_path / "raw"


def replace_cell(path: Path, line: int, old: str, new: str) -> None:
    """Change one cell of a CSV's line (1-based, the header is line 1)."""
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[line - 1], lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines))


@pytest.mark.parametrize("value", ["inf", "Infinity", "9000000000"])
def test_a_eurostat_flow_that_is_infinite_or_above_the_world_population_stops_with_the_line(root, value):
    path = root / observed_flows.EUROSTAT
    replace_cell(path, 3, "500.0", value)  # EL -> DE 2010
    with pytest.raises(SourceFileError) as err:
        observed_flows.read_eurostat(root)
    message = str(err.value)
    assert message.startswith(f"{path}, line 3: column `value` has 1 value(s) ")
    assert ("infinite" if value != "9000000000" else "above 8.2e+09 persons, the world's population") in message
    assert f"line 3: '{value}'" in message and "Fix: put the published figure" in message


def test_a_eurostat_nan_stops_with_the_line(root):
    path = root / observed_flows.EUROSTAT
    replace_cell(path, 4, "20.0", "NaN")
    with pytest.raises(SourceFileError, match=r"line 4: column `value` has 1 value\(s\) that are not numbers"):
        observed_flows.read_eurostat(root)


@pytest.mark.parametrize("value", ["Infinity", "9e12"])
def test_a_un_stock_cell_that_is_infinite_or_impossible_stops_and_the_warehouse_keeps_its_table(
        root, tmp_path, instance, value):
    db = str(tmp_path / "warehouse.duckdb")
    source = PublishedSource(root=str(root))
    assert land(db, instance, source, "migrant_stock_totals", withdrawal="fixture").success
    assert land(db, instance, source, "migrant_stocks", withdrawal="fixture").success
    before = landed(db, "migrant_stocks")
    path = root / UN_CSV
    replace_cell(path, 5, ",5000,", f",{value},")  # 2005, Germany, born in Mexico
    result = land(db, instance, source, "migrant_stocks", withdrawal="fixture")
    assert not result.success
    message = failure_message(result)
    assert f"{path}, line 5: column `Mexico` has 1 value(s) " in message, message
    assert "Fix: put the published figure (persons)" in message and "The warehouse table is unchanged" in message
    pd.testing.assert_frame_equal(landed(db, "migrant_stocks"), before)


def test_an_impossible_stock_in_the_un_chord_json_names_the_matrix_cell(root):
    path = root / UN_JSON
    data = json.loads(path.read_text())
    year = next(iter(data["matrix"]))
    data["matrix"][year][1][2] = 9e12
    path.write_text(json.dumps(data))
    with pytest.raises(SourceFileError, match=rf"matrix {year} holds 9e\+12 persons .*row 1, column 2\), above the "
                                              r"world's population; nothing was written\. Fix: "):
        migrant_stocks.read(root)


def test_stocks_above_the_un_totals_of_their_release_do_not_land(root, tmp_path, instance):
    """The blocking check matches_un_totals ran after the table was written: the bad row stayed."""
    db = str(tmp_path / "warehouse.duckdb")
    source = PublishedSource(root=str(root))
    assert land(db, instance, source, "migrant_stock_totals", withdrawal="fixture").success
    assert land(db, instance, source, "migrant_stocks", withdrawal="fixture").success
    before = landed(db, "migrant_stocks")
    landings = len(instance.fetch_materializations(dg.AssetKey(["raw", "migrant_stocks"]), limit=100).records)
    replace_cell(root / UN_CSV, 25, ",6000,", ",3000000000,")  # Germany 2019: its foreign-born total is 320,000
    result = land(db, instance, source, "migrant_stocks", withdrawal="fixture")
    assert not result.success
    message = failure_message(result)
    assert "1 destination-year(s) hold more than 1.005 times the UN's foreign-born total (worst: DEU 2019" in message
    assert "Fix: give raw/migrant_stocks and raw/migrant_stock_totals in the same unit" in message
    assert "The warehouse table is unchanged" in message
    pd.testing.assert_frame_equal(landed(db, "migrant_stocks"), before)
    assert len(instance.fetch_materializations(dg.AssetKey(["raw", "migrant_stocks"]), limit=100).records) == landings


@pytest.mark.parametrize("value", ["Infinity", "inf", "9000000000.0"])
def test_ucdp_deaths_that_are_infinite_or_impossible_stop_and_nothing_is_written(root, tmp_path, instance, value):
    db = str(tmp_path / "warehouse.duckdb")
    path = root / conflict.UCDP
    replace_cell(path, 3, "12.0", value)
    result = land(db, instance, PublishedSource(root=str(root)), "conflict", withdrawal="fixture")
    assert not result.success
    message = failure_message(result)
    assert f"{path}, line 3: column `Conflict deaths` has 1 value(s) " in message, message
    assert "Fix: put the published figure (persons)" in message
    assert not has_table(db, "conflict")
