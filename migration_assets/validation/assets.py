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


def coverage_table(cells: pd.DataFrame, tables: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
                   ) -> pd.DataFrame:
    """Coverage of the intervals: of held-out reported flows by stage, pooled, by fold and by source;
    and per estimate table (stratum_kind 'table'): flows as pooled, and the ensemble's spread on
    stocks and net migration against their targets (`tables`: table -> (reported, passes (P, cells)),
    heldout.SpreadDraws), which every member trained on. flows_by_birth has nothing reported."""
    rows = []
    for table, (reported, passes) in (tables or {}).items():
        quantiles = dict(zip(map(label, LEVELS), np.quantile(passes, LEVELS, axis=0)))
        for interval, (lo, hi, nominal) in INTERVALS.items():
            rows.append({"stage": "ensemble_spread", "interval": interval, "nominal": nominal, "stratum_kind": "table",
                         "stratum": table, "cells": len(reported),
                         "coverage": metrics.coverage(reported, quantiles[lo], quantiles[hi])})
    for stage, prefix in [("ensemble_spread", ""), ("calibrated", "calibrated_")]:
        for interval, (lo, hi, nominal) in INTERVALS.items():
            for kind, column in [("pooled", None), ("fold", "fold"), ("source", "source")]:
                parts = [("all", cells)] if column is None else [(str(k), g) for k, g in cells.groupby(column)]
                for stratum, part in parts:
                    part = part.dropna(subset=[prefix + lo, prefix + hi])
                    value = metrics.coverage(part["reported"].to_numpy(), part[prefix + lo].to_numpy(),
                                             part[prefix + hi].to_numpy())
                    rows.append({"stage": stage, "interval": interval, "nominal": nominal, "stratum_kind": kind,
                                 "stratum": stratum, "cells": len(part), "coverage": value})
                    if kind == "pooled":  # estimates.flows: its interval is the calibrated one
                        rows.append({**rows[-1], "stratum_kind": "table", "stratum": "flows"})
    return VALIDATION["coverage"].conform(pd.DataFrame(rows))


class ValidationConfig(dg.Config):
    samples_per_member: int = 4  # perturbed passes per member, besides its central pass
    initial_stock_noise: float = 0.10  # as EstimateConfig
    calibration_bins: int = 5  # bins of predicted size for the conformal quantiles
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
    """Held-out accuracy of the members on the observed flows, the interval calibration, and the
    coverage of every estimate table's interval."""
    inputs = build_inputs(countries, country_year, dyads, refugees, initial_stocks, edges, stocks_january)
    used = materialized_members(context)
    if not used:
        raise dg.Failure("no trained members: materialize models/member for at least one partition first")
    members = [Member(key, net, record["fold"], record["seed"])
               for key, net, record in trained_members(model_store, used, inputs)]
    spread = SpreadDraws(inputs, stock_targets, net_migration_targets)
    cells = out_of_fold(inputs, members, flow_targets, config.samples_per_member, config.initial_stock_noise,
                        on_passes=spread)
    cells = calibration.cross_calibrated(cells, config.calibration_bins, config.min_cells_per_bin)
    fitted = calibration.fit(cells["predicted"].to_numpy(), cells["reported"].to_numpy(),
                             config.calibration_bins, config.min_cells_per_bin)
    calibration_frame = VALIDATION["calibration"].conform(
        fitted.frame() if fitted is not None else pd.DataFrame(columns=VALIDATION["calibration"].column_names))
    coverage = coverage_table(cells, spread.tables())
    population, regions = origin_context(country_year)
    scored = anchors.with_origin(cells.rename(columns={"predicted": "ours_heldout"}), "year", population, regions)
    scored["dataset"] = flow_dataset(scored["source"])
    scores = metrics.scores(scored, "annual_heldout_flows", "reported", ["ours_heldout"],
                            {"pooled": None, "fold": "fold", "dataset": "dataset", "source": "source",
                             "origin_region": "origin_region"},
                            share_of=["source", "year", "destination"], population="origin_population",
                            min_cells=config.min_cells_per_stratum)
    scores = VALIDATION["flow_scores"].conform(scores)
    headline = report.table(scores, "annual_heldout_flows")
    pooled = coverage[coverage["stratum_kind"] == "pooled"].drop(columns=["stratum_kind", "stratum"])
    common = {"members": dg.MetadataValue.json(used), "folds_held_out": sorted({m.fold for m in members}),
              "config": dg.MetadataValue.json(config.model_dump())}
    yield dg.Output(VALIDATION["heldout_flows"].conform(cells), output_name="heldout_flows", metadata={
        **common, "cells": len(cells),
        "scatter": dg.MetadataValue.md(report.md_image(report.scatter(cells, ["predicted"], title="held-out")))
        if len(cells) else "(no held-out cells)"})
    yield dg.Output(calibration_frame, output_name="calibration", metadata={
        **common, "calibrated": fitted is not None, "table": metadata.table(calibration_frame)})
    ninety = pooled[(pooled["stage"] == "calibrated") & (pooled["interval"] == "p05-p95")]
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
