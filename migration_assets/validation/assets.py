"""Validation assets: held-out accuracy, calibrated intervals, and the comparison with the anchors.

- `flow_validation` (every world): each observed flow cell predicted by the members that never
  saw its corridor (five-fold cross-validation over corridors); the split-conformal calibration
  that `ensemble_estimates` applies to the flow intervals; coverage before and after; scores.
- `anchor_validation` (published data only): ours against Gaskin & Abel's published annual flows
  and net migration and Abel & Cohen's six five-year methods on the same cells (as published, and as
  computed in the pipeline on our inputs: validation/classic.py), plus net migration against WPP 2024
  and national statistics and stock changes against UN DESA.
"""



import dagster as dg
import numpy as np
import pandas as pd

from ..automation import AFTER_MEMBERS
from .. import countries as country_list
from .. import metadata
from ..ensemble.assets import MODEL_CODE_VERSION, materialized_members, trained_members
from ..model.tensors import PANEL_INPUTS, build_inputs
from ..panel.build import dataset as flow_dataset
from ..resources import ModelStore
from ..sources.source import MigrationSource
from ..schemas import VALIDATION
from ..sources.raw import table_out
from . import anchors, calibration, metrics, report
from .calibration import LEVELS, label
from .heldout import Member, SpreadDraws, out_of_fold

VALIDATION_CODE_VERSION = f"{MODEL_CODE_VERSION}-validation-2"
INTERVALS = {"p05-p95": ("p05", "p95", 0.90), "p25-p75": ("p25", "p75", 0.50)}
COVERAGE_CHECK = "calibrated_coverage"
COVERAGE_TARGET = (0.85, 0.95)


def _panel(*names: str) -> dict[str, dg.AssetIn]:
    return {n: dg.AssetIn(key=dg.AssetKey(["panel", n])) for n in names}


def _out(name: str, automation_condition: dg.AutomationCondition | None = None) -> dg.AssetOut:
    return table_out("validation", VALIDATION[name], VALIDATION_CODE_VERSION, automation_condition=automation_condition)


def origin_context(country_year: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(year, country, population) and (country, region) for stratifying by origin."""
    regions = country_list.canonical()[["iso3", "region"]].rename(columns={"iso3": "country"})
    return country_year[["year", "country", "population"]], regions


SIZE_EDGES = (50.0, 500.0, 5000.0)  # persons: the size bins of validation.coverage


def size_bin(values: np.ndarray) -> np.ndarray:
    """'<50', '50-500', '500-5000' or '>=5000' of an estimate (persons)."""
    labels = ["<50", "50-500", "500-5000", ">=5000"]
    return np.asarray(labels, dtype=object)[np.searchsorted(SIZE_EDGES, np.asarray(values, float), side="right")]


def years_from_stock_point(years: np.ndarray, stock_years: list[int]) -> np.ndarray:
    """'0', '1-2' or '3+': calendar years between a flow year [1 Jan y, 1 Jan y+1] and the nearest
    UN stock point (1 January of a stock year); '3+' also beyond the last one."""
    points = np.asarray(sorted(stock_years) or [10_000])
    y = np.asarray(years)[:, None]
    gap = np.minimum(np.abs(y - points), np.abs(y + 1 - points)).min(axis=1)
    return np.where(gap == 0, "0", np.where(gap <= 2, "1-2", "3+")).astype(object)


def reporting_scale(members: list[tuple[str, object, dict]]) -> pd.DataFrame:
    """Each source's learned reporting bias b_s and size elasticity δ_s, averaged over the members:
    source, bias, elasticity (model/loss.py predictions)."""
    rows = [{"source": source, "bias": float(net.source_bias[i]), "elasticity": float(net.source_elasticity[i])}
            for _, net, record in members for i, source in enumerate(record["sources"])]
    if not rows:
        return pd.DataFrame(columns=["source", "bias", "elasticity"])
    return pd.DataFrame(rows).groupby("source", as_index=False)[["bias", "elasticity"]].mean()


def in_flow_scale(cells: pd.DataFrame, scale: pd.DataFrame) -> np.ndarray:
    """The reported flows of `cells` (columns source, reported) in the flow scale (calibration.as_flow)."""
    s = scale.set_index("source").reindex(cells["source"]).fillna(0.0)
    return calibration.as_flow(cells["reported"].to_numpy(dtype=float), s["bias"].to_numpy(), s["elasticity"].to_numpy())


def _coverage_rows(cells: pd.DataFrame, stage: str, prefix: str, strata: dict[str, str | None],
                   signed: bool = False) -> list[dict]:
    """Coverage and median width of [prefix p05, prefix p95] and [prefix p25, prefix p75] around
    cells['value'], pooled ('all') or by each stratum column."""
    rows = []
    for interval, (lo, hi, nominal) in INTERVALS.items():
        for kind, column in strata.items():
            parts = [("all", cells)] if column is None else [(str(k), g) for k, g in cells.groupby(column)]
            for stratum, part in parts:
                part = part.dropna(subset=[prefix + lo, prefix + hi])
                low, high = part[prefix + lo].to_numpy(dtype=float), part[prefix + hi].to_numpy(dtype=float)
                width = (np.median(high - low) if signed else np.median((high + 1) / (low + 1))) if len(part) else np.nan
                rows.append({"stage": stage, "interval": interval, "nominal": nominal, "stratum_kind": kind,
                             "stratum": stratum, "cells": len(part), "median_width": float(width),
                             "coverage": metrics.coverage(part["value"].to_numpy(dtype=float), low, high)})
    return rows


FLOW_STRATA = {"pooled": None, "fold": "fold", "source": "source", "dataset": "dataset", "size": "size",
               "years_from_stock_point": "years_from_stock_point", "origin_region": "origin_region"}


def coverage_table(heldout: pd.DataFrame, reported: pd.DataFrame | None = None,
                   tables: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Coverage and median width of the intervals, before calibration (the ensemble's spread) and
    after (cross-fitted: each fold calibrated on the other folds).

    heldout: the held-out flow cells (validation.heldout_flows, with value = the reported flow in the
    flow scale, stratum, and the columns of FLOW_STRATA); reported: the reports of reported
    corridor-years predicted by the whole ensemble, with their stratum and cross-fitted calibrated
    quantiles (stratum_kind corridor and reported_size); tables: estimate table -> its cells (value, p05 ... spread, calibrated_p05 ...), rows
    stratum_kind table. The flows table pools both kinds of cells, each with the interval
    estimates.flows gives it."""
    rows = []
    heldout = heldout.assign(corridor=heldout["stratum"] if "stratum" in heldout else calibration.UNREPORTED)
    for stage, prefix in [("ensemble_spread", ""), ("calibrated", "calibrated_")]:
        strata = {k: v for k, v in FLOW_STRATA.items() if v is None or v in heldout.columns}
        rows += _coverage_rows(heldout, stage, prefix, strata)
    every = [heldout]
    if reported is not None and len(reported):
        reported = reported.assign(corridor=reported["stratum"])
        rows += _coverage_rows(heldout, "calibrated", "calibrated_", {"corridor": "corridor"})
        rows += _coverage_rows(reported, "calibrated", "calibrated_", {"corridor": "corridor"})
        rows += _coverage_rows(reported.assign(reported_size=reported["size"]), "calibrated", "calibrated_",
                               {"reported_size": "reported_size"})
        every.append(reported)
    flows = pd.concat([f[[c for c in f.columns if c.startswith("calibrated_") or c == "value"]] for f in every],
                      ignore_index=True)
    rows += [{**r, "stratum": "flows", "stratum_kind": "table"}
             for r in _coverage_rows(flows, "calibrated", "calibrated_", {"table": None})]
    for table, cells in (tables or {}).items():
        signed = table == "net_migration"
        for stage, prefix in [("ensemble_spread", ""), ("calibrated", "calibrated_")]:
            if prefix + "p05" in cells.columns:
                rows += [{**r, "stratum": table, "stratum_kind": "table"}
                         for r in _coverage_rows(cells, stage, prefix, {"table": None}, signed)]
    return VALIDATION["coverage"].conform(pd.DataFrame(rows))


def spread_quantiles(passes: np.ndarray) -> dict[str, np.ndarray]:
    return dict(zip(map(label, LEVELS), np.quantile(passes, LEVELS, axis=0)))


def calibrated_tables(spread: SpreadDraws, flow_cells: pd.DataFrame, country_year: pd.DataFrame, n_folds: int,
                      n_bins: int, min_cells: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """Fit the calibration of every estimate table and score it cross-fitted.

    flow_cells: held-out and reported flow cells (fold, predicted, reported in the flow scale,
    stratum). Returns (the flow cells with calibrated_* columns, validation.calibration's rows, the
    stock and net-migration cells with their spread and calibrated quantiles)."""
    frames, tables = [], {}
    flows = calibration.cross_calibrated(flow_cells, calibration.LOG, n_bins, min_cells)
    fitted = calibration.fit(flow_cells["predicted"], flow_cells["reported"], flow_cells["stratum"].to_numpy(),
                             kind=calibration.LOG, n_bins=n_bins, min_cells=min_cells)
    if fitted is not None:
        frames.append(fitted.frame.assign(table="flows"))
    codes = {c: i for i, c in enumerate(spread.inputs.countries)}
    population = country_year.set_index(["year", "country"])["population"]
    spreads = spread.tables()
    for table, cells in [("stocks", spread.stock_cells()), ("net_migration", spread.net_cells())]:
        if cells.empty or table not in spreads:
            continue
        passes = spreads[table][1]  # (P, cells), aligned with cells
        kind = calibration.LOG if table == "stocks" else calibration.SHARE
        if table == "stocks":  # cross-fitted over folds of corridors (birth, residence)
            cells["fold"] = (cells["birth"].map(codes) * len(codes) + cells["residence"].map(codes)) % n_folds
        else:  # ... and of countries, on each country's share of its population
            cells["fold"] = cells["country"].map(codes) % n_folds
            cells["scale"] = population.reindex(pd.MultiIndex.from_frame(cells[["year", "country"]])).to_numpy(float)
            known = (cells["scale"] > 0).to_numpy()
            cells, passes = cells[known].reset_index(drop=True), passes[:, known]
        cells = calibration.cross_calibrated(cells.assign(stratum="all"), kind, n_bins, min_cells)
        fitted = calibration.fit(cells["predicted"], cells["reported"], None,
                                 cells["scale"].to_numpy() if kind == calibration.SHARE else None, kind, n_bins,
                                 min_cells)
        if fitted is not None:
            frames.append(fitted.frame.assign(table=table))
        tables[table] = cells.assign(value=cells["reported"], **spread_quantiles(passes))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["table", *calibration.COLUMNS])
    return flows, VALIDATION["calibration"].conform(frame), tables


class ValidationConfig(dg.Config):
    samples_per_member: int = 4  # perturbed passes per member, besides its central pass
    initial_stock_noise: float = 0.10  # as EstimateConfig
    calibration_bins: int = 5  # bins of estimated size per stratum for the conformal quantiles
    min_cells_per_bin: int = 200
    min_cells_per_stratum: int = 20  # smaller strata get no scores


@dg.multi_asset(
    name="flow_validation",
    group_name="validation",
    outs={name: _out(name, AFTER_MEMBERS) for name in ["heldout_flows", "calibration", "coverage", "flow_scores"]},
    ins={**_panel(*PANEL_INPUTS), **_panel("flow_targets", "stock_targets", "net_migration_targets")},
    deps=[dg.AssetDep(dg.AssetKey(["models", "member"]), partition_mapping=dg.AllPartitionMapping())],
    check_specs=[dg.AssetCheckSpec(COVERAGE_CHECK, asset=dg.AssetKey(["validation", "coverage"]),
                                   description="the calibrated 90 % interval covers 85-95 % of held-out reported "
                                               "flows (warning otherwise)")],
    pool="duckdb",
)
def flow_validation(context: dg.AssetExecutionContext, config: ValidationConfig, model_store: ModelStore,
                    countries: pd.DataFrame, country_year: pd.DataFrame, dyads: pd.DataFrame,
                    refugees: pd.DataFrame, initial_stocks: pd.DataFrame, edges: pd.DataFrame,
                    stocks_january: pd.DataFrame, flow_targets: pd.DataFrame, stock_targets: pd.DataFrame,
                    net_migration_targets: pd.DataFrame):
    """Held-out accuracy of the members on the observed flows, the calibration of every estimate
    table's interval, and the coverage of those intervals (validation/calibration.py)."""
    inputs = build_inputs(countries, country_year, dyads, refugees, initial_stocks, edges, stocks_january)
    used = materialized_members(context)
    if not used:
        raise dg.Failure("no trained members: materialize models/member for at least one partition first")
    loaded = trained_members(model_store, used, inputs)
    members = [Member(key, net, record["fold"], record["seed"]) for key, net, record in loaded]
    spread = SpreadDraws(inputs, stock_targets, net_migration_targets, flow_targets)
    cells = out_of_fold(inputs, members, flow_targets, config.samples_per_member, config.initial_stock_noise,
                        on_passes=spread)
    scale = reporting_scale(loaded)
    cells["reported_as_flow"] = in_flow_scale(cells, scale)
    reported = spread.flow_cells()
    reported["reported_as_flow"] = in_flow_scale(reported, scale)
    last_stock_year = int(stock_targets["year_end"].max()) if len(stock_targets) else None
    unreported = calibration.flow_strata(cells, cells.iloc[:0], last_stock_year)  # held out: never reported
    reported["stratum"] = calibration.flow_strata(reported, flow_targets, last_stock_year)
    # where another source reports the corridor-year, IMFSC's reports of it do not calibrate it
    reported = reported[(reported["stratum"] != calibration.REPORTED)
                        | ~calibration.secondary(reported["source"])].reset_index(drop=True)
    both = pd.concat([cells.assign(stratum=unreported), reported], ignore_index=True)
    n_folds = int(flow_targets["fold"].max()) + 1 if len(flow_targets) else 1
    calibrated, calibration_frame, tables = calibrated_tables(
        spread, both.rename(columns={"reported": "reported_raw", "reported_as_flow": "reported"}), country_year,
        n_folds, config.calibration_bins, config.min_cells_per_bin)
    calibrated = calibrated.rename(columns={"reported": "reported_as_flow", "reported_raw": "reported"})
    in_sample = calibrated["stratum"].isin([calibration.REPORTED, calibration.REPORTED_IMFSC]).to_numpy()
    cells = calibrated[~in_sample].reset_index(drop=True)
    reported = calibrated[in_sample].reset_index(drop=True)
    population, regions = origin_context(country_year)
    stock_years = sorted(set(stock_targets["year_end"])) if len(stock_targets) else []

    def described(frame: pd.DataFrame) -> pd.DataFrame:
        frame = anchors.with_origin(frame, "year", population, regions)
        return frame.assign(value=frame["reported_as_flow"], dataset=flow_dataset(frame["source"]),
                            size=size_bin(frame["predicted"]),
                            years_from_stock_point=years_from_stock_point(frame["year"].to_numpy(), stock_years))

    coverage = coverage_table(described(cells), described(reported), tables)
    scored = anchors.with_origin(cells.rename(columns={"predicted": "ours_heldout"}), "year", population, regions)
    scored["dataset"] = flow_dataset(scored["source"])
    scores = metrics.scores(scored, "annual_heldout_flows", "reported", ["ours_heldout"],
                            {"pooled": None, "fold": "fold", "dataset": "dataset", "source": "source",
                             "origin_region": "origin_region"},
                            share_of=["source", "year", "destination"], population="origin_population",
                            min_cells=config.min_cells_per_stratum)
    scores = VALIDATION["flow_scores"].conform(scores)
    headline = report.table(scores, "annual_heldout_flows")
    pooled = coverage[coverage["stratum_kind"].isin(["pooled", "table", "corridor"])]
    common = {"members": dg.MetadataValue.json(used), "folds_held_out": sorted({m.fold for m in members}),
              "config": dg.MetadataValue.json(config.model_dump())}
    yield dg.Output(VALIDATION["heldout_flows"].conform(cells), output_name="heldout_flows", metadata={
        **common, "cells": len(cells),
        "scatter": dg.MetadataValue.md(report.md_image(report.scatter(cells, ["predicted"], title="held-out")))
        if len(cells) else "(no held-out cells)"})
    yield dg.Output(calibration_frame, output_name="calibration", metadata={
        **common, "calibrated": sorted(set(calibration_frame["table"])),
        "reporting_scale": metadata.table(scale, digits=4), "table": metadata.table(calibration_frame)})
    ninety = coverage[(coverage["stage"] == "calibrated") & (coverage["interval"] == "p05-p95")
                      & (coverage["stratum_kind"] == "pooled")]
    achieved = float(ninety["coverage"].iloc[0]) if len(ninety) and ninety["cells"].iloc[0] else float("nan")
    yield dg.Output(coverage, output_name="coverage", metadata={
        **common, "pooled": metadata.table(pooled),
        "coverage_p05_p95": achieved,  # numeric: the Plots tab tracks it across runs
        "plot": dg.MetadataValue.md(report.md_image(report.coverage_bars(coverage))) if len(cells)
        else "(no held-out cells)"})
    ours = headline.loc["ours_heldout"] if "ours_heldout" in headline.index else None
    yield dg.Output(scores, output_name="flow_scores", metadata={
        **common, "pooled": metadata.table(headline.rename_axis("method")),
        **({"heldout_r": float(ours["pearson"]), "heldout_r_log1p": float(ours["pearson_log1p"])}
           if ours is not None else {}),
        "by_dataset": metadata.table(report.table(scores, "annual_heldout_flows", "dataset"))})
    low, high = COVERAGE_TARGET
    yield dg.AssetCheckResult(
        check_name=COVERAGE_CHECK, asset_key=dg.AssetKey(["validation", "coverage"]),
        passed=bool(low <= achieved <= high), severity=dg.AssetCheckSeverity.WARN,
        description=(f"calibrated p05-p95 interval covers {achieved:.1%} of held-out reported flows "
                     f"(target {low:.0%}-{high:.0%})" if not np.isnan(achieved) else
                     "no calibration: too few held-out cells (see min_cells_per_bin)"),
        metadata={"coverage": achieved, "cells": int(ninety["cells"].iloc[0]) if len(ninety) else 0})


_ESTIMATES = {n: dg.AssetIn(key=dg.AssetKey(["estimates", n])) for n in ["flows", "net_migration", "stocks"]}
_REFERENCE = {n: dg.AssetIn(key=dg.AssetKey(["reference", n]))
              for n in ["gaskin_abel_flows", "gaskin_abel_net_migration", "abel_cohen_flows"]}


def anchor_scores(heldout: pd.DataFrame, flows: pd.DataFrame, net: pd.DataFrame, stocks: pd.DataFrame,
                  paper_flows: pd.DataFrame, paper_net: pd.DataFrame, abel_cohen: pd.DataFrame,
                  demography: pd.DataFrame, national: pd.DataFrame | None, stock_targets: pd.DataFrame,
                  country_year: pd.DataFrame, classic: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """All comparisons with the anchors: (long score table, the cells of each comparison). The five-year
    comparisons score, beside Abel & Cohen's published methods, the same methods computed in the pipeline
    on our inputs (`classic`: validation.classic_flows) over the published periods."""
    population, regions = origin_context(country_year)
    in_pipeline = anchors.classic_baselines(classic)
    in_pipeline = in_pipeline[in_pipeline["period_start"].isin(set(abel_cohen["period_start"]))]
    five_year_methods = [*anchors.AC_METHODS, *anchors.CLASSIC_METHODS]
    abel_cohen = pd.concat([abel_cohen, in_pipeline], ignore_index=True)
    ours = ["ours_heldout", "ours_ensemble", "gaskin_abel"]
    cells = {"annual_heldout_flows": anchors.annual_flows(heldout, flows, paper_flows, population, regions)}
    cells["annual_heldout_flows"]["dataset"] = flow_dataset(cells["annual_heldout_flows"]["source"])
    cells["five_year_flows"] = anchors.five_year_flows(cells["annual_heldout_flows"], abel_cohen, population, regions,
                                                       five_year_methods)
    wpp = anchors.wpp_net_migration(demography)
    cells["net_migration_wpp"] = anchors.net_migration(wpp, net, paper_net)
    if national is not None:
        cells["net_migration_national"] = anchors.net_migration(national, net, paper_net)
    cells["five_year_net_migration_wpp"] = anchors.five_year_net_migration(cells["net_migration_wpp"], abel_cohen,
                                                                           five_year_methods)
    cells["stock_change"] = anchors.stock_changes(stock_targets, stocks)
    flow_strata = {"pooled": None, "source": "source", "origin_region": "origin_region"}
    parts = [
        metrics.scores(cells["annual_heldout_flows"], "annual_heldout_flows", "reported", ours,
                       {**flow_strata, "dataset": "dataset", "fold": "fold"}, ["source", "year", "destination"],
                       "origin_population"),
        metrics.scores(cells["five_year_flows"], "five_year_flows", "reported",
                       ["ours_heldout", "gaskin_abel", *five_year_methods], {**flow_strata, "period": "period"},
                       ["source", "period", "destination"], "origin_population"),
        metrics.scores(cells["stock_change"], "stock_change", "reported", ["ours_ensemble"],
                       {"pooled": None, "period": "period"}),
    ]
    for name in ["net_migration_wpp", "net_migration_national"]:
        if name in cells:
            parts.append(metrics.scores(cells[name], name, "reported", ["ours_ensemble", "gaskin_abel"],
                                        {"pooled": None}))
    parts.append(metrics.scores(cells["five_year_net_migration_wpp"], "five_year_net_migration_wpp", "reported",
                                ["ours_ensemble", "gaskin_abel", *five_year_methods], {"pooled": None}))
    scores = pd.concat([p for p in parts if len(p)], ignore_index=True)
    # net migration and stock changes are signed: log and relative-error metrics mean nothing there
    signed = scores["comparison"].str.contains("net_migration|stock_change")
    scores = scores[~signed | scores["metric"].isin(["pearson", "spearman"])]
    return VALIDATION["anchor_scores"].conform(scores), cells


@dg.asset(
    key=["validation", "anchor_scores"],
    group_name="validation",
    ins={"heldout_flows": dg.AssetIn(key=dg.AssetKey(["validation", "heldout_flows"])), **_ESTIMATES, **_REFERENCE,
         "demography": dg.AssetIn(key=dg.AssetKey(["raw", "demography"])),
         "meta_flows": dg.AssetIn(key=dg.AssetKey(["raw", "meta_flows"])),
         "classic_flows": dg.AssetIn(key=dg.AssetKey(["validation", "classic_flows"])),
         **_panel("stock_targets", "country_year")},
    kinds={"pandas", "duckdb"},
    code_version=VALIDATION_CODE_VERSION,
    description=VALIDATION["anchor_scores"].description,
    metadata={"dagster/column_schema": table_out("validation", VALIDATION["anchor_scores"]).metadata[
        "dagster/column_schema"]},
    pool="duckdb",
)
def anchor_validation(source: MigrationSource, heldout_flows: pd.DataFrame, flows: pd.DataFrame,
                      net_migration: pd.DataFrame, stocks: pd.DataFrame, gaskin_abel_flows: pd.DataFrame,
                      gaskin_abel_net_migration: pd.DataFrame, abel_cohen_flows: pd.DataFrame,
                      demography: pd.DataFrame, meta_flows: pd.DataFrame, stock_targets: pd.DataFrame,
                      country_year: pd.DataFrame, classic_flows: pd.DataFrame):
    """Ours against Gaskin & Abel and Abel & Cohen on the same cells (method.md §7), with a report,
    and the global movers per year beside Meta's measurement and the paper's."""
    national = source.national_net_migration()
    scores, cells = anchor_scores(heldout_flows, flows, net_migration, stocks, gaskin_abel_flows,
                                  gaskin_abel_net_migration, abel_cohen_flows, demography, national,
                                  stock_targets, country_year, classic_flows)
    sections = []
    for comparison in ["annual_heldout_flows", "five_year_flows", "net_migration_wpp", "net_migration_national",
                       "five_year_net_migration_wpp", "stock_change"]:
        t = report.table(scores, comparison)
        if not t.empty:
            sections.append(f"### {comparison}\n\n{report.markdown(t)}")
    annual = cells["annual_heldout_flows"]
    movers = anchors.global_flows(flows, gaskin_abel_flows, meta_flows)
    last = movers.dropna(subset=["meta"]) if "meta" in movers.columns else movers.iloc[:0]
    return dg.Output(scores, metadata={
        "global_movers": metadata.table(movers, persons=[c for c in movers.columns if c != "year"]),
        **({"movers_over_meta_last_year": float(last["ours_ge50_over_meta"].iloc[-1])} if len(last) else {}),
        "global_movers_plot": dg.MetadataValue.md(report.md_image(report.lines(
            movers, "year", ["ours", "ours_pairs_ge50", "paper", "meta"],
            "movers per year, all corridors (Meta: pairs >= 50)", "million persons"))),
        "by_dataset": metadata.table(report.table(scores, "annual_heldout_flows", "dataset")),
        "by_source": metadata.table(report.table(scores, "annual_heldout_flows", "source")),
        "report": dg.MetadataValue.md("\n\n".join(sections)),
        "scatter": dg.MetadataValue.md(report.md_image(report.scatter(
            annual, ["ours_heldout", "ours_ensemble", "gaskin_abel"], title="annual"))) if len(annual) else "(no cells)",
        "cells": dg.MetadataValue.json({k: int(len(v)) for k, v in cells.items()}),
    })


VALIDATION_ASSETS = [flow_validation]
ANCHOR_ASSETS = [anchor_validation]  # published data only: needs the anchors' estimates (reference group)
