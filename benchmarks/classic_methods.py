"""Wall time of the six classic methods (migration_assets.classic) on real 200-country five-year periods.

Reads the real inputs of the golden runs of migest (`../shared/golden/abel_cohen/real/<period>/inputs/`: UN
Rev.2020 stocks, WPP 2024 demography), runs each method as Abel & Cohen's driver does, with the residuals on
the largest element (the module's default, no replayed R draws), and prints per period the wall time of each
method, of the whole driver (`abel_cohen_2019`), and the share of cells identical to migest's published run.
The goal is all six methods for every five-year period of the stocks (1990–2020: six) in under a minute on 2 cores.

    python benchmarks/classic_methods.py [--golden ../shared/golden/abel_cohen] [--version 1.8.1|2.0.5]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--golden", default=str(PROJECT.parent / "shared" / "golden" / "abel_cohen"))
    parser.add_argument("--version", default="1.8.1", choices=["1.8.1", "2.0.5"])
    args = parser.parse_args()
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
