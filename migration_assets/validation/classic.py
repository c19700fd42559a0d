"""The classic methods as in-pipeline baselines: computed on the panel's own inputs and scored beside ours.

- `classic_flows` (every world): Abel & Cohen's six methods (migration_assets.classic) for every five-year
  period of the panel's stock points, on the panel's stocks and demography (classic/panel.py).
- `classic_scores` (every world): ours against those baselines on the same five-year cells: held-out reported
  flows summed over the period, WPP net migration and, where the world has a truth (synthetic), the true flows
  of every corridor. On the published data `anchor_validation` also scores them beside Abel & Cohen's
  published files.
"""

import dagster as dg
import pandas as pd

from ..automation import AFTER_ESTIMATES, WHOLE_HISTORY
from .. import metadata
from ..classic.methods import VERSIONS
from ..classic.panel import classic_flows as flows_by_period
from ..schemas import VALIDATION
from ..sources.raw import table_out
from ..sources.source import MigrationSource, frame_digest
from . import anchors, metrics, report
from .assets import VALIDATION_CODE_VERSION, origin_context

CLASSIC_VERSION = VERSIONS[0]  # migest 1.8.1, the version behind Abel & Cohen's published files
CLASSIC_CODE_VERSION = f"classic-migest-{CLASSIC_VERSION}-1"
COMPARISONS = ["five_year_flows", "five_year_net_migration_wpp", "five_year_true_flows"]


def _table_metadata(name: str) -> dict:
    return {"dagster/column_schema": table_out("validation", VALIDATION[name]).metadata["dagster/column_schema"]}


@dg.asset(
    key=["validation", "classic_flows"],
    group_name="validation",
    ins={n: dg.AssetIn(key=dg.AssetKey(["panel", n])) for n in ["stocks_january", "country_year"]},
    kinds={"pandas", "duckdb"},
    code_version=CLASSIC_CODE_VERSION,
    description=VALIDATION["classic_flows"].description,
    metadata=_table_metadata("classic_flows"),
    automation_condition=WHOLE_HISTORY,
    pool="duckdb",
)
def classic_flows(stocks_january: pd.DataFrame, country_year: pd.DataFrame) -> dg.Output:
    """The six classic methods of Abel & Cohen (2019) on the panel's stocks and demography, every five-year period."""
    try:
        frame, facts = flows_by_period(stocks_january, country_year, CLASSIC_VERSION)
    except ValueError as err:
        raise dg.Failure(f"classic methods on the panel: {err}") from err
    frame = VALIDATION["classic_flows"].conform(frame)
    totals = frame.pivot_table(index="method", columns="year_start", values="flow", aggfunc="sum") / 1e6
    return dg.Output(frame, data_version=dg.DataVersion(frame_digest(frame)), metadata={
        **{k: dg.MetadataValue.json(v) if isinstance(v, (dict, list)) else v for k, v in facts.items()},
        "methods": dg.MetadataValue.json(sorted(frame["method"].unique())),
        "reference": f"migest {CLASSIC_VERSION} as Abel & Cohen (2019) ran it (migration_assets.classic)",
        "seconds": round(sum(facts["seconds_per_period"].values()), 2),
        "rows": len(frame),
        "million_movers": metadata.table(totals.rename_axis(columns=None).reset_index(), digits=2),
    })


def classic_score_table(classic: pd.DataFrame, heldout: pd.DataFrame, flows: pd.DataFrame, net: pd.DataFrame,
                        demography: pd.DataFrame, country_year: pd.DataFrame, flow_targets: pd.DataFrame,
                        truth: pd.DataFrame | None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Ours against the in-pipeline classic methods on the same five-year cells: (long score table, cells)."""
    population, regions = origin_context(country_year)
    baselines = anchors.classic_baselines(classic)
    methods = anchors.CLASSIC_METHODS
    annual = heldout.rename(columns={"predicted": "ours_heldout"})
    cells = {"five_year_flows": anchors.five_year_flows(annual, baselines, population, regions, methods)}
    wpp = anchors.net_migration(anchors.wpp_net_migration(demography), net, net.iloc[:0])
    cells["five_year_net_migration_wpp"] = anchors.five_year_net_migration(wpp, baselines, methods)
    if truth is not None:
        cells["five_year_true_flows"] = anchors.five_year_true_flows(truth, flows, baselines, methods, flow_targets)
    flow_strata = {"pooled": None, "source": "source", "origin_region": "origin_region", "period": "period"}
    parts = [
        metrics.scores(cells["five_year_flows"], "five_year_flows", "reported", ["ours_heldout", *methods],
                       flow_strata, ["source", "period", "destination"], "origin_population"),
        metrics.scores(cells["five_year_net_migration_wpp"], "five_year_net_migration_wpp", "reported",
                       ["ours_ensemble", *methods], {"pooled": None}),
    ]
    if truth is not None:
        parts.append(metrics.scores(cells["five_year_true_flows"], "five_year_true_flows", "reported",
                                    ["ours_ensemble", *methods],
                                    {"pooled": None, "period": "period", "corridors": "corridors"}))
    scores = pd.concat([p for p in parts if len(p)], ignore_index=True)
    signed = scores["comparison"].str.contains("net_migration")  # log and relative metrics mean nothing there
    scores = scores[~signed | scores["metric"].isin(["pearson", "spearman"])]
    return VALIDATION["classic_scores"].conform(scores), cells


@dg.asset(
    key=["validation", "classic_scores"],
    group_name="validation",
    ins={"classic_flows": dg.AssetIn(key=dg.AssetKey(["validation", "classic_flows"])),
         "heldout_flows": dg.AssetIn(key=dg.AssetKey(["validation", "heldout_flows"])),
         **{n: dg.AssetIn(key=dg.AssetKey(["estimates", n])) for n in ["flows", "net_migration"]},
         "demography": dg.AssetIn(key=dg.AssetKey(["raw", "demography"])),
         **{n: dg.AssetIn(key=dg.AssetKey(["panel", n])) for n in ["country_year", "flow_targets"]}},
    kinds={"pandas", "duckdb"},
    code_version=VALIDATION_CODE_VERSION,
    description=VALIDATION["classic_scores"].description,
    metadata=_table_metadata("classic_scores"),
    automation_condition=AFTER_ESTIMATES,
    pool="duckdb",
)
def classic_scores(source: MigrationSource, classic_flows: pd.DataFrame, heldout_flows: pd.DataFrame,
                   flows: pd.DataFrame, net_migration: pd.DataFrame, demography: pd.DataFrame,
                   country_year: pd.DataFrame, flow_targets: pd.DataFrame) -> dg.Output:
    """Ours beside the classic methods computed on the same inputs, on the same five-year cells, with a report;
    on a world with a truth, against the true flows of every corridor too."""
    truth = source.truth("flows") if source.has_truth else None
    scores, cells = classic_score_table(classic_flows, heldout_flows, flows, net_migration, demography,
                                        country_year, flow_targets, truth)
    sections = [f"### {c}{'' if kind == 'pooled' else f' by {kind}'}\n\n{report.markdown(t)}"
                for c, kind in [*((c, "pooled") for c in COMPARISONS), ("five_year_true_flows", "corridors")]
                if not (t := report.table(scores, c, kind)).empty]
    tracked = {}
    if truth is not None:
        never = scores[(scores["comparison"] == "five_year_true_flows") & (scores["stratum"] == "never_observed")
                       & (scores["metric"] == "pearson_log1p")].set_index("method")["value"]
        tracked = {f"true_r_log1p_never_observed_{m}": float(v) for m, v in never.items()}
    return dg.Output(scores, metadata={
        "report": dg.MetadataValue.md("\n\n".join(sections) or "(no comparable cells)"),
        "cells": dg.MetadataValue.json({k: int(len(v)) for k, v in cells.items()}),
        **tracked,
    })


CLASSIC_ASSETS = [classic_flows, classic_scores]
