"""Panel assets: the harmonized tables the members train on (pure logic in panel/build.py).

The targets that are one row set per year (net migration, observed flows) are yearly partitions,
rebuilt only for the years a release changes. The others are whole-history tables: covariates are
standardized and gaps interpolated over all years, January stocks are interpolated between the
five-yearly stock points, and the edge set spans every year; they are rebuilt (in seconds) when any
year of an input changes.
"""

import json

import dagster as dg
import pandas as pd

from ..automation import WHOLE_HISTORY, YEARLY
from ..partitions import N_FOLDS, YEAR_EXPR, YEARLY_PANEL, YEARS
from ..sources.source import frame_digest
from ..schemas import Table
from ..sources.raw import column_schema
from . import build
from .build import PANEL


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["panel", name])


def _raw(name: str) -> dg.AssetIn:
    return dg.AssetIn(key=dg.AssetKey(["raw", name]))


def _panel(name: str) -> dg.AssetIn:
    return dg.AssetIn(key=_key(name))


def _spec(name: str, ins: dict[str, dg.AssetIn], code_version: str = "1") -> dict:
    table: Table = PANEL[name]
    yearly = name in YEARLY_PANEL
    partitioning = dict(partitions_def=YEARS, backfill_policy=dg.BackfillPolicy.single_run()) if yearly else {}
    return dict(
        key=_key(name), ins=ins, group_name="panel", kinds={"pandas", "duckdb"}, code_version=code_version,
        pool="duckdb", description=table.description,
        metadata={"dagster/column_schema": column_schema(table), **({"partition_expr": YEAR_EXPR} if yearly else {})},
        automation_condition=YEARLY if yearly else WHOLE_HISTORY, **partitioning,
    )


def _output(frame: pd.DataFrame, meta: dict | None = None) -> dg.Output:
    """The table, versioned by its content: a rebuild with the same rows changes nothing downstream."""
    meta = meta or {}
    return dg.Output(frame, data_version=dg.DataVersion(frame_digest(frame)),
                     metadata={k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v
                               for k, v in meta.items()})


@dg.asset(**_spec("countries", {"raw_countries": _raw("countries"), "demography": _raw("demography")}))
def countries(raw_countries: pd.DataFrame, demography: pd.DataFrame) -> dg.Output:
    """Canonical country list (the source's), each with its tensor index."""
    try:
        frame = build.countries(raw_countries, demography)
    except ValueError as err:
        raise dg.Failure(str(err)) from err
    return _output(frame, {"countries": len(frame)})


@dg.asset(**_spec("country_year", {"countries": _panel("countries"), "demography": _raw("demography"),
                                    "gdp": _raw("gdp"), "conflict": _raw("conflict"),
                                    "union_membership": _raw("union_membership")}))
def country_year(countries: pd.DataFrame, demography: pd.DataFrame, gdp: pd.DataFrame, conflict: pd.DataFrame,
                 union_membership: pd.DataFrame) -> dg.Output:
    try:
        frame, meta = build.country_year(countries, demography, gdp, conflict, union_membership)
    except ValueError as err:
        raise dg.Failure(str(err)) from err
    return _output(frame, meta)


@dg.asset(**_spec("dyads", {"countries": _panel("countries"), "gravity": _raw("gravity")}))
def dyads(countries: pd.DataFrame, gravity: pd.DataFrame) -> dg.Output:
    frame, meta = build.dyads(countries, gravity)
    return _output(frame, meta)


@dg.asset(**_spec("refugees", {"countries": _panel("countries"), "refugees": _raw("refugees"),
                                "demography": _raw("demography")}))
def refugees(countries: pd.DataFrame, refugees: pd.DataFrame, demography: pd.DataFrame) -> dg.Output:
    frame, meta = build.refugees_panel(countries, refugees, demography)
    return _output(frame, meta)


@dg.asset(**_spec("stocks_january", {"countries": _panel("countries"), "migrant_stocks": _raw("migrant_stocks"),
                                      "refugees": _raw("refugees"), "demography": _raw("demography")}))
def stocks_january(countries: pd.DataFrame, migrant_stocks: pd.DataFrame, refugees: pd.DataFrame,
                   demography: pd.DataFrame) -> dg.Output:
    frame, meta = build.stocks_january(countries, migrant_stocks, refugees, demography)
    return _output(frame, meta)


@dg.asset(**_spec("initial_stocks", {"countries": _panel("countries"), "stocks_january": _panel("stocks_january"),
                                      "country_year": _panel("country_year")}))
def initial_stocks(countries: pd.DataFrame, stocks_january: pd.DataFrame, country_year: pd.DataFrame) -> dg.Output:
    frame, meta = build.initial_stocks(countries, stocks_january, country_year)
    return _output(frame, meta)


class StockTargetConfig(dg.Config):
    relative_error: float = build.PanelSettings.stock_relative_error


@dg.asset(**_spec("stock_targets", {"stocks_january": _panel("stocks_january")}))
def stock_targets(config: StockTargetConfig, stocks_january: pd.DataFrame) -> dg.Output:
    frame, meta = build.stock_targets(stocks_january, config.relative_error)
    return _output(frame, {**meta, "relative_error": config.relative_error})


@dg.asset(**_spec("net_migration_targets", {"countries": _panel("countries"), "net_migration": _raw("net_migration"),
                                             "demography": _raw("demography")}))
def net_migration_targets(countries: pd.DataFrame, net_migration: pd.DataFrame, demography: pd.DataFrame) -> dg.Output:
    frame = build.net_migration_targets(countries, net_migration, demography)
    return _output(frame, {"rows": len(frame)})


class FoldConfig(dg.Config):
    n_folds: int = N_FOLDS
    fold_seed: int = 0


FLOW_SOURCES = ("observed_flows", "meta_flows", "imfsc_flows")  # raw tables of reported flows


@dg.asset(**_spec("flow_targets", {"countries": _panel("countries"), "demography": _raw("demography"),
                                    **{name: _raw(name) for name in FLOW_SOURCES}}, code_version="3"))
def flow_targets(config: FoldConfig, countries: pd.DataFrame, demography: pd.DataFrame,
                 observed_flows: pd.DataFrame, meta_flows: pd.DataFrame, imfsc_flows: pd.DataFrame) -> dg.Output:
    """Reported flows of every source (OECD, Eurostat, Meta, UN IMFSC), one row per source and cell."""
    settings = build.PanelSettings(n_folds=config.n_folds, fold_seed=config.fold_seed)
    reported = pd.concat([observed_flows, meta_flows, imfsc_flows], ignore_index=True)
    frame, meta = build.flow_targets(countries, reported, demography, settings)
    return _output(frame, {**meta, "n_folds": config.n_folds, "fold_seed": config.fold_seed})


class EdgeConfig(dg.Config):
    min_stock: float = build.PanelSettings.min_stock
    native_destinations: int = build.PanelSettings.native_destinations
    foreign_destinations: int = build.PanelSettings.foreign_destinations
    observed_corridor_groups: int = build.PanelSettings.observed_corridor_groups


@dg.asset(**_spec("edges", {"countries": _panel("countries"), "stocks_january": _panel("stocks_january"),
                             "flow_targets": _panel("flow_targets")}))
def edges(config: EdgeConfig, countries: pd.DataFrame, stocks_january: pd.DataFrame,
          flow_targets: pd.DataFrame) -> dg.Output:
    settings = build.PanelSettings(min_stock=config.min_stock, native_destinations=config.native_destinations,
                                   foreign_destinations=config.foreign_destinations,
                                   observed_corridor_groups=config.observed_corridor_groups)
    frame, meta = build.edges(countries, stocks_january, flow_targets, settings)
    return _output(frame, {**meta, "selection_rule": dg.MetadataValue.text(json.dumps(meta["rule"]))})


@dg.asset(**_spec("data_basis", {"country_year": _panel("country_year"),
                                   **{name: _raw(name) for name in build.BASIS_INPUTS}}))
def data_basis(country_year: pd.DataFrame, **tables: pd.DataFrame) -> dg.Output:
    """For every estimate year, what each input rests on (observed, projected, carried forward, ...)."""
    years = sorted(int(y) for y in country_year["year"].unique())
    frame = build.data_basis(years, tables)
    nowcast = sorted({int(y) for y in frame.loc[(frame["basis"] != "observed") & (frame["role"] != "target"), "year"]
                      if y > max(years) - 10})  # recent years with an input not observed
    return _output(frame, {"years": f"{years[0]}-{years[-1]}", "recent_years_with_unobserved_inputs": nowcast,
                           "last_observed": {n: int(v) for n, v in frame.groupby("input")["last_observed_year"].max()
                                             .dropna().items()}})


PANEL_ASSETS = [countries, country_year, dyads, refugees, stocks_january, initial_stocks, stock_targets,
                net_migration_targets, flow_targets, edges, data_basis]
