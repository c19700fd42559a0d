"""Table contracts: every table the platform writes, with its columns, DuckDB types and units.

Conventions used everywhere:
- countries are ISO3 codes (synthetic countries use codes from the ISO user-assigned range QMA-QZZ);
- counts are persons;
- stocks are counted on 1 January of `year` unless the table says otherwise (UN stocks are mid-year);
- flows count moves during calendar year `year` (1 January to 31 December).

Frames are written in exactly this column order (`Table.conform`), because a table in the
warehouse is the user-facing contract and a positional insert must never shuffle columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

_PANDAS_DTYPE = {"INTEGER": "int64", "VARCHAR": "object", "DOUBLE": "float64"}


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # DuckDB type: INTEGER, VARCHAR or DOUBLE
    description: str


@dataclass(frozen=True)
class Coverage:
    """What every release of a raw table must hold at least: `rows` rows, `codes` distinct country
    codes in each code column, and rows in each of `years`. Declared per source (COVERAGE in each
    published source module) from the publisher's current release, so a truncated or header-only
    file fails before it lands, on a first run as on an update (sources/raw.py)."""

    rows: int
    codes: int = 0
    years: tuple[int, ...] = ()

    @staticmethod
    def span(first: int, last: int, rows: int, codes: int, missing: tuple[int, ...] = ()) -> "Coverage":
        return Coverage(rows=rows, codes=codes, years=tuple(y for y in range(first, last + 1) if y not in missing))


class ContractError(ValueError):
    """A frame does not meet its table contract; the message says which column, which rows and the fix."""


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # columns that identify a row

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `frame` with exactly this table's columns, in order, with its dtypes.

        Raises ContractError naming the missing column or the first rows that cannot be converted.
        """
        missing = [c for c in self.column_names if c not in frame.columns]
        if missing:
            raise ContractError(
                f"table {self.name}: missing column(s) {missing} (found {list(frame.columns)}). "
                f"Fix: provide the columns {self.column_names}.")
        out = frame[self.column_names].copy()
        for c in self.columns:
            values = out[c.name]
            if c.dtype == "VARCHAR":
                out[c.name] = values.astype(object)
                continue
            numeric = pd.to_numeric(values, errors="coerce")
            bad = numeric.isna() & values.notna()
            if c.dtype == "INTEGER":
                bad |= numeric.isna() | (numeric.notna() & (numeric != numeric.round()))
            if bad.any():
                rows = ", ".join(f"row {i}: {values[i]!r}" for i in list(values.index[bad])[:5])
                raise ContractError(
                    f"table {self.name}: column `{c.name}` must be {c.dtype}; {int(bad.sum())} value(s) are not "
                    f"({rows}). Fix: correct or remove those rows in the source.")
            out[c.name] = numeric.astype(_PANDAS_DTYPE[c.dtype])
        return out.reset_index(drop=True)

    def empty(self) -> pd.DataFrame:
        return self.conform(pd.DataFrame({c: [] for c in self.column_names}))


def _c(name: str, dtype: str, description: str) -> Column:
    return Column(name, dtype, description)


YEAR = _c("year", "INTEGER", "calendar year")
COUNTRY = _c("country", "VARCHAR", "ISO3 code")


def _quantiles(what: str, covers: str = "") -> tuple[Column, ...]:
    """mean, std and the quantiles of `what`, one predictive distribution; `covers` says how its p05-p95
    interval is calibrated and where its coverage is measured."""
    measured = f"; {covers}" if covers else ""
    return (
        _c("mean", "DOUBLE", f"point estimate of {what}: the mean of the members' central passes, persons"),
        _c("std", "DOUBLE", f"standard deviation of the predictive distribution of {what}: (p84 - p16) / 2 of "
                            "its quantiles, persons"),
        _c("p05", "DOUBLE", f"5th percentile of the predictive distribution of {what}, persons{measured}"),
        _c("p50", "DOUBLE", f"median of the predictive distribution of {what}, persons"),
        _c("p95", "DOUBLE", f"95th percentile of the predictive distribution of {what}, persons{measured}"),
    )


RAW: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "countries",
            "The source's list of countries and territories to estimate (the canonical list).",
            (
                COUNTRY,
                _c("name", "VARCHAR", "short English name"),
                _c("region", "VARCHAR", "UN geographic sub-region"),
            ),
            ("country",),
        ),
        Table(
            "migrant_stocks",
            "Bilateral international migrant stocks: foreign-born persons by country "
            "of birth and residence, counted at mid-year (1 July), every five years.",
            (
                _c("year", "INTEGER", "reference year; the stock is counted on 1 July of this year"),
                _c("birth", "VARCHAR", "ISO3 country of birth"),
                _c("residence", "VARCHAR", "ISO3 country of residence"),
                _c("stock", "DOUBLE", "persons born in `birth` living in `residence` on 1 July; birth != residence"),
            ),
            ("year", "birth", "residence"),
        ),
        Table(
            "migrant_stock_totals",
            "Migrant stock totals per destination, for cross-checking the bilateral stocks: all foreign-born "
            "(unknown origins included) and total population, mid-year.",
            (
                _c("year", "INTEGER", "reference year; counted on 1 July"),
                _c("residence", "VARCHAR", "ISO3 country of residence"),
                _c("foreign_born", "DOUBLE", "international migrants living in `residence`, all origins, persons"),
                _c("population", "DOUBLE", "total population of `residence` on 1 July, persons"),
            ),
            ("year", "residence"),
        ),
        Table(
            "demography",
            "Annual demography per country: population on 1 January, births, deaths, life expectancy.",
            (
                YEAR,
                COUNTRY,
                _c("population", "DOUBLE", "total population on 1 January, persons"),
                _c("births", "DOUBLE", "live births during the calendar year, persons"),
                _c("deaths", "DOUBLE", "deaths during the calendar year, persons"),
                _c("life_expectancy", "DOUBLE", "life expectancy at birth, years"),
                _c("projected", "INTEGER", "1 where the year is a projection (the publisher's medium variant after "
                                           "its last estimated year: a nowcast's demography), else 0"),
            ),
            ("year", "country"),
        ),
        Table(
            "net_migration",
            "Annual net international migration per country, as the source reports it.",
            (YEAR, COUNTRY, _c("net_migration", "DOUBLE", "immigrants minus emigrants during the calendar year, persons")),
            ("year", "country"),
        ),
        Table(
            "gdp",
            "Real GDP per capita and its growth.",
            (
                YEAR,
                COUNTRY,
                _c("gdp_per_capita", "DOUBLE", "GDP per capita, constant 2015 US dollars"),
                _c("gdp_growth", "DOUBLE", "annual growth of real GDP, percent"),
            ),
            ("year", "country"),
        ),
        Table(
            "gravity",
            "Static bilateral gravity covariates for every ordered pair of distinct countries.",
            (
                _c("origin", "VARCHAR", "ISO3 code"),
                _c("destination", "VARCHAR", "ISO3 code"),
                _c("distance_km", "DOUBLE", "population-weighted distance, kilometres"),
                _c("common_language", "DOUBLE", "common spoken language index, 0 = none"),
                _c("religious_similarity", "DOUBLE", "dot product of religion shares, 0 = none"),
                _c("colonial_tie", "DOUBLE", "1 if origin was ever a colony of destination, else 0"),
            ),
            ("origin", "destination"),
        ),
        Table(
            "union_membership",
            "Membership of a free-movement economic union (such as the EU's), per country and year.",
            (YEAR, COUNTRY, _c("member", "DOUBLE", "1 if a member during the year, else 0")),
            ("year", "country"),
        ),
        Table(
            "conflict",
            "Battle-related deaths per country and year.",
            (YEAR, COUNTRY, _c("conflict_deaths", "DOUBLE", "deaths in organised violence during the calendar year, persons")),
            ("year", "country"),
        ),
        Table(
            "refugees",
            "Refugees and asylum-seekers by country of origin and of asylum, end of year; other people in need "
            "of international protection apart.",
            (
                YEAR,
                _c("origin", "VARCHAR", "ISO3 country of origin"),
                _c("asylum", "VARCHAR", "ISO3 country of asylum"),
                _c("refugees", "DOUBLE", "refugees and asylum-seekers on 31 December, persons"),
                _c("asylum_seekers", "DOUBLE", "the asylum-seekers among `refugees` (pending cases), persons"),
                _c("oip", "DOUBLE", "other people in need of international protection on 31 December (counted from "
                                    "2018: e.g. Venezuelans abroad), not in `refugees`; 0 where not collected, persons"),
            ),
            ("year", "origin", "asylum"),
        ),
        Table(
            "refugee_arrivals",
            "Arrivals of refugees, asylum-seekers and other people in need of international protection during "
            "the calendar year, by origin and asylum country: forced-displacement flows, a lower bound of "
            "the total flow on their corridor.",
            (
                YEAR,
                _c("origin", "VARCHAR", "ISO3 country of origin"),
                _c("asylum", "VARCHAR", "ISO3 country of asylum"),
                _c("refugees", "DOUBLE", "refugees recognised during the year (prima facie and temporary protection "
                                         "included), persons"),
                _c("asylum_seekers", "DOUBLE", "new asylum applications (repeat and appeal excluded), persons"),
                _c("refugee_like", "DOUBLE", "people newly in a refugee-like situation, persons"),
                _c("oip", "DOUBLE", "other people in need of international protection newly arrived (from 2018), "
                                    "persons"),
            ),
            ("year", "origin", "asylum"),
        ),
        Table(
            "observed_flows",
            "Reported bilateral migration flows for the corridors some statistical system observes.",
            (
                YEAR,
                _c("origin", "VARCHAR", "ISO3 country of previous residence"),
                _c("destination", "VARCHAR", "ISO3 reporting country of next residence"),
                _c("flow", "DOUBLE", "persons who moved from origin to destination during the calendar year"),
                _c("source", "VARCHAR", "reporting system the figure comes from"),
            ),
            ("year", "origin", "destination", "source"),
        ),
        Table(
            "meta_flows",
            "Migration flows measured from social-network users' residence changes (source meta_facebook; the "
            "method of Chi et al., PNAS 2025), pairs with at least 50 migrants in the calendar year.",
            (
                YEAR,
                _c("origin", "VARCHAR", "ISO3 country of residence before the move"),
                _c("destination", "VARCHAR", "ISO3 country of residence for most of the following 12 months"),
                _c("flow", "DOUBLE", "persons who moved from origin to destination during the calendar year"),
                _c("source", "VARCHAR", "always meta_facebook"),
            ),
            ("year", "origin", "destination", "source"),
        ),
        Table(
            "imfsc_flows",
            "Flows to and from the reporting countries of a collection of national flow statistics (the layout "
            "of UN DESA's International Migration Flows to and from Selected Countries), by the reporter's "
            "criterion and side.",
            (
                YEAR,
                _c("origin", "VARCHAR", "ISO3 reporter (emigrants) or the immigrants' country of previous residence "
                                       "(by residence), citizenship (by citizenship) or birth (by place of birth)"),
                _c("destination", "VARCHAR", "ISO3 reporter (immigrants) or the emigrants' country of next residence "
                                            "(by residence) or citizenship (by citizenship)"),
                _c("flow", "DOUBLE", "persons who moved from origin to destination during the calendar year"),
                _c("source", "VARCHAR", "imfsc_<criterion>_<type>[_<coverage>]: criterion residence, citizenship "
                                       "or birth; type immigrants or emigrants; coverage foreigners or citizens "
                                       "where the reporter gives no figure for both"),
            ),
            ("year", "origin", "destination", "source"),
        ),
    ]
}

REFERENCE: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "gaskin_abel_flows",
            "The paper's published annual bilateral flows (for comparison only, never a training target).",
            (
                _c("year", "INTEGER", "calendar year of the moves"),
                _c("origin", "VARCHAR", "ISO3 country of residence on 1 January"),
                _c("destination", "VARCHAR", "ISO3 country of residence after the move"),
                _c("flow", "DOUBLE", "persons, ensemble mean rounded to integers by the publisher"),
            ),
            ("year", "origin", "destination"),
        ),
        Table(
            "gaskin_abel_net_migration",
            "The paper's published annual net migration with its ensemble spread (comparison only).",
            (
                _c("year", "INTEGER", "calendar year"),
                _c("country", "VARCHAR", "ISO3 code"),
                _c("mean", "DOUBLE", "net migration, persons"),
                _c("std", "DOUBLE", "ensemble standard deviation, persons"),
            ),
            ("year", "country"),
        ),
        Table(
            "abel_cohen_flows",
            "Abel & Cohen (2019) five-year bilateral flow estimates by method (comparison only).",
            (
                _c("period_start", "INTEGER", "the period runs from 1 July of this year"),
                _c("period_end", "INTEGER", "to 1 July of this year"),
                _c("method", "VARCHAR", "sd_drop_neg, sd_rev_neg, mig_rate, da_min_open, da_min_closed or da_pb_closed"),
                _c("origin", "VARCHAR", "ISO3 country of residence at the start"),
                _c("destination", "VARCHAR", "ISO3 country of residence at the end"),
                _c("flow", "DOUBLE", "persons who moved during the five years"),
            ),
            ("period_start", "method", "origin", "destination"),
        ),
    ]
}

TRUTH: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "flows_by_birth",
            "True annual flows of the synthetic world by country of birth (never read by estimation).",
            (
                YEAR,
                _c("birth", "VARCHAR", "ISO3 country of birth"),
                _c("origin", "VARCHAR", "ISO3 residence on 1 January"),
                _c("destination", "VARCHAR", "ISO3 residence after the move"),
                _c("flow", "DOUBLE", "persons who moved during the calendar year"),
            ),
            ("year", "birth", "origin", "destination"),
        ),
        Table(
            "flows",
            "True annual bilateral flows of the synthetic world (summed over country of birth).",
            (
                YEAR,
                _c("origin", "VARCHAR", "ISO3 residence on 1 January"),
                _c("destination", "VARCHAR", "ISO3 residence after the move"),
                _c("flow", "DOUBLE", "persons who moved during the calendar year"),
            ),
            ("year", "origin", "destination"),
        ),
        Table(
            "stocks",
            "True bilateral stocks of the synthetic world on 1 January, natives on the diagonal.",
            (
                YEAR,
                _c("birth", "VARCHAR", "ISO3 country of birth"),
                _c("residence", "VARCHAR", "ISO3 country of residence"),
                _c("stock", "DOUBLE", "persons born in `birth` living in `residence` on 1 January"),
            ),
            ("year", "birth", "residence"),
        ),
        Table(
            "net_migration",
            "True annual net migration of the synthetic world.",
            (YEAR, COUNTRY, _c("net_migration", "DOUBLE", "immigrants minus emigrants during the calendar year, persons")),
            ("year", "country"),
        ),
    ]
}

ESTIMATES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "flows",
            "Estimated annual bilateral migration flows: a point estimate (mean) and the predictive distribution "
            "of the flow around it (std, p05, p50, p95), calibrated on the reported flows with each source's "
            "learned reporting bias removed, so the interval is about the flow at the level the level sources "
            "(Meta) measure it, not about what a given register reports. Narrower on corridor-years some source "
            "reports, wider elsewhere (validation.calibration).",
            (
                _c("year", "INTEGER", "calendar year of the moves"),
                _c("origin", "VARCHAR", "ISO3 country of residence on 1 January"),
                _c("destination", "VARCHAR", "ISO3 country of residence after the move"),
                *_quantiles("people who moved from origin to destination during the year",
                            covers="p05-p95 is calibrated on held-out corridors (unreported corridor-years) or on the "
                                   "reported corridor-years; its coverage is measured by each run in "
                                   "validation.coverage"),
            ),
            ("year", "origin", "destination"),
        ),
        Table(
            "flows_by_birth",
            "Estimated annual migration flows by country of birth. std and the quantiles are the flow's "
            "(estimates.flows), shared among the countries of birth in proportion to their means, so they sum "
            "over birth to the flow's.",
            (
                _c("year", "INTEGER", "calendar year of the moves"),
                _c("birth", "VARCHAR", "ISO3 country of birth of the movers"),
                _c("origin", "VARCHAR", "ISO3 country of residence on 1 January"),
                _c("destination", "VARCHAR", "ISO3 country of residence after the move"),
                *_quantiles("people born in `birth` who moved from origin to destination during the year",
                            covers="no source reports flows by birth, origin and destination, so its coverage is "
                                   "measured on the synthetic world only (benchmarks/uncertainty.py)"),
            ),
            ("year", "birth", "origin", "destination"),
        ),
        Table(
            "stocks",
            "Estimated bilateral stocks on 1 January; the diagonal (birth = residence) holds the native-born. "
            "The foreign-born get the predictive distribution calibrated on the UN stock points "
            "(validation.calibration); the native-born keep the ensemble's spread.",
            (
                _c("year", "INTEGER", "stocks are counted on 1 January of this year"),
                _c("birth", "VARCHAR", "ISO3 country of birth"),
                _c("residence", "VARCHAR", "ISO3 country of residence"),
                *_quantiles("people born in `birth` living in `residence`",
                            covers="calibrated on the UN stock points (moved to 1 January), cross-fitted over folds of "
                                   "corridors; coverage in validation.coverage (stratum_kind table, stratum stocks)"),
            ),
            ("year", "birth", "residence"),
        ),
        Table(
            "net_migration",
            "Estimated annual net migration (inflows minus outflows), with its predictive distribution "
            "calibrated on the reported series as a share of the population (validation.calibration).",
            (
                _c("year", "INTEGER", "calendar year"),
                COUNTRY,
                *_quantiles("immigrants minus emigrants during the year",
                            covers="calibrated on the reported net migration, cross-fitted over folds of countries; "
                                   "coverage in validation.coverage (stratum_kind table, stratum net_migration)"),
            ),
            ("year", "country"),
        ),
    ]
}

_LEVELS = ("p05", "p25", "p50", "p75", "p95")
_SCORE_COLUMNS = (
    _c("comparison", "VARCHAR", "what is compared: annual_heldout_flows, five_year_flows, net_migration_wpp, "
                                "net_migration_national, five_year_net_migration_wpp, stock_change or (synthetic "
                                "world) five_year_true_flows"),
    _c("method", "VARCHAR", "the estimate scored: ours_heldout (members that never saw the corridor), "
                            "ours_ensemble (all members), gaskin_abel, an Abel & Cohen method as published "
                            "(sd_drop_neg, ...) or computed in the pipeline on our inputs (classic_sd_drop_neg, ..., "
                            "validation.classic_flows)"),
    _c("stratum_kind", "VARCHAR", "pooled, fold, source, origin_region, period or corridors (observed: some "
                                  "source reports the corridor in some year; never_observed: none does)"),
    _c("stratum", "VARCHAR", "the stratum's value ('all' when pooled)"),
    _c("metric", "VARCHAR", "pearson, pearson_log1p, pearson_proportion, pearson_rate, spearman or "
                            "median_relative_error (validation/metrics.py)"),
    _c("value", "DOUBLE", "the metric's value (correlations in [-1, 1]; relative error as a fraction)"),
    _c("cells", "INTEGER", "number of compared cells"),
)

VALIDATION: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "heldout_flows",
            "Every observed flow cell with the estimate of the members that never saw its corridor "
            "(five-fold cross-validation over corridors).",
            (
                _c("year", "INTEGER", "calendar year of the moves"),
                _c("origin", "VARCHAR", "ISO3 country of residence on 1 January"),
                _c("destination", "VARCHAR", "ISO3 country of residence after the move"),
                _c("source", "VARCHAR", "reporting system of the observed flow"),
                _c("fold", "INTEGER", "the corridor's cross-validation fold"),
                _c("reported", "DOUBLE", "observed flow, persons"),
                _c("reported_as_flow", "DOUBLE", "the flow the reported value stands for: the source's learned "
                                                 "reporting bias and size elasticity removed (calibration.as_flow), "
                                                 "persons"),
                _c("predicted", "DOUBLE", "mean of the central passes of the members holding this fold out, persons"),
                *(_c(q, "DOUBLE", f"{int(q[1:])}th percentile over those members' passes (ensemble spread), persons")
                  for q in _LEVELS),
                *(_c(f"calibrated_{q}", "DOUBLE", f"calibrated {int(q[1:])}th percentile of the flow, calibrated on "
                                                  "the other folds only, persons") for q in _LEVELS),
            ),
            ("year", "origin", "destination", "source"),
        ),
        Table(
            "calibration",
            "The calibration of every estimate table's interval (validation/calibration.py): conformal quantiles "
            "of residuals per table, stratum and bin of size. flows: log1p(reported in the flow scale) - "
            "log1p(estimate), stratum unreported from corridors the predicting members never saw, reported from "
            "the corridor-years some source reports; stocks: log1p(UN stock point) - log1p(estimate); "
            "net_migration: (reported - estimate) / population. p_tau = expm1(log1p(mean) + residual_p_tau) "
            "(net migration: mean + residual_p_tau * population); std = (p84 - p16) / 2.",
            (
                _c("table", "VARCHAR", "estimate table: flows, stocks or net_migration"),
                _c("stratum", "VARCHAR", "flows: reported (a source other than the UN's IMFSC reports the "
                                         "corridor that year; calibrated on those reports), reported_imfsc_only, "
                                         "unreported, or unreported_after_stock_points (a year from the last UN "
                                         "stock point on, which no later stock bounds); stocks and net_migration: "
                                         "all"),
                _c("bin", "INTEGER", "bin index within the stratum, by size"),
                _c("size_from", "DOUBLE", "the bin holds estimates (net migration: populations) above this, persons"),
                _c("size_to", "DOUBLE", "up to and including this, persons (inf for the last)"),
                *(_c(f"residual_{q}", "DOUBLE", f"{int(q[1:])}th percentile of the residuals (finite-sample "
                                                "corrected): log persons, or a share of the population for "
                                                "net_migration") for q in ("p05", "p16", "p25", "p50", "p75", "p84", "p95")),
                _c("cells", "INTEGER", "cells with a known value in the bin"),
            ),
            ("table", "stratum", "bin"),
        ),
        Table(
            "coverage",
            "Share of known values inside the estimated intervals, and the intervals' median width, before "
            "calibration (the ensemble's spread) and after (cross-fitted: each fold's cells calibrated on the "
            "other folds). Flows against the reported value in the flow scale (the source's learned reporting "
            "bias removed): held-out cells by stratum (pooled, fold, source, dataset, size, "
            "years_from_stock_point, origin_region), reported corridor-years (stratum_kind corridor and "
            "reported_size); per estimate table (stratum_kind table): flows, stocks against the UN stock points, "
            "net_migration against the reported series. flows_by_birth has nothing reported: its quantiles are "
            "the flow's, shared in proportion to its mean.",
            (
                _c("stage", "VARCHAR", "ensemble_spread (raw member passes) or calibrated (cross-fitted)"),
                _c("interval", "VARCHAR", "p05-p95 (nominal 90 %) or p25-p75 (nominal 50 %)"),
                _c("nominal", "DOUBLE", "the share the interval should cover"),
                _c("stratum_kind", "VARCHAR", "pooled, fold, source, dataset, size (of the estimate: <50, 50-500, "
                                              "500-5000, >=5000 persons), years_from_stock_point (0, 1-2, 3+), "
                                              "origin_region, corridor (the flow stratum of validation.calibration), "
                                              "reported_size (the reported corridor-years by size) or table"),
                _c("stratum", "VARCHAR", "the stratum's value ('all' when pooled)"),
                _c("coverage", "DOUBLE", "share of known values inside the interval"),
                _c("median_width", "DOUBLE", "median (upper + 1) / (lower + 1) of the interval; net_migration: "
                                             "median upper - lower, persons"),
                _c("cells", "INTEGER", "number of known values compared"),
            ),
            ("stage", "interval", "stratum_kind", "stratum"),
        ),
        Table("flow_scores", "Accuracy of the held-out flow estimates against the observed flows.",
              _SCORE_COLUMNS, ("comparison", "method", "stratum_kind", "stratum", "metric")),
        Table("anchor_scores", "Ours against the anchors (Gaskin & Abel, Abel & Cohen) on the same cells.",
              _SCORE_COLUMNS, ("comparison", "method", "stratum_kind", "stratum", "metric")),
        Table(
            "classic_flows",
            "Five-year flows of Abel & Cohen's (2019) six classic methods computed in the pipeline on the panel's "
            "own inputs (migration_assets.classic, a port of migest 1.8.1): UN stocks moved to 1 January with "
            "native-born = population - foreign-born, WPP births and deaths summed over the period, and net "
            "migration as the demography's residual. One row per period, method and corridor with a non-zero flow.",
            (
                _c("year_start", "INTEGER", "the period starts on 1 January of this year (a stock point)"),
                _c("year_end", "INTEGER", "and ends on 1 January of this year (the next stock point, year_start + 5)"),
                _c("origin", "VARCHAR", "ISO3 country of residence on 1 January of year_start"),
                _c("destination", "VARCHAR", "ISO3 country of residence on 1 January of year_end"),
                _c("method", "VARCHAR", "sd_drop_neg, sd_rev_neg, mig_rate, da_min_open, da_min_closed or "
                                        "da_pb_closed (classic-methods.md)"),
                _c("flow", "DOUBLE", "persons who moved from origin to destination over the five years (migrant "
                                     "transitions: where people lived five years apart), whole persons"),
            ),
            ("year_start", "method", "origin", "destination"),
        ),
        Table("classic_scores", "Ours against the classic methods computed in the pipeline on the same inputs "
                                "(validation.classic_flows), on the same five-year cells: held-out reported flows, "
                                "WPP net migration and, on the synthetic world, the true flows.",
              _SCORE_COLUMNS, ("comparison", "method", "stratum_kind", "stratum", "metric")),
    ]
}


REVISIONS = Table(
    "revisions",
    "How the last estimates run moved the flows of years published before it: every corridor-year whose "
    "mean moved by more than half its earlier p05-p95 width, and the 1,000 largest moves besides (empty "
    "after a first run). Replaced by each run that rewrites estimated years.",
    (
        _c("year", "INTEGER", "calendar year of the flow"),
        _c("origin", "VARCHAR", "ISO3 country of residence on 1 January"),
        _c("destination", "VARCHAR", "ISO3 country of residence after the move"),
        _c("earlier", "DOUBLE", "the mean the warehouse held before the run, persons (0: no row)"),
        _c("now", "DOUBLE", "the mean the run wrote, persons"),
        _c("change", "DOUBLE", "now - earlier, persons"),
        _c("relative", "DOUBLE", "change / max(earlier, 1)"),
        _c("interval_units", "DOUBLE", "|change| / the earlier p95 - p05 width (at least 1 person)"),
        _c("outside_interval", "INTEGER", "1 if the new mean lies outside the earlier p05-p95 interval"),
    ),
    ("year", "origin", "destination"),
)
