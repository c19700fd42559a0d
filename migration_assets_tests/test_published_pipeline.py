"""Every reader, quality check and panel asset on the real published bundle, in-process."""

import dagster as dg
import duckdb
import pytest

from migration_assets import runner
from migration_assets.countries import canonical_codes
from dagster_duckdb import DuckDBResource

from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.published import PublishedSource


@pytest.fixture(scope="module")
def published(bundle, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("published")
    db = str(tmp / "warehouse.duckdb")
    resources = {"io_manager": WarehouseIOManager(database=db), "model_store": ModelStore(root=str(tmp / "models")),
                 "source": PublishedSource(root=str(bundle)), "warehouse": DuckDBResource(database=db)}
    edges = {"native_destinations": 40, "foreign_destinations": 5}
    with dg.DagsterInstance.ephemeral() as instance:
        result = runner.ingest(resources, instance, {"ops": {"panel__edges": {"config": edges}}}, log=lambda *_: None)
    return result, db


def test_every_raw_check_passes_or_warns_with_a_reason(published):
    result, _ = published
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 29  # 14 raw suites, 14 keeps_landed_data, matches_un_totals
    for check in checks:
        assert check.passed or check.severity == dg.AssetCheckSeverity.WARN, check.asset_key
        if not check.passed:  # a warning states its reason
            assert check.metadata.get("failures") or check.metadata.get("lowest_ratios")


def test_the_panel_covers_every_canonical_country(published):
    _, db = published
    with duckdb.connect(db, read_only=True) as con:
        def one(sql):
            return con.execute(sql).fetchall()[0][0]

        codes = canonical_codes()
        assert one("select count(*) from panel.countries") == len(codes) == 231
        assert one("select count(*) from panel.country_year") == 231 * 34
        assert one("select count(*) from panel.country_year where population is null or births is null") == 0
        # every country has a native cell and the 1990 population is kept
        assert one("select count(*) from panel.initial_stocks where birth = residence") == 231
        assert one("""select max(abs(s.total - c.population) / c.population) from
                      (select residence, sum(stock) as total from panel.initial_stocks group by residence) s
                      join panel.country_year c on c.country = s.residence and c.year = 1990""") < 1e-9
        # every flow source trains, each criterion and reporting side apart
        sources = {r[0] for r in con.execute("select distinct source from panel.flow_targets").fetchall()}
        assert {"oecd_b11", "eurostat_prev_residence", "meta_facebook", "imfsc_residence_immigrants",
                "imfsc_residence_emigrants", "imfsc_citizenship_immigrants_foreigners"} <= sources
        assert len(sources) == 10
        assert 20_000 < one("select count(*) from panel.edges") < 200_000
        # every corridor that a source reports has edges (its natives at least)
        assert one("""select count(*) from (select distinct origin, destination from panel.flow_targets) f
                      anti join panel.edges e on e.birth = f.origin and e.origin = f.origin
                      and e.destination = f.destination""") == 0
        # the reference estimates are loaded for comparison
        assert one("select count(distinct year) from reference.gaskin_abel_flows") == 34
        assert one("select count(distinct method) from reference.abel_cohen_flows") == 6


def test_the_classic_methods_run_on_the_published_panel(published, bundle, tmp_path):
    """Issue 30: validation.classic_flows on the real panel: every five-year period of the UN stock points,
    all six methods, over 200 countries, close to Abel & Cohen's published files (other inputs: UN 2019 and
    WPP 2019, mid-year)."""
    import numpy as np

    from migration_assets.classic import METHODS
    from migration_assets_tests.conftest import graph_of

    _, db = published
    source = PublishedSource(root=str(bundle))
    resources = {"io_manager": WarehouseIOManager(database=db), "model_store": ModelStore(root=str(tmp_path)),
                 "source": source, "warehouse": DuckDBResource(database=db)}
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(graph_of(source), selection=[dg.AssetKey(["validation", "classic_flows"])],
                                resources=resources, instance=instance)
    assert result.success
    facts = result.get_asset_materialization_events()[0].materialization.metadata
    assert facts["periods"].value == [f"{y}-{y + 5}" for y in range(1990, 2020, 5)]
    assert "TWN" in facts["countries_without_foreign_born_left_out"].value["1990-1995"]
    with duckdb.connect(db, read_only=True) as con:
        flows = con.sql("select * from validation.classic_flows").df()
        published = con.sql("select * from reference.abel_cohen_flows").df()
    assert set(flows["method"]) == set(METHODS)
    assert flows["origin"].nunique() > 200 and flows["destination"].nunique() > 200
    key = ["period_start", "method", "origin", "destination"]
    both = published[key + ["flow"]].merge(flows.rename(columns={"year_start": "period_start"})[key + ["flow"]],
                                           on=key, how="outer", suffixes=("_published", "_ours")).fillna(0.0)
    both = both[both["period_start"] < 2020]
    for method, part in both.groupby("method"):
        assert np.corrcoef(part["flow_published"], part["flow_ours"])[0, 1] > 0.8, method
