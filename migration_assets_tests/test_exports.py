"""Issue 13: the estimate tables exported as Parquet, CSV and NetCDF re-open with the warehouse's numbers."""

import json
from types import SimpleNamespace

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from dagster_duckdb import DuckDBResource

from migration_assets import runner
from migration_assets.ensemble.assets import MODEL_CODE_VERSION
from migration_assets.exports import files
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource

WORLD = {"n_countries": 6, "end_year": 2000, "seed": 1}
STATS = list(files.STATISTICS)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("exports")
    db = str(tmp / "warehouse.duckdb")
    resources = {"io_manager": WarehouseIOManager(database=db), "warehouse": DuckDBResource(database=db),
                 "model_store": ModelStore(root=str(tmp / "models")), "source": SyntheticSource(**WORLD)}
    with dg.DagsterInstance.ephemeral() as instance:
        runner.ingest(resources, instance, log=lambda *_: None)
        runner.train_member(resources, instance, "m00", {"epochs": 5, "hidden": 8})
        runner.estimate(resources, instance, {"samples_per_member": 2, "min_cells_per_bin": 5,
                                              "min_cells_per_stratum": 5}, {"samples_per_member": 2})
        result = runner.export(resources, instance)
    with duckdb.connect(db, read_only=True) as con:
        tables = {t: con.sql(f"select * from estimates.{t} order by all").df() for t in files.TABLES}
        classic = con.sql(f"select * from validation.{files.CLASSIC} order by all").df()
    metadata = {m.asset_key.path[-1]: m.metadata for m in
                (e.materialization for e in result.get_asset_materialization_events())}
    return SimpleNamespace(folder=tmp / "exports", tables=tables, classic=classic, metadata=metadata, db=db)


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got[list(want.columns)].sort_values(list(want.columns[:-5])).reset_index(drop=True)
    want = want.sort_values(list(want.columns[:-5])).reset_index(drop=True)
    got["year"] = got["year"].astype(want["year"].dtype)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("table", files.TABLES)
def test_parquet_and_csv_reopen_through_duckdb_with_identical_numbers(exported, table):
    want = exported.tables[table]
    assert len(want) > 0
    with duckdb.connect() as con:
        parquet = con.sql(f"select * from read_parquet('{exported.folder}/parquet/{table}/*/*.parquet', "
                          "hive_partitioning = true)").df()
        csv = con.sql(f"select * from read_csv('{exported.folder}/csv/{table}.csv.gz')").df()
    _same(parquet, want)
    _same(csv, want)
    years = sorted(p.name for p in (exported.folder / "parquet" / table).iterdir())
    assert years == [f"year={y}" for y in range(1990, 2001)]


@pytest.mark.parametrize("table, dims", [("flows", ("origin", "destination")), ("stocks", ("birth", "residence")),
                                         ("net_migration", ("country",))])
def test_netcdf_reopens_through_xarray_with_identical_numbers(exported, table, dims):
    want = exported.tables[table]
    with xr.open_dataset(exported.folder / "netcdf" / f"{table}.nc", engine="h5netcdf") as ds:
        assert ds["mean"].dims == ("year", *dims)
        assert list(ds["year"].values) == list(range(1990, 2001))
        got = ds[STATS].to_dataframe().reset_index()
        for stat in STATS:
            assert ds[stat].attrs["units"] == "persons" and ds[stat].attrs["long_name"]
        assert ds.attrs["model_code_version"] == MODEL_CODE_VERSION and ds.attrs["members"] == "m00"
        assert "raw/migrant_stocks" in ds.attrs["raw_data_versions"]
    merged = got.merge(want, on=["year", *dims], how="left", suffixes=("", "_warehouse"))
    held = merged["mean_warehouse"].notna()
    assert held.sum() == len(want)  # every warehouse row is a cell of the file
    for stat in STATS:
        np.testing.assert_array_equal(merged.loc[held, stat], merged.loc[held, f"{stat}_warehouse"])
        assert (merged.loc[~held, stat] == 0).all()  # cells the warehouse does not hold are 0


def test_flows_by_birth_netcdf_keeps_the_edges(exported):
    want = exported.tables["flows_by_birth"]
    with xr.open_dataset(exported.folder / "netcdf" / "flows_by_birth.nc", engine="h5netcdf") as ds:
        assert ds["mean"].dims == ("year", "edge")
        got = ds[STATS].to_dataframe().reset_index()
    got = got.merge(want, on=["year", "birth", "origin", "destination"], how="inner", suffixes=("", "_warehouse"))
    assert len(got) == len(want)
    for stat in STATS:
        np.testing.assert_array_equal(got[stat], got[f"{stat}_warehouse"])


def test_the_assets_say_where_the_files_are(exported):
    assert set(exported.metadata) == {"parquet", "csv", "netcdf", "report"}
    for fmt in ("parquet", "csv", "netcdf"):
        metadata = exported.metadata[fmt]
        assert metadata["folder"].value == str(exported.folder / fmt)
        assert metadata["files"].value >= 4
    rows = exported.metadata["csv"]["rows_per_table"].value
    assert {k: v for k, v in rows.items() if k != "data_basis"} == {
        **{t: len(f) for t, f in exported.tables.items()}, files.CLASSIC: len(exported.classic)}


def test_every_export_says_what_each_year_rests_on(exported):
    """Issue 28: panel.data_basis beside the estimates in Parquet and CSV, and in the NetCDF attributes,
    so a nowcast year is marked in the files a user downloads."""
    with duckdb.connect(str(exported.db), read_only=True) as con:
        want = con.sql("select * from panel.data_basis order by all").df()
        got = con.sql(f"select * from read_csv('{exported.folder}/csv/data_basis.csv.gz') order by all").df()
        parquet = con.execute(f"select count(*) from read_parquet('{exported.folder}/parquet/data_basis/*/*.parquet', "
                              "hive_partitioning = true)").fetchone()[0]
    assert len(want) > 0 and len(got) == len(want) == parquet
    assert exported.metadata["csv"]["rows_per_table"].value["data_basis"] == len(want)
    with xr.open_dataset(exported.folder / "netcdf" / "flows.nc", engine="h5netcdf") as ds:
        basis = json.loads(ds.attrs["data_basis"])
    assert sorted(basis) == sorted(str(y) for y in want["year"].unique())
    first = want[want["year"] == want["year"].min()]
    assert basis[str(first["year"].iloc[0])] == dict(zip(first["input"], first["basis"]))


def test_the_classic_methods_flows_are_exported_beside_the_estimates(exported):
    """Issue 30: validation.classic_flows as Parquet (partitioned by period start) and CSV, same numbers."""
    want = exported.classic
    assert len(want) > 0
    with duckdb.connect() as con:
        parquet = con.sql(f"select * from read_parquet('{exported.folder}/parquet/{files.CLASSIC}/*/*.parquet', "
                          "hive_partitioning = true)").df()
        csv = con.sql(f"select * from read_csv('{exported.folder}/csv/{files.CLASSIC}.csv.gz')").df()
    for got in (parquet, csv):
        got = got[list(want.columns)].astype(want.dtypes.to_dict()).sort_values(list(want.columns[:-1]))
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_exact=True)
    periods = sorted(p.name for p in (exported.folder / "parquet" / files.CLASSIC).iterdir())
    assert periods == ["year_start=1990", "year_start=1995"]


def test_a_failed_export_leaves_the_previous_files_as_they_were(tmp_path):
    folder = tmp_path / "csv"
    files.replace_folder(folder, lambda d: (d / "flows.csv.gz").write_bytes(b"old") and {})

    def broken(d):
        (d / "flows.csv.gz").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        files.replace_folder(folder, broken)
    assert (folder / "flows.csv.gz").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["csv"]  # no half-written folder left beside it


def test_the_report_page_holds_every_section_with_the_warehouse_numbers(exported):
    """The HTML report: parsed, every figure an inline PNG, the movers table equal to the warehouse's
    sums (and, on the synthetic world, the truth's), and the asset's metadata links to it."""
    from html.parser import HTMLParser

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.headings, self.images, self.cells, self._in = [], [], [], None

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.images.append(dict(attrs)["src"])
            self._in = tag

        def handle_data(self, data):
            if self._in == "h2":
                self.headings.append(data)
            if self._in == "td":
                self.cells.append(data)

        def handle_endtag(self, tag):
            self._in = None

    path = exported.folder / "report.html"
    assert exported.metadata["report"]["path"].value == str(path)
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    assert page.headings == ["Held-out accuracy by source", "Coverage of the intervals", "Global movers per year",
                             "Net migration", "The classic methods on the same inputs", "The 20 largest corridors",
                             "What the recent years rest on", "Data sources"]  # no revisions: a first run
    assert {"ours_ensemble", "classic_da_pb_closed", "classic_sd_drop_neg"} <= set(page.cells)  # on the true flows
    assert len(page.images) >= 5 and all(src.startswith("data:image/png;base64,") for src in page.images)
    flows = exported.tables["flows"]
    ours = flows.groupby("year")["mean"].sum() / 1e6
    for year in (1990, 2000):
        assert f"{ours[year]:,.2f}" in page.cells  # the movers table, ours
    with duckdb.connect(str(exported.folder.parent / "warehouse.duckdb"), read_only=True) as con:
        truth = con.sql("select year, sum(flow) / 1e6 as truth from truth.flows group by year").df()
    assert f"{truth.set_index('year')['truth'][1995]:,.2f}" in page.cells  # the truth beside
    assert "raw/migrant_stocks" in page.cells  # the data sources with their versions
    assert "interpolated" in page.cells and "observed" in page.cells  # e.g. the stocks between points


def test_the_ui_opens_the_report_from_the_assets_metadata(exported):
    """A file:// link does not open from the UI's http page: the asset's metadata holds the report as
    markdown, which the UI renders (GFM tables; images as data URIs, which its sanitizer lets through)."""
    report = exported.metadata["report"]["report"]
    assert isinstance(report, dg.MarkdownMetadataValue)
    text = report.value
    for heading in ["Held-out accuracy by source", "Coverage of the intervals", "Global movers per year",
                    "Net migration", "The 20 largest corridors", "Data sources"]:
        assert f"\n## {heading}\n" in text
    assert text.count("](data:image/png;base64,") >= 5 and "<" not in text.replace("<=", "")  # no raw HTML
    ours = exported.tables["flows"].groupby("year")["mean"].sum() / 1e6
    assert f"{ours[2000]:,.2f}" in text  # the movers table, as on the page
