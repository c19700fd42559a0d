"""The whole graph on the real published files: all canonical countries, 1990-2023, an ensemble.

Not part of CI. Runs what `migration-run` runs (the jobs ingest, train_members, estimate and
export_estimates: cli.run_all) in a scratch folder with its own warehouse, model store, exports
and Dagster instance, configured as the project's dagster.yaml (its `duckdb` pool). Prints wall
time and peak memory per stage, each member's run time, training time and peak memory (from its
materialization), the panel's size (countries, edges, observed cells), every check that failed
or warned, the global total flow per year next to the totals of the paper's published estimates,
and the exported files (Parquet, CSV, NetCDF, the report). The accuracy tables themselves are
printed by benchmarks/accuracy.py.

    python benchmarks/real_run.py [--raw-dir ../shared/data/raw] [--members 5] [--epochs 60]
        [--parallel 2] [--native-destinations 40] [--foreign-destinations 5] [--keep DIR]
"""

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]


def peak_mib() -> float:
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def run_arguments(parser: argparse.ArgumentParser, members: int = 5, epochs: int = 60) -> None:
    """The settings of a real run (run() reads them), shared with benchmarks/unhcr_releases.py."""
    parser.add_argument("--raw-dir", default=str(PROJECT.parent / "shared" / "data" / "raw"))
    parser.add_argument("--members", type=int, default=members)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--samples", type=int, default=4, help="perturbed passes per member")
    parser.add_argument("--native-destinations", type=int, default=40)
    parser.add_argument("--foreign-destinations", type=int, default=5)
    parser.add_argument("--min-stock", type=float, default=100.0)
    parser.add_argument("--keep", help="folder for the run (default: a new scratch folder)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run_arguments(parser)
    parser.add_argument("--report", help="only print the report of the finished run in this folder")
    args = parser.parse_args()
    if args.report:
        os.environ["DAGSTER_HOME"] = str(Path(args.report).resolve())
        report(Path(args.report), {}, [], None)
        return

    folder = Path(args.keep or tempfile.mkdtemp(prefix="real-run-")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    # the project's instance settings (sqlite storage under the folder, the `duckdb` pool of one)
    shutil.copy(PROJECT / "dagster.yaml", folder / "dagster.yaml")
    os.environ.update({"MIGRATION_SOURCE": "published", "MIGRATION_RAW_DIR": str(Path(args.raw_dir).resolve()),
                       "MIGRATION_WAREHOUSE": str(folder / "warehouse.duckdb"),
                       "MIGRATION_MODEL_DIR": str(folder / "models"), "DAGSTER_HOME": str(folder),
                       "MIGRATION_MEMBERS": str(args.members)})

    from migration_assets import runner
    from migration_assets.resources import default_resources

    start = time.perf_counter()
    with runner.instance() as instance:
        stages, warnings = run(instance, default_resources(), args)
    report(folder, stages, warnings, time.perf_counter() - start)


def run(instance: dg.DagsterInstance, resources: dict, args) -> tuple[dict[str, float], list[str]]:
    """What `migration-run` runs (its four jobs, exports included: cli.run_all) with this script's
    settings; the wall time of each stage, and the checks that did not pass."""
    from migration_assets import runner
    from migration_assets.cli import run_all
    from migration_assets.partitions import MEMBERS

    members = MEMBERS.get_partition_keys()[: args.members]
    member_config = {"epochs": args.epochs, "hidden": args.hidden}  # the runner sets torch threads per run
    panel_config = {"ops": {"panel__edges": {"config": {
        "min_stock": args.min_stock, "native_destinations": args.native_destinations,
        "foreign_destinations": args.foreign_destinations}}}}
    marks = []

    def timed(line: str) -> None:
        print(line, flush=True)
        if line.startswith("["):  # "[k/5] ...": a stage starts
            marks.append(time.perf_counter())

    results = run_all(instance, resources, members, member_config, args.parallel, panel_config,
                      {"samples_per_member": args.samples}, {"members": members, "samples_per_member": args.samples},
                      log=timed)
    marks.append(time.perf_counter())
    names = ["raw sources, checks and panel", f"{len(members)} members x {args.epochs} epochs",
             "validation, calibration, estimates, checks, anchors", "exports: Parquet, CSV, NetCDF, report",
             "automation cursor"]
    stages = {name: end - begin for name, begin, end in zip(names, marks, marks[1:])}
    warnings = [f"{e.asset_key.to_user_string()}:{e.check_name} {e.severity.value} "
                f"{e.metadata.get('failures').value if e.metadata.get('failures') else ''}".rstrip()
                for job in (runner.INGEST, runner.ESTIMATE) for e in results[job].get_asset_check_evaluations()
                if not e.passed]
    return stages, warnings


def member_runs(folder: Path) -> pd.DataFrame:
    """Each member's latest materialization: its fold, the wall time of its run, its training time
    and the peak memory of the process that trained it (its own, with --parallel above 1)."""
    from migration_assets import runner

    rows = []
    with runner.instance() as instance:  # DAGSTER_HOME is the folder
        records = instance.fetch_materializations(dg.AssetKey(["models", "member"]), limit=1000).records
        latest = {}
        for record in records:  # newest first
            latest.setdefault(record.partition_key, record)
        for member, record in sorted(latest.items()):
            meta = record.asset_materialization.metadata
            stats = instance.get_run_stats(record.run_id)
            value = lambda key: meta[key].value if key in meta else None  # noqa: E731
            rows.append({"member": member, "fold": value("fold"), "epochs": value("epochs"),
                         "run_wall_s": round(stats.end_time - stats.start_time) if stats.end_time else None,
                         "training_s": value("seconds"), "peak_mib": value("process_peak_memory_mib")})
    return pd.DataFrame(rows)


def report(folder: Path, stages: dict[str, float], warnings: list[str], total: float | None) -> None:
    members = member_runs(folder)
    if len(members):
        print("\nmembers (wall time of each member's run, its training, peak memory of its process)")
        print(members.to_string(index=False))
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        def one(sql: str):
            return con.execute(sql).fetchall()[0][0]

        print(f"\nReal run in {folder}")
        print(f"countries {one('select count(*) from panel.countries')}, "
              f"edges {one('select count(*) from panel.edges'):,}, "
              f"stock-change targets {one('select count(*) from panel.stock_targets'):,}, "
              f"net-migration targets {one('select count(*) from panel.net_migration_targets'):,}, "
              f"observed flow cells {one('select count(*) from panel.flow_targets'):,} "
              f"({one('select count(distinct origin || destination) from panel.flow_targets'):,} corridors)")
        for stage, seconds in stages.items():
            print(f"  {stage:45s} {seconds / 60:6.1f} min")
        if total is not None:
            print(f"  {'total':45s} {total / 60:6.1f} min; peak memory (largest process) {peak_mib():,.0f} MiB")
            print("\nchecks that did not pass:" if warnings else "\nevery check passed")
            for w in warnings:
                print(f"  - {w}")
        r, rlog, n = con.execute("""
            select corr(e.mean, r.flow), corr(ln(1 + e.mean), ln(1 + r.flow)), count(*)
            from estimates.flows e join reference.gaskin_abel_flows r using (year, origin, destination)""").fetchall()[0]
        print(f"\nagreement with the paper's published flows on {n:,} shared cells: r {r:.3f}, r log1p {rlog:.3f}")
        largest = con.sql("""
            select e.year, e.origin, e.destination, round(e.mean) as ours, round(e.p05) as p05, round(e.p95) as p95,
                   r.flow as paper
            from estimates.flows e left join reference.gaskin_abel_flows r using (year, origin, destination)
            where e.year in (2019, 2022) order by e.mean desc limit 8""").df()
        print("\nlargest flows of 2019 and 2022 (persons)")
        print(largest.to_string(index=False))
        totals = con.sql("""
            select e.year, round(sum(e.mean) / 1e6, 2) as ours_millions,
                   round((select sum(flow) from reference.gaskin_abel_flows r where r.year = e.year) / 1e6, 2)
                       as paper_millions
            from estimates.flows e group by e.year order by e.year""").df()
        print("\nglobal total flow per year (millions of movers)")
        print(totals.to_string(index=False))
    exports = folder / "exports"
    print(f"\nexports in {exports}:")
    for kind in sorted(exports.iterdir()) if exports.is_dir() else []:
        files = [f for f in ([kind] if kind.is_file() else kind.rglob("*")) if f.is_file()]
        print(f"  {kind.name:12s} {len(files):4d} files {sum(f.stat().st_size for f in files) / 2**20:10,.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
