"""The six classic methods on the platform's harmonized panel, one run per five-year period (pandas, no Dagster).

Inputs, all from the panel, rounded to whole persons as the reference implementation's are:
- foreign-born stocks on 1 January of each stock point (`panel.stocks_january`, birth × residence; cells the
  UN does not report count 0);
- populations on 1 January of the period's first and last year, births and deaths summed over its five calendar
  years (`panel.country_year`: deaths = death_rate × population);
- net migration of the period as the residual of that demography, population(end) − population(start) − births +
  deaths: WPP's net migration to within rounding on the published data, and consistent with the account.

A period runs from 1 January of one stock point to 1 January of the next, five years later, and is kept only if
the demography reaches its end. A country without any foreign-born in the stocks at one of the two points is left
out of that period (on the published data: Taiwan, which the UN counts in China, and Bonaire, Sint Eustatius and
Saba before 2010): its residents cannot be told apart by birthplace, so the closed methods' birthplace totals
cannot be matched (migest's IPF would run its 100,000 iterations, a minute, without converging). Where a population is below the foreign-born stock the panel places in the
country, the population is raised to it (native-born 0), and the country-year is reported.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from migration_assets.classic.methods import METHODS, abel_cohen_2019

PERIOD_YEARS = 5
COLUMNS = ["year_start", "year_end", "origin", "destination", "method", "flow"]


def periods(stock_years, demography_years) -> list[tuple[int, int]]:
    """Pairs of stock points five years apart whose years the demography covers (population on 1 January of
    both, births and deaths in between)."""
    points = {int(y) for y in stock_years}
    reached = {int(y) for y in demography_years}
    return [(start, start + PERIOD_YEARS) for start in sorted(points)
            if start + PERIOD_YEARS in points and all(y in reached for y in range(start, start + PERIOD_YEARS + 1))]


def period_inputs(stocks_january: pd.DataFrame, country_year: pd.DataFrame, year_start: int, year_end: int
                  ) -> tuple[dict, list[str], list[str]]:
    """The arguments of `abel_cohen_2019` for one period, the countries left out (no foreign-born at a point)
    and the 'ISO3 year' whose population was raised to the foreign-born stock."""
    countries = sorted(country_year["country"].unique())
    demography = country_year.assign(deaths=country_year["death_rate"] * country_year["population"])
    by_year = demography.set_index(["year", "country"])

    def stock(year: int) -> pd.DataFrame:
        cells = stocks_january[(stocks_january["year"] == year) & (stocks_january["birth"] != stocks_january["residence"])]
        table = cells.pivot_table(index="birth", columns="residence", values="stock", aggfunc="sum")
        unknown = sorted(set(table.index).union(table.columns) - set(countries))
        if unknown:
            raise ValueError(f"panel.stocks_january {year}: countries {unknown[:10]} are not in panel.country_year; "
                             "rebuild the panel so that both cover the canonical country list")
        return table.reindex(index=countries, columns=countries).fillna(0.0).round()

    raised = []

    def population(year: int, foreign: pd.DataFrame) -> pd.Series:
        value = by_year.loc[year, "population"].reindex(countries).round()
        foreign_born = foreign.sum(axis=0)
        short = value < foreign_born
        raised.extend(f"{c} {year}" for c in value.index[short])
        return value.where(~short, foreign_born)

    def summed(column: str) -> pd.Series:
        years = demography[(demography["year"] >= year_start) & (demography["year"] < year_end)]
        return years.groupby("country")[column].sum().reindex(countries).round()

    start, end = stock(year_start), stock(year_end)
    silent = (start.sum(axis=0) == 0) | (end.sum(axis=0) == 0)
    left_out = list(start.index[silent])
    countries = [c for c in countries if c not in left_out]
    start, end = start.loc[countries, countries], end.loc[countries, countries]
    population_start, population_end = population(year_start, start), population(year_end, end)
    births, deaths = summed("births"), summed("deaths")
    net_migration = population_end - population_start - births + deaths
    return dict(stock_start=start, stock_end=end, population_start=population_start, population_end=population_end,
                births=births, deaths=deaths, net_migration=net_migration), left_out, raised


def classic_flows(stocks_january: pd.DataFrame, country_year: pd.DataFrame, version: str = "1.8.1"
                  ) -> tuple[pd.DataFrame, dict]:
    """Flows of the six methods for every five-year period of the panel's stocks: (long frame, facts).

    The frame has `COLUMNS`, one row per period, method and corridor with a non-zero flow (persons who lived in
    `origin` on 1 January of `year_start` and in `destination` on 1 January of `year_end`). The facts: the periods,
    the stock points, the countries, those left out, the populations raised, and the seconds per period.
    """
    stock_years = sorted(int(y) for y in stocks_january["year"].unique())
    kept = periods(stock_years, country_year["year"].unique())
    if not kept:
        raise ValueError(f"no five-year period: the panel's stock points are {stock_years} and its demography covers "
                         f"{int(country_year['year'].min())}-{int(country_year['year'].max())}; the classic methods need "
                         "two stock points five years apart with the population on 1 January of both")
    parts, raised, left_out, seconds = [], [], {}, {}
    for year_start, year_end in kept:
        clock = time.perf_counter()
        inputs, silent, short = period_inputs(stocks_january, country_year, year_start, year_end)
        raised += short
        if silent:
            left_out[f"{year_start}-{year_end}"] = silent
        try:
            flows = abel_cohen_2019(**inputs, version=version)
        except ValueError as err:
            raise ValueError(f"period {year_start}-{year_end}: {err}") from err
        for method in METHODS:
            long = flows[method].rename_axis(index="origin", columns="destination").stack().rename("flow").reset_index()
            long = long[long["flow"] != 0]
            parts.append(long.assign(year_start=year_start, year_end=year_end, method=method))
        seconds[f"{year_start}-{year_end}"] = round(time.perf_counter() - clock, 3)
    frame = pd.concat(parts, ignore_index=True)[COLUMNS]
    frame["flow"] = frame["flow"].astype(np.float64)
    return frame, {
        "periods": [f"{a}-{b}" for a, b in kept],
        "stock_points": stock_years,
        "countries": int(country_year["country"].nunique()),
        "countries_without_foreign_born_left_out": left_out,
        "populations_raised_to_foreign_born": raised,
        "seconds_per_period": seconds,
    }
