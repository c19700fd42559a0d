"""Cost and accuracy of an incremental yearly update against a full retrain, on the synthetic world.

Two scratch platforms on the default synthetic world (30 countries):

- incremental: release 1990-2022, train the members, let automation build validation and
  estimates; then release 2023 and time what the raw release sensor and the automation
  conditions do with it (new raw and panel years, warm-started members, validation, estimates);
- full retrain: the same world released through 2023, everything built from scratch.

Prints the wall time of the update against the full retrain (target: under 20 %), the members'
training time alone, the accuracy of both against the truth (held-out corridors that no member
ever saw, and observed corridors predicted out of fold), and the size of the revisions the update
made to the estimates of 1990-2022 (check `revisions_within_tolerance`), and where the update's
wall time goes (its runs by job and assets, and the time outside them).

    python benchmarks/incremental.py [--members 5] [--epochs 150]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import torch
from dagster_duckdb import DuckDBResource

from migration_assets import runner
from migration_assets.automation import run_until_quiet
from migration_assets.definitions import defs
from migration_assets.model.train import TrainConfig
from migration_assets.partitions import MEMBERS
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource
from migration_assets.sensors import land_releases
from migration_assets.synthetic.scoring import heldout_corridors, score
from synthetic_recovery import out_of_fold

FIRST_RELEASE, NEW_YEAR = 2022, 2023


def resources(folder: Path, last: int) -> dict:
    db = str(folder / "warehouse.duckdb")
    return {"io_manager": WarehouseIOManager(database=db), "warehouse": DuckDBResource(database=db),
            "model_store": ModelStore(root=str(folder / "models")), "source": SyntheticSource(released_through=last)}


def build(folder: Path, instance, last: int, members: list[str], ops: dict, log) -> tuple[float, object]:
    """Land a release and build everything from scratch; returns the seconds it took and the cursor."""
    res = resources(folder, last)
    start = time.perf_counter()
    cursor = dg.evaluate_automation_conditions(defs=defs, instance=instance).cursor
    land_releases(instance, res)
    cursor, _ = run_until_quiet(defs, instance, res, cursor, ops, log=log)
    for m in members:
        runner.train_member(res, instance, m, ops["models__member"]["config"])
    cursor, _ = run_until_quiet(defs, instance, res, cursor, ops, log=log)
    return time.perf_counter() - start, cursor


def member_seconds(instance, members: list[str]) -> float:
    total = 0.0
    for m in members:
        record = instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey(["models", "member"]), asset_partitions=[m]), limit=1).records[0]
        total += record.asset_materialization.metadata["seconds"].value
    return total


def run_seconds(instance, since: float) -> pd.DataFrame:
    """Wall seconds, start to end, of the runs created after `since` (a time.time()), summed by job
    and the assets they materialized."""
    runs = [{"job": r.dagster_run.job_name,
             "assets": ", ".join(sorted(k.to_user_string() for k in (r.dagster_run.asset_selection or []))),
             "seconds": r.end_time - r.start_time}
            for r in instance.get_run_records(dg.RunsFilter(created_after=pd.Timestamp(since, unit="s", tz="UTC")))]
    frame = pd.DataFrame(runs, columns=["job", "assets", "seconds"])
    return frame.groupby(["job", "assets"], as_index=False).agg(runs=("seconds", "size"), seconds=("seconds", "sum"))


def accuracy(folder: Path) -> dict[str, dict]:
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        names = [".".join(r) for r in con.sql("select schema_name, table_name from duckdb_tables()").fetchall()]
        tables = {n: con.sql(f"select * from {n}").df() for n in names}
    truth = SyntheticSource().truth("flows")
    years = sorted(tables["estimates.flows"]["year"].unique())
    countries = list(tables["panel.countries"].sort_values("idx")["country"])
    held = heldout_corridors(tables["panel.flow_targets"], countries)  # no source reports them
    observed = tables["panel.flow_targets"][["origin", "destination"]].drop_duplicates()
    oof = out_of_fold(tables, str(folder / "models"))
    return {
        "held-out corridors, all years": score(tables["estimates.flows"], truth, held, years),
        f"held-out corridors, {NEW_YEAR}": score(tables["estimates.flows"], truth, held, [NEW_YEAR]),
        "observed corridors out of fold": score(oof, truth, observed, years),
        f"observed corridors out of fold, {NEW_YEAR}": score(oof, truth, observed, [NEW_YEAR]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--finetune-epochs", type=int, help="epochs of a warm start (default: MemberConfig's)")
    parser.add_argument("--verbose", action="store_true", help="print each automation tick")
    args = parser.parse_args()
    torch.set_num_threads(2)
    members = MEMBERS.get_partition_keys()[: args.members]
    member = {"epochs": args.epochs, **({"finetune_epochs": args.finetune_epochs} if args.finetune_epochs else {})}
    ops = {"models__member": {"config": member}}
    log = print if args.verbose else (lambda *_: None)
    scratch = Path(tempfile.mkdtemp(prefix="incremental-"))
    incremental, full = scratch / "incremental", scratch / "full"
    incremental.mkdir()
    full.mkdir()

    with dg.DagsterInstance.ephemeral() as instance:
        first, cursor = build(incremental, instance, FIRST_RELEASE, members, ops, log)
        res = resources(incremental, NEW_YEAR)
        start, since = time.perf_counter(), time.time()
        landed = land_releases(instance, res)
        cursor, done = run_until_quiet(defs, instance, res, cursor, ops, log=log)
        update = time.perf_counter() - start
        update_runs = run_seconds(instance, since)
        update_members = member_seconds(instance, members)
        modes = {m: instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey(["models", "member"]), asset_partitions=[m]), limit=1
        ).records[0].asset_materialization.metadata["update"].value for m in members}
        revision = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey(["estimates", "flows"]), "revisions_within_tolerance")).evaluation
    with dg.DagsterInstance.ephemeral() as instance:
        retrain, _ = build(full, instance, NEW_YEAR, members, ops, log)
        retrain_members = member_seconds(instance, members)

    finetune = args.finetune_epochs or TrainConfig.finetune_epochs
    print(f"\nIncremental update on the synthetic world: {len(members)} members x {args.epochs} epochs "
          f"(warm start: {finetune}), release 1990-{FIRST_RELEASE}, then {NEW_YEAR}")
    print("landed by the release sensor: " + ", ".join(f"{t} {a}-{b}" if a else t for t, a, b in landed))
    ran = pd.Series([k for k, _ in done]).value_counts()
    print("rebuilt by automation: " + ", ".join(f"{k} x{n}" for k, n in ran.sort_index().items()))
    print(f"members: {', '.join(f'{m} {mode}' for m, mode in modes.items())}")
    print(f"\n{'':34s} {'wall s':>8s} {'member training s':>18s}")
    print(f"{'first release, from scratch':34s} {first:8.1f}")
    print(f"{'update with ' + str(NEW_YEAR):34s} {update:8.1f} {update_members:18.1f}")
    print(f"{'full retrain through ' + str(NEW_YEAR):34s} {retrain:8.1f} {retrain_members:18.1f}")
    print(f"update / full retrain: {update / retrain:.1%} of the wall time, "
          f"{update_members / retrain_members:.1%} of the member training")
    print(f"\nthe update's runs (wall s, start to end of each run; {update - update_runs['seconds'].sum():.1f} s "
          f"outside them: the release sensor, the automation's evaluation and starting each run)")
    print(update_runs.sort_values("seconds", ascending=False).to_string(index=False, float_format=lambda v: f"{v:.1f}"))

    print(f"\naccuracy against the truth{'':14s} {'r (update)':>11s} {'r (full)':>9s} {'log1p (update)':>15s} "
          f"{'log1p (full)':>13s} {'MRE (update)':>13s} {'MRE (full)':>11s}")
    a, b = accuracy(incremental), accuracy(full)
    for name in a:
        print(f"{name:40s} {a[name]['pearson_r']:11.3f} {b[name]['pearson_r']:9.3f} "
              f"{a[name]['pearson_r_log1p']:15.3f} {b[name]['pearson_r_log1p']:13.3f} "
              f"{a[name]['median_relative_error']:13.3f} {b[name]['median_relative_error']:11.3f}")

    meta = {k: v.value for k, v in revision.metadata.items()}
    print(f"\nrevisions of 1990-{FIRST_RELEASE} by the update (check revisions_within_tolerance: "
          f"{'passed' if revision.passed else 'WARN'})")
    print(f"largest change of a year's global flow total: {meta['largest_global_total_change']:.2%} "
          f"(tolerance {meta['tolerance_global_total']:.0%})")
    print(f"flow volume revised by more than half its earlier p05-p95: "
          f"{meta['flow_volume_revised_beyond_half_interval']:.2%} (tolerance {meta['tolerance_beyond_half_interval']:.0%})")
    print(f"flow-weighted mean relative revision: {meta['mean_relative_revision']:.2%}")
    print(f"global total change by year: {meta['global_total_change_by_year']}")
    print(f"largest revisions by corridor (persons, summed over 1990-{FIRST_RELEASE}):\n"
          f"{meta['largest_revisions_by_corridor']}")
    print(f"\nscratch folder: {scratch}")


if __name__ == "__main__":
    sys.exit(main())
