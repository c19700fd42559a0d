"""Wall time of the six classic methods (migration_assets.classic) on real 200-country five-year periods.

Reads the real inputs of the golden runs of migest (`../shared/golden/abel_cohen/real/<period>/inputs/`: UN
Rev.2020 stocks, WPP 2024 demography), runs each method as Abel & Cohen's driver does, with the residuals on
the largest element (the module's default, no replayed R draws), and prints per period the wall time of each
method, of the whole driver (`abel_cohen_2019`), and the share of cells identical to migest's published run.
The goal is all six methods for every five-year period of the stocks (1990–2020: six) in under a minute on 2 cores.

    python benchmarks/classic_methods.py [--golden ../shared/golden/abel_cohen] [--version 1.8.1|2.0.5]

With `--panel` it does what the asset `validation.classic_flows` does on the published data instead: builds the
panel's stocks and demography from the bundle (`--raw`, default ../shared/data/raw), times the six methods on every
five-year period of the panel (migration_assets.classic.panel.classic_flows), and prints, per method, how the
flows on our inputs compare with Abel & Cohen's published files over the periods they published.

    python benchmarks/classic_methods.py --panel [--raw ../shared/data/raw]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from migration_assets.classic import (
    METHODS,
    abel_cohen_2019,
    demographic_accounting,
    migration_rates,
    pseudo_bayesian,
    rescale_net,
    stock_differencing,
)

PROJECT = Path(__file__).resolve().parents[1]
PERIODS_1990_2020 = 6


def period_inputs(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Start and end foreign-born stocks (birthplace × residence) and the per-country demography."""
    demography = pd.read_csv(folder / "demog.csv", index_col="iso3", keep_default_na=False)
    order = demography.index

    def stocks(name: str) -> pd.DataFrame:
        return pd.read_csv(folder / name, keep_default_na=False).pivot(index="pob", columns="por", values="stock").loc[order, order]

    return stocks("stock_start.csv"), stocks("stock_end.csv"), demography


def with_native_born(foreign: pd.DataFrame, population: pd.Series) -> pd.DataFrame:
    table = foreign.astype(float)
    table.values[np.diag_indices_from(table)] = (population - foreign.sum(axis=0)).to_numpy()
    return table


def time_methods(start: pd.DataFrame, end: pd.DataFrame, demography: pd.DataFrame, version: str) -> dict[str, float]:
    """Seconds per method, each run as the driver runs it (da_pb_closed includes its independence run)."""
    seconds = {}

    def timed(method: str, run):
        clock = time.perf_counter()
        result = run()
        seconds[method] = time.perf_counter() - clock
        return result

    timed("sd_drop_neg", lambda: stock_differencing(start, end, "drop"))
    timed("sd_rev_neg", lambda: stock_differencing(start, end, "return"))
    timed("mig_rate", lambda: migration_rates(start, np.abs(rescale_net(demography["net"].to_numpy())).sum()).round())
    full_start = with_native_born(start, demography["pop_start"])
    full_end = with_native_born(end, demography["pop_end"])
    births, deaths = demography["births"], demography["deaths"]
    timed("da_min_open", lambda: demographic_accounting(full_start, full_end, births, deaths, True, "open-dr",
                                                        version=version).round())
    minimisation = timed("da_min_closed", lambda: demographic_accounting(full_start, full_end, births, deaths, True,
                                                                         "rescale", version=version).round())
    timed("da_pb_closed", lambda: pseudo_bayesian(minimisation, demographic_accounting(
        full_start, full_end, births, deaths, False, "rescale", version=version)))
    return seconds


def on_the_panel(raw: Path) -> None:
    """The asset's work on the published data, timed, and its flows beside Abel & Cohen's published ones."""
    from migration_assets.classic.panel import classic_flows
    from migration_assets.panel import build
    from migration_assets.sources.published import PublishedSource

    source = PublishedSource(root=str(raw))
    tables = {n: source.table(n) for n in ["countries", "migrant_stocks", "demography", "refugees", "gdp",
                                            "conflict", "union_membership", "abel_cohen_flows"]}
    demography = tables["demography"]
    countries = build.countries(tables["countries"], demography)
    january, _ = build.stocks_january(countries, tables["migrant_stocks"], tables["refugees"], demography)
    country_year, _ = build.country_year(countries, demography, tables["gdp"], tables["conflict"],
                                         tables["union_membership"])
    clock = time.perf_counter()
    flows, facts = classic_flows(january, country_year)
    seconds = time.perf_counter() - clock
    print(f"panel: {facts['countries']} countries, periods {', '.join(facts['periods'])}; left out: "
          f"{facts['countries_without_foreign_born_left_out']}")
    print(f"all six methods, every period: {seconds:.1f} s ({facts['seconds_per_period']})")
    published = tables["abel_cohen_flows"]
    key = ["period_start", "method", "origin", "destination"]
    ours = flows.rename(columns={"year_start": "period_start"})[key + ["flow"]]
    both = published[key + ["flow"]].merge(ours, on=key, how="outer", suffixes=("_published", "_ours")).fillna(0.0)
    both = both[both["period_start"].isin(set(published["period_start"]))]
    print(f"\nours (panel inputs, 1 January) against the published files (UN 2019 stocks, WPP 2019, 1 July), "
          f"periods {sorted(int(p) for p in set(published['period_start']))}:")
    print(f"  {'method':<14}{'r':>7}{'r log1p':>9}{'published M':>13}{'ours M':>8}{'cells':>8}")
    for method in METHODS:
        part = both[both["method"] == method]
        a, b = part["flow_published"].to_numpy(), part["flow_ours"].to_numpy()
        print(f"  {method:<14}{np.corrcoef(a, b)[0, 1]:>7.3f}{np.corrcoef(np.log1p(a), np.log1p(b))[0, 1]:>9.3f}"
              f"{a.sum() / 1e6:>13.1f}{b.sum() / 1e6:>8.1f}{len(part):>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", default=str(PROJECT.parent / "shared" / "golden" / "abel_cohen"))
    parser.add_argument("--version", default="1.8.1", choices=["1.8.1", "2.0.5"])
    parser.add_argument("--panel", action="store_true", help="the asset's work on the published data (see above)")
    parser.add_argument("--raw", default=str(PROJECT.parent / "shared" / "data" / "raw"))
    args = parser.parse_args()
    if args.panel:
        return on_the_panel(Path(args.raw))
    golden = Path(args.golden)
    periods = sorted(p.name for p in (golden / "real").glob("*_*") if (p / "inputs").is_dir())
    if not periods:
        raise SystemExit(f"no real periods under {golden / 'real'}; pass --golden FOLDER")
    folder_of_version = {"1.8.1": "v181", "2.0.5": "v205"}[args.version]
    driver_seconds = []
    for period in periods:
        start, end, demography = period_inputs(golden / "real" / period / "inputs")
        seconds = time_methods(start, end, demography, args.version)
        clock = time.perf_counter()
        flows = abel_cohen_2019(start, end, demography["pop_start"], demography["pop_end"], demography["births"],
                                demography["deaths"], demography["net"], args.version)
        driver_seconds.append(time.perf_counter() - clock)
        published = pd.read_csv(golden / "real" / period / folder_of_version / "flows_all_methods.csv.gz",
                                keep_default_na=False).set_index(["orig", "dest"])
        print(f"\n{period}: {len(demography)} countries, migest {args.version}")
        print(f"  {'method':<14}{'seconds':>9}{'cells as migest':>17}")
        for method in METHODS:
            ours = flows[method].stack().reindex(published.index).to_numpy()
            print(f"  {method:<14}{seconds[method]:>9.2f}{(ours == published[method].to_numpy()).mean():>16.4%}")
        print(f"  {'sum of methods':<14}{sum(seconds.values()):>9.2f}")
        print(f"  {'driver':<14}{driver_seconds[-1]:>9.2f}   (abel_cohen_2019, all six)")
    mean = sum(driver_seconds) / len(driver_seconds)
    print(f"\nall six methods: {sum(driver_seconds):.1f} s for {len(periods)} periods, {mean:.1f} s per period; "
          f"every five-year period 1990–2020 ({PERIODS_1990_2020}): about {PERIODS_1990_2020 * mean:.0f} s")


if __name__ == "__main__":
    main()
