"""Harmonized panel: pure pandas functions from raw tables to the model's inputs and targets.

Every function takes and returns tidy frames whose contracts are in `PANEL` below, so the panel
can be inspected in DuckDB and tested without Dagster.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from ..schemas import Column, Table
from .harmonize import HarmonizationReport, harmonize

_x = "scaled covariate (dimensionless)"

PANEL: dict[str, Table] = {
    t.name: t
    for t in [
        Table("countries", "Canonical country list; idx is the position in every model tensor.",
              (Column("country", "VARCHAR", "ISO3 code"), Column("idx", "INTEGER", "tensor index")), ("country",)),
        Table(
            "country_year",
            "Demography and scaled country covariates per year.",
            (
                Column("year", "INTEGER", "calendar year"),
                Column("country", "VARCHAR", "ISO3 code"),
                Column("population", "DOUBLE", "population on 1 January, persons"),
                Column("births", "DOUBLE", "live births during the year, persons"),
                Column("death_rate", "DOUBLE", "deaths during the year / population on 1 January"),
                Column("x_log_population", "DOUBLE", f"standardized log population; {_x}"),
                Column("x_log_gdp_per_capita", "DOUBLE", f"standardized log GDP per capita; {_x}"),
                Column("x_gdp_growth", "DOUBLE", f"standardized GDP growth; {_x}"),
                Column("x_life_expectancy", "DOUBLE", f"standardized life expectancy; {_x}"),
                Column("x_birth_rate", "DOUBLE", f"standardized births / population; {_x}"),
                Column("x_death_rate", "DOUBLE", f"standardized deaths / population; {_x}"),
                Column("x_log_conflict_deaths", "DOUBLE", f"standardized log(1 + conflict deaths); {_x}"),
                Column("x_union_member", "DOUBLE", "1 if a member of the free-movement union, else 0"),
            ),
            ("year", "country"),
        ),
        Table(
            "data_basis",
            "What each estimate year rests on: for every input, whether the year is observed, projected, "
            "interpolated, carried forward from an earlier year, extrapolated, or has no data (the estimate "
            "is then the model's own). A nowcast year is one whose inputs are not all observed.",
            (
                Column("year", "INTEGER", "calendar year of the estimates"),
                Column("input", "VARCHAR", "the raw table (demography, gdp, conflict, refugees, migrant_stocks, ...)"),
                Column("role", "VARCHAR", "covariate (the model reads it), target (the model is fitted to it), both, "
                                          "or unused (landed, not yet read by the model)"),
                Column("basis", "VARCHAR", "observed, projected, interpolated, carried_forward, extrapolated or none"),
                Column("detail", "VARCHAR", "in words: from which year, between which points, by whom projected"),
                Column("last_observed_year", "INTEGER", "the input's last year with observed rows"),
            ),
            ("year", "input"),
        ),
        Table(
            "dyads",
            "Scaled static covariates of each ordered country pair.",
            (
                Column("origin", "VARCHAR", "ISO3 code"),
                Column("destination", "VARCHAR", "ISO3 code"),
                Column("x_log_distance", "DOUBLE", f"standardized log distance; {_x}"),
                Column("x_common_language", "DOUBLE", "common language index as reported"),
                Column("x_religious_similarity", "DOUBLE", "religious similarity as reported"),
                Column("x_colonial_tie", "DOUBLE", "1 if origin was a colony of destination"),
            ),
            ("origin", "destination"),
        ),
        Table(
            "refugees",
            "Refugee stocks at the start of each year (the previous year's end-of-year count), scaled.",
            (
                Column("year", "INTEGER", "refugees on 1 January of this year"),
                Column("origin", "VARCHAR", "ISO3 country of origin"),
                Column("asylum", "VARCHAR", "ISO3 country of asylum"),
                Column("refugees", "DOUBLE", "persons"),
                Column("x_log_refugees", "DOUBLE", f"log(1 + refugees) / its standard deviation; {_x}"),
            ),
            ("year", "origin", "asylum"),
        ),
        Table(
            "stocks_january",
            "Foreign-born stocks moved from mid-year to 1 January of the same year.",
            (
                Column("year", "INTEGER", "stock on 1 January of this year"),
                Column("birth", "VARCHAR", "ISO3 country of birth"),
                Column("residence", "VARCHAR", "ISO3 country of residence"),
                Column("stock", "DOUBLE", "persons"),
            ),
            ("year", "birth", "residence"),
        ),
        Table(
            "initial_stocks",
            "Complete stock matrix on 1 January of the first year, natives on the diagonal: the recurrence's start.",
            (
                Column("birth", "VARCHAR", "ISO3 country of birth"),
                Column("residence", "VARCHAR", "ISO3 country of residence"),
                Column("stock", "DOUBLE", "persons on 1 January of the first panel year"),
            ),
            ("birth", "residence"),
        ),
        Table(
            "stock_targets",
            "Changes of foreign-born stocks between successive 1-January stock points.",
            (
                Column("year_start", "INTEGER", "first 1 January"),
                Column("year_end", "INTEGER", "second 1 January"),
                Column("birth", "VARCHAR", "ISO3 country of birth"),
                Column("residence", "VARCHAR", "ISO3 country of residence"),
                Column("stock_change", "DOUBLE", "stock(year_end) - stock(year_start), persons"),
                Column("stock_end", "DOUBLE", "stock(year_end), persons on 1 January"),
                Column("weight", "DOUBLE", "loss weight in (0, 1]; low where noise swamps the change"),
            ),
            ("year_start", "birth", "residence"),
        ),
        Table(
            "net_migration_targets",
            "Net migration targets per country and year.",
            (
                Column("year", "INTEGER", "calendar year"),
                Column("country", "VARCHAR", "ISO3 code"),
                Column("net_migration", "DOUBLE", "persons"),
                Column("weight", "DOUBLE", "loss weight"),
            ),
            ("year", "country"),
        ),
        Table(
            "flow_targets",
            "Observed bilateral flows used as targets, with each corridor's cross-validation fold.",
            (
                Column("year", "INTEGER", "calendar year"),
                Column("origin", "VARCHAR", "ISO3 code"),
                Column("destination", "VARCHAR", "ISO3 code"),
                Column("flow", "DOUBLE", "persons during the year"),
                Column("source", "VARCHAR", "reporting system"),
                Column("weight", "DOUBLE", "loss weight: 1/√(cells of the source's dataset), mean 1 (dataset_weights)"),
                Column("fold", "INTEGER", "corridor fold; member m trains without fold m mod n_folds"),
            ),
            ("year", "origin", "destination", "source"),
        ),
        Table(
            "edges",
            "The (birth, origin, destination) triples the model may move people along.",
            (
                Column("edge", "INTEGER", "edge index in the model's flow vector"),
                Column("birth", "VARCHAR", "ISO3 country of birth"),
                Column("origin", "VARCHAR", "ISO3 country moved from"),
                Column("destination", "VARCHAR", "ISO3 country moved to"),
            ),
            ("edge",),
        ),
    ]
}


@dataclass(frozen=True)
class PanelSettings:
    min_stock: float = 100.0  # a stock cell this large at some stock point makes its group/destination an edge
    native_destinations: int = 0  # natives move to at most this many destinations (largest diasporas); 0 = all
    foreign_destinations: int = 0  # foreign-born move home or to at most this many other destinations; 0 = all
    observed_corridor_groups: int = 1  # foreign-born groups of the origin given edges along a reported corridor
    stock_relative_error: float = 0.10  # relative error of a reported stock, for target weights
    n_folds: int = 5
    fold_seed: int = 0


def _standardize(x: pd.Series) -> tuple[pd.Series, dict]:
    mean, std = float(x.mean()), float(x.std())
    std = std if std > 0 else 1.0
    return (x - mean) / std, {"mean": mean, "std": std}


def countries(raw_countries: pd.DataFrame, demography: pd.DataFrame) -> pd.DataFrame:
    """The source's canonical list, each with an index; every one must have demography."""
    codes = sorted(raw_countries["country"].unique())
    have = set(to_canonical(demography, ["country"], ["population", "births", "deaths"], codes, demography)["country"])
    lacking = [c for c in codes if c not in have]
    if lacking:
        raise ValueError(f"{len(lacking)} canonical countries have no demography: {lacking[:20]}. Fix: provide "
                         "population, births and deaths for them, or remove them from the country list")
    return PANEL["countries"].conform(pd.DataFrame({"country": codes, "idx": range(len(codes))}))


def to_canonical(frame: pd.DataFrame, code_columns: list[str], additive: list[str], codes: list[str],
                 demography: pd.DataFrame, report: HarmonizationReport | None = None) -> pd.DataFrame:
    """Map every code column onto the canonical list (panel/harmonize.py); population shares for
    splits come from the raw demography."""
    population = demography[["year", "country", "population"]]
    for column in code_columns:
        frame = harmonize(frame, column, additive, codes, population, report)
    return frame


def _fill_by_country(frame: pd.DataFrame, column: str) -> int:
    """Interpolate gaps within each country's series, extend ends, then use the overall mean."""
    missing = int(frame[column].isna().sum())
    if missing:
        frame[column] = frame.groupby("country")[column].transform(
            lambda s: s.interpolate(limit_direction="both"))
        frame[column] = frame[column].fillna(frame[column].mean())
    return missing


def country_year(countries_: pd.DataFrame, demography: pd.DataFrame, gdp: pd.DataFrame, conflict: pd.DataFrame,
                 union_membership: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Join the country-year sources on the demography grid and scale the covariates."""
    codes = list(countries_["country"])
    report = HarmonizationReport()
    first, last = int(demography["year"].min()), int(demography["year"].max())
    demo = to_canonical(demography, ["country"], ["population", "births", "deaths"], codes, demography, report)
    grid = pd.MultiIndex.from_product([range(first, last + 1), codes], names=["year", "country"]).to_frame(index=False)
    grid = grid.merge(demo, on=["year", "country"], how="left")
    gaps = grid[grid[["population", "births", "deaths"]].isna().any(axis=1)]
    if len(gaps):
        raise ValueError(f"demography lacks {len(gaps)} country-years, e.g. {gaps[['country', 'year']].head(5).to_dict('records')}. "
                         "Fix: provide population, births and deaths for every canonical country and year")
    frame = grid.reset_index(drop=True).merge(
        to_canonical(gdp, ["country"], [], codes, demography, report), on=["year", "country"], how="left").merge(
        to_canonical(conflict, ["country"], ["conflict_deaths"], codes, demography, report),
        on=["year", "country"], how="left").merge(
        to_canonical(union_membership, ["country"], [], codes, demography, report), on=["year", "country"], how="left")
    coverage = {
        source: sorted(frame.loc[frame[column].isna(), "country"].unique().tolist())
        for source, column in [("gdp", "gdp_per_capita"), ("conflict", "conflict_deaths"),
                               ("union_membership", "member"), ("demography", "life_expectancy")]
    }
    filled = {c: _fill_by_country(frame, c) for c in ["gdp_per_capita", "gdp_growth", "life_expectancy"]}
    # after a source's last year (a nowcast), each country's last value is carried forward; a gap
    # before it is no event (no deaths, no membership)
    carried = {}
    for name, column, table in [("conflict", "conflict_deaths", conflict), ("union_membership", "member", union_membership)]:
        last = int(table["year"].max()) if len(table) else first - 1
        after = frame["year"] > last
        if after.any():
            known = frame[column].where(~after).fillna(0.0).where(~after)  # gaps before the last year: no event
            frame[column] = known.groupby(frame["country"]).ffill()
            carried[name] = {"last_year": last, "years": sorted(int(y) for y in frame.loc[after, "year"].unique())}
        frame[column] = frame[column].fillna(0.0)
    frame["death_rate"] = frame["deaths"] / frame["population"]
    scaling = {}
    for name, raw in {
        "x_log_population": np.log(frame["population"]),
        "x_log_gdp_per_capita": np.log(frame["gdp_per_capita"].clip(lower=1.0)),
        "x_gdp_growth": frame["gdp_growth"],
        "x_life_expectancy": frame["life_expectancy"],
        "x_birth_rate": frame["births"] / frame["population"],
        "x_death_rate": frame["death_rate"],
        "x_log_conflict_deaths": np.log1p(frame["conflict_deaths"]),
    }.items():
        frame[name], scaling[name] = _standardize(raw)
    frame["x_union_member"] = frame["member"]
    return PANEL["country_year"].conform(frame), {"scaling": scaling, "filled_values": filled, "carried_forward": carried,
                                                  "countries_missing_some_years": coverage,
                                                  "harmonization": report.as_metadata()}


def dyads(countries_: pd.DataFrame, gravity: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    codes = list(countries_["country"])
    pairs = pd.MultiIndex.from_product([codes, codes], names=["origin", "destination"]).to_frame(index=False)
    pairs = pairs[pairs["origin"] != pairs["destination"]]
    frame = pairs.merge(gravity, on=["origin", "destination"], how="left")
    missing = int(frame["distance_km"].isna().sum())
    frame["distance_km"] = frame["distance_km"].fillna(frame["distance_km"].median())
    frame[["common_language", "religious_similarity", "colonial_tie"]] = frame[
        ["common_language", "religious_similarity", "colonial_tie"]].fillna(0.0)
    frame["x_log_distance"], scaling = _standardize(np.log(frame["distance_km"].clip(lower=1.0)))
    frame["x_common_language"] = frame["common_language"]
    frame["x_religious_similarity"] = frame["religious_similarity"]
    frame["x_colonial_tie"] = frame["colonial_tie"]
    return PANEL["dyads"].conform(frame), {"scaling": {"x_log_distance": scaling}, "missing_pairs": missing}


def refugees_panel(countries_: pd.DataFrame, refugees: pd.DataFrame, demography: pd.DataFrame
                   ) -> tuple[pd.DataFrame, dict]:
    """Refugees on 1 January of each year. A year the source does not report at all (UNHCR's 2019 in
    the older files, the years after its last release) takes the last reported year's counts, so that
    the model reads the last known refugees, not none; `carried_forward` lists those years."""
    report = HarmonizationReport()
    r = to_canonical(refugees, ["origin", "asylum"], ["refugees"], list(countries_["country"]), demography, report)
    r = r[(r["refugees"] > 0) & (r["origin"] != r["asylum"])]
    r = r.groupby(["year", "origin", "asylum"], as_index=False)["refugees"].sum()
    r["year"] = r["year"] + 1  # end of year t is 1 January of t + 1
    carried = {}
    if len(r):
        reported = set(r["year"].astype(int))
        for year in range(min(reported) + 1, int(demography["year"].max()) + 1):
            if year not in reported:
                source = max(y for y in reported if y < year)
                carried[year] = source
                r = pd.concat([r, r[r["year"] == source].assign(year=year)], ignore_index=True)
    logs = np.log1p(r["refugees"])
    std = float(logs.std()) if len(r) > 1 and logs.std() > 0 else 1.0
    r["x_log_refugees"] = logs / std
    return PANEL["refugees"].conform(r), {"scaling": {"x_log_refugees": {"std": std}}, "rows": len(r),
                                          "carried_forward": {str(y): s for y, s in carried.items()},
                                          "harmonization": report.as_metadata()}


# raw table -> its role; yearly covariates are carried forward after their last year (country_year,
# refugees_panel), stocks interpolated between points and extrapolated after the last (tensors.stock_next)
BASIS_INPUTS = {"demography": "both", "gdp": "covariate", "conflict": "covariate", "union_membership": "covariate",
                "refugees": "covariate", "migrant_stocks": "both", "net_migration": "target",
                "observed_flows": "target", "meta_flows": "target", "imfsc_flows": "target",
                "refugee_arrivals": "unused"}
CARRIED = ("gdp", "conflict", "union_membership")


def data_basis(years: list[int], tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per estimate year and input of BASIS_INPUTS (those in `tables` with rows; a table the
    source leaves empty, such as the arrivals without a UNHCR package release, is not listed)."""
    rows = []
    for name, role in BASIS_INPUTS.items():
        if name not in tables or tables[name].empty:
            continue
        frame = tables[name]
        observed = frame if name != "demography" else frame[frame["projected"] == 0]
        present = sorted({int(y) for y in observed["year"].unique()})
        if not present:
            continue
        last = present[-1]
        projected = set() if name != "demography" else {int(y) for y in frame.loc[frame["projected"] == 1, "year"]}
        for year in years:
            if name == "migrant_stocks":
                before, after = [y for y in present if y <= year], [y for y in present if y > year]
                if year in present:
                    basis, detail = "observed", "a UN stock point (mid-year)"
                elif before and after:
                    basis, detail = "interpolated", f"between the UN stock points {before[-1]} and {after[0]}"
                elif before:
                    basis, detail = "extrapolated", f"the last stock interval's growth carried past {before[-1]}"
                else:
                    basis, detail = "extrapolated", f"back from the first UN stock point {after[0]}"
            elif name == "refugees":  # the model reads 1 January: the end of the year before
                if year - 1 in present:
                    basis, detail = "observed", f"the count at the end of {year - 1}"
                elif present and year - 1 > present[0]:
                    source = max(y for y in present if y < year - 1)
                    basis, detail = "carried_forward", f"the count at the end of {source}"
                else:
                    basis, detail = "none", "no count before this year"
            elif year in present:
                basis, detail = "observed", ""
            elif year in projected:
                basis, detail = "projected", "WPP 2024 medium variant"
            elif name in CARRIED and last is not None and year > last:
                basis, detail = "carried_forward", f"each country's value of {last}"
            else:
                basis, detail = "none", "no figure this year: the estimate is the model's own"
            rows.append((year, name, role, basis, detail, last))
    return PANEL["data_basis"].conform(pd.DataFrame(rows, columns=[c.name for c in PANEL["data_basis"].columns]))


def stock_corrections() -> pd.DataFrame:
    """Hand corrections of obvious UN errors, one reason per row (panel/stock_corrections.csv)."""
    with resources.files(__package__).joinpath("stock_corrections.csv").open("r", encoding="utf-8") as f:
        return pd.read_csv(f)


def stocks_january(countries_: pd.DataFrame, migrant_stocks: pd.DataFrame, refugees: pd.DataFrame,
                   demography: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Harmonize, correct and floor the mid-year stocks, then move them to 1 January by linear
    interpolation between stock points.

    - codes are mapped onto the canonical list (successor rules), birth = residence rows dropped;
    - the cells of stock_corrections.csv are replaced by their corrected values;
    - a reported stock is raised to at least the refugees of that origin in that country
      (UNHCR end-of-year counts averaged around mid-year);
    - for a cell reported at mid-year points y_0 < y_1 < ..., the 1-January value of year y_n is
      S(y_n) − ½ (S(y_n) − S(y_{n−1})) / (y_n − y_{n−1}); the first point uses the next interval;
      a cell reported at a single point keeps its mid-year value; negative results become 0.
    """
    codes = list(countries_["country"])
    report = HarmonizationReport()
    s = to_canonical(migrant_stocks, ["birth", "residence"], ["stock"], codes, demography, report)
    s = s[s["birth"] != s["residence"]]
    fixes = stock_corrections()
    s = s.merge(fixes[["birth", "residence", "year", "stock"]].rename(columns={"stock": "corrected"}),
                on=["year", "birth", "residence"], how="left")
    corrected = int(s["corrected"].notna().sum())
    s["stock"] = s["corrected"].fillna(s["stock"])
    r = to_canonical(refugees, ["origin", "asylum"], ["refugees"], codes, demography)
    r = r.rename(columns={"origin": "birth", "asylum": "residence"})
    mid = pd.concat([r, r.assign(year=r["year"] + 1)]).groupby(["year", "birth", "residence"])["refugees"].sum() / 2
    s = s.merge(mid.rename("floor").reset_index(), on=["year", "birth", "residence"], how="left")
    raised = int((s["floor"] > s["stock"]).sum())
    s["stock"] = np.fmax(s["stock"], s["floor"].fillna(0.0))
    wide = s.pivot_table(index=["birth", "residence"], columns="year", values="stock", aggfunc="sum")
    years = list(wide.columns)
    values = wide.to_numpy(np.float64)
    out = values.copy()
    for n, y in enumerate(years):
        other = n - 1 if n > 0 else n + 1
        if other >= len(years):
            continue
        slope = (values[:, n] - values[:, other]) / (years[n] - years[other])
        shifted = values[:, n] - 0.5 * slope
        out[:, n] = np.where(np.isnan(shifted), values[:, n], shifted)
    frame = pd.DataFrame(out, index=wide.index, columns=pd.Index(years, name="year"))
    frame = frame.stack(future_stack=True).dropna().rename("stock").reset_index()
    frame["stock"] = frame["stock"].clip(lower=0.0)
    return PANEL["stocks_january"].conform(frame), {"stock_points": [int(y) for y in years],
                                                    "cells": int(len(wide)), "corrected_cells": corrected,
                                                    "cells_raised_to_refugee_count": raised,
                                                    "harmonization": report.as_metadata()}


def initial_stocks(countries_: pd.DataFrame, january: pd.DataFrame, country_year_: pd.DataFrame
                   ) -> tuple[pd.DataFrame, dict]:
    """1-January stocks of the first year: reported where available, else the cell's earliest
    later stock point; natives = population − foreign-born residents (at least 0)."""
    demography = country_year_
    first = int(demography["year"].min())
    earliest = january.sort_values("year").groupby(["birth", "residence"], as_index=False).first()
    from_later = int((earliest["year"] > first).sum())
    foreign = earliest[["birth", "residence", "stock"]]
    pop = demography[demography["year"] == first].set_index("country")["population"]
    foreign_total = foreign.groupby("residence")["stock"].sum()
    codes = list(countries_["country"])
    natives = (pop.reindex(codes) - foreign_total.reindex(codes).fillna(0.0))
    short = natives[natives < 0]
    natives = natives.clip(lower=0.0)
    frame = pd.concat([foreign, pd.DataFrame({"birth": codes, "residence": codes, "stock": natives.to_numpy()})])
    return PANEL["initial_stocks"].conform(frame.sort_values(["birth", "residence"])), {
        "first_year": first, "cells_filled_from_later_points": from_later,
        "countries_with_more_foreign_born_than_population": sorted(short.index)}


def stock_targets(january: pd.DataFrame, relative_error: float) -> tuple[pd.DataFrame, dict]:
    """Stock changes between successive 1-January points of each cell, weighted by how far the
    change stands out of the reporting noise: ẽ = √(σ₀² + σ₁²) / max(|Δ|, 1) with σ = relative
    error × stock, and w = exp(−ẽ / median ẽ), floored at 0.05.

    Cells reported as zero at both points are left out: on the real data they are three quarters
    of all pairs, carry no change to fit, and (with ẽ = 0, hence weight 1) used to drown the loss
    of the stocks that do change while pinning the weight median at 0."""
    s = january.sort_values(["birth", "residence", "year"])
    nxt = s.groupby(["birth", "residence"]).shift(-1)
    frame = s.assign(year_start=s["year"], year_end=nxt["year"], stock_end=nxt["stock"]).dropna(
        subset=["year_end"])
    zero_to_zero = (frame["stock"] == 0) & (frame["stock_end"] == 0)
    frame = frame[~zero_to_zero]
    frame["stock_change"] = frame["stock_end"] - frame["stock"]
    noise = relative_error * np.sqrt(frame["stock"] ** 2 + frame["stock_end"] ** 2)
    e = noise / frame["stock_change"].abs().clip(lower=1.0)
    median = float(e.median()) if len(e) else 1.0
    frame["weight"] = np.exp(-e / max(median, 1e-12)).clip(lower=0.05)
    return PANEL["stock_targets"].conform(frame), {
        "rows": len(frame), "zero_to_zero_left_out": int(zero_to_zero.sum()),
        "median_weight": float(frame["weight"].median()) if len(frame) else None}


def net_migration_targets(countries_: pd.DataFrame, net_migration: pd.DataFrame, demography: pd.DataFrame
                          ) -> pd.DataFrame:
    years = set(demography["year"])
    n = net_migration.dropna(subset=["net_migration"])
    n = to_canonical(n[n["year"].isin(years)], ["country"], ["net_migration"], list(countries_["country"]), demography)
    return PANEL["net_migration_targets"].conform(n.assign(weight=1.0))


def corridor_folds(flows: pd.DataFrame, n_folds: int, seed: int) -> pd.DataFrame:
    """Assign every observed corridor to one of n_folds folds by a seeded hash of its two codes.

    A corridor keeps its fold whatever other corridors or years a release adds, so a member that
    is updated with a new year still never sees the corridors of its own fold."""
    corridors = flows[["origin", "destination"]].drop_duplicates().sort_values(["origin", "destination"])
    fold = [int(hashlib.sha256(f"{seed}:{o}:{d}".encode()).hexdigest()[:8], 16) % max(n_folds, 1)
            for o, d in zip(corridors["origin"], corridors["destination"])]
    return corridors.assign(fold=np.asarray(fold, dtype=np.int64))


def dataset(source: pd.Series) -> pd.Series:
    """The dataset a flow source belongs to: oecd_b11 -> oecd, imfsc_residence_emigrants -> imfsc, ..."""
    return source.astype(str).str.split("_").str[0]


def dataset_weights(source: pd.Series) -> pd.Series:
    """Loss weight of each reported cell: 1/√(cells of its dataset), scaled to a mean of 1.

    A dataset's weight in the flow loss then grows with the square root of its size, not with its
    size: the UN's IMFSC tabulates the same few thousand corridors under six criteria for 34 years
    (69 % of the cells with equal weights, 47 % with these), while Meta measures 24,000 corridors in
    four years and Eurostat's cells are 3 %."""
    ds = dataset(source)
    weight = 1.0 / np.sqrt(ds.map(ds.value_counts()).astype(float))
    return weight / weight.mean()


def flow_targets(countries_: pd.DataFrame, observed_flows: pd.DataFrame, demography: pd.DataFrame,
                 settings: PanelSettings) -> tuple[pd.DataFrame, dict]:
    """Every reported cell of every flow source, in canonical countries, with its corridor's fold.

    Cells of one corridor and year from several sources all stay: each keeps its `source` (dataset x
    criterion x reporting side), whose reporting bias the members learn. Each dataset's cells weigh
    as `dataset_weights` says."""
    report = HarmonizationReport()
    years = set(demography["year"])
    f = observed_flows[observed_flows["year"].isin(years)].dropna(subset=["flow"])
    f = to_canonical(f, ["origin", "destination"], ["flow"], list(countries_["country"]), demography, report)
    f = f[f["origin"] != f["destination"]]
    f = f.merge(corridor_folds(f, settings.n_folds, settings.fold_seed), on=["origin", "destination"])
    frame = PANEL["flow_targets"].conform(f.assign(weight=dataset_weights(f["source"]).to_numpy()))
    per_fold = frame.groupby("fold").size().to_dict()
    per_source = {
        str(source): {"cells": int(len(g)), "corridors": int(g[["origin", "destination"]].drop_duplicates().shape[0]),
                      "years": f"{int(g['year'].min())}-{int(g['year'].max())}", "persons": float(g["flow"].sum()),
                      "weight_per_cell": round(float(g["weight"].iloc[0]), 4)}
        for source, g in frame.groupby("source")}
    return frame, {"harmonization": report.as_metadata(),
                   "corridors": int(f[["origin", "destination"]].drop_duplicates().shape[0]),
                   "rows_per_fold": {int(k): int(v) for k, v in per_fold.items()},
                   "sources": sorted(frame["source"].unique()), "per_source": per_source}


EDGE_RULE = (
    "groups (i, j) = every (i, i) and every (i, j) whose foreign-born stock reaches min_stock at some 1-January "
    "stock point; destinations of a group = i itself (return) and every k != j whose stock of i-born reaches "
    "min_stock at some point, limited to the largest native_destinations (natives) or foreign_destinations "
    "(foreign-born) of them when those are > 0; plus, for every corridor j -> k that any flow source reports in "
    "any year, the natives (j, j, k) and the largest observed_corridor_groups foreign-born groups (i, j) living "
    "in j"
)


def edges(countries_: pd.DataFrame, january: pd.DataFrame, flows: pd.DataFrame, settings: PanelSettings
          ) -> tuple[pd.DataFrame, dict]:
    codes = list(countries_["country"])
    n = len(codes)
    idx = {c: i for i, c in enumerate(codes)}
    peak = january.groupby(["birth", "residence"])["stock"].max()
    size = np.zeros((n, n))  # size[i, k]: largest i-born stock in k
    size[peak.index.get_level_values(0).map(idx), peak.index.get_level_values(1).map(idx)] = peak.to_numpy()
    present = size >= settings.min_stock  # present[i, k]: i-born have a diaspora in k
    np.fill_diagonal(present, True)  # natives, and return destinations
    triples: set[tuple[int, int, int]] = set()
    for i in range(n):
        ranked = [k for k in np.argsort(-size[i], kind="stable") if present[i, k] and k != i]
        for j in np.flatnonzero(present[i]):
            limit = settings.native_destinations if i == j else settings.foreign_destinations
            chosen = [k for k in ranked if k != j]
            chosen = set(chosen[:limit] if limit > 0 else chosen)
            if i != j:
                chosen.add(i)
            triples.update((i, int(j), int(k)) for k in chosen if k != j)
    by_stock = len(triples)
    observed: list[tuple[int, int]] = []
    if len(flows):
        pairs = flows[["origin", "destination"]].drop_duplicates()
        observed = sorted(zip(pairs["origin"].map(idx), pairs["destination"].map(idx)))
    groups_in: dict[int, list[int]] = {}  # j -> the foreign-born groups living in j, largest first
    for j, k in observed:
        if j not in groups_in:
            ranked = [int(i) for i in np.argsort(-size[:, j], kind="stable") if present[i, j] and i != j]
            groups_in[j] = ranked[:settings.observed_corridor_groups]
        triples.add((j, j, k))
        triples.update((i, j, k) for i in groups_in[j])  # i == k is the group's return edge
    b, o, d = np.asarray(sorted(triples), dtype=np.int64).reshape(-1, 3).T
    arr = np.asarray(codes, dtype=object)
    frame = pd.DataFrame({"edge": np.arange(len(b)), "birth": arr[b], "origin": arr[o], "destination": arr[d]})
    return PANEL["edges"].conform(frame), {"rule": EDGE_RULE, "min_stock": settings.min_stock,
                                           "native_destinations": settings.native_destinations,
                                           "foreign_destinations": settings.foreign_destinations,
                                           "observed_corridor_groups": settings.observed_corridor_groups,
                                           "edges": len(b), "edges_by_stock_rule": by_stock,
                                           "edges_added_for_reported_corridors": len(b) - by_stock,
                                           "reported_corridors": len(observed),
                                           "density": len(b) / max(n * n * (n - 1), 1)}
