"""UNHCR's four real releases landed in order through the update path, on the real published data.

Builds the platform on the bundle as it was before UNHCR's refugees package (refugees from
`unhcr_2020.csv` and the 2015 export, to 2020) with the jobs of `migration-run` (as
benchmarks/real_run.py), then lands `2022.12.1`, `2023.12.0`, `2024.12.0` and `2025.12.1` one after
another the way a user receives them: the release's folder appears under the raw folder, the release
sensor's requests say what would land, and `migration-update` lands it and carries it downstream.
Prints, per release:

- what landed: the sensor's requests (table and years), and the cells of raw.refugees and
  raw.refugee_arrivals that were revised, added or revised to zero, by year;
- what re-ran and why: each member's update mode (unchanged, warm, full) and reason;
- the update's wall time against the full run's;
- the largest revisions of earlier years (estimates.revisions) and how many moved beyond half
  their earlier interval;
- the held-out scores (validation.flow_scores: pooled and by dataset, r and r log1p).

The years run to 2025 from the start (MIGRATION_LAST_YEAR=2025, demography projected after 2023,
panel.data_basis), so each release lands into partitions that exist. The raw folder is a folder of
links to the bundle's files; nothing is copied.

    python benchmarks/unhcr_releases.py [--raw-dir ../shared/data/raw] [--members 10] [--epochs 96]
        [--parallel 2] [--keep DIR] [--releases 2022.12.1 2023.12.0 ...]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

import real_run  # benchmarks/ (the script's folder); it imports the platform only once the settings are made

PROJECT = Path(__file__).resolve().parents[1]
RELEASES = ["2022.12.1", "2023.12.0", "2024.12.0", "2025.12.1"]
PACKAGE = "unhcr/refugees_package"


def link_bundle(bundle: Path, raw: Path) -> None:
    """`raw` as the bundle was before UNHCR's package: links to every file but the package's."""
    for path in bundle.rglob("*"):
        rel = path.relative_to(bundle)
        if path.is_dir() or rel.parts[:2] == tuple(PACKAGE.split("/")):
            continue
        (raw / rel).parent.mkdir(parents=True, exist_ok=True)
        (raw / rel).symlink_to(path)


def receive(bundle: Path, raw: Path, version: str) -> None:
    """A release arrives: its folder (links to its files) appears under the raw folder."""
    folder = raw / PACKAGE / version
    folder.mkdir(parents=True)
    for path in (bundle / PACKAGE / version).iterdir():
        (folder / path.name).symlink_to(path)


def snapshot(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables "
                                             "where table_schema = 'raw'").fetchall()}
        return {t: con.execute(f"select * from raw.{t}").df() for t in ("refugees", "refugee_arrivals") if t in tables}


def revised_cells(before: pd.DataFrame | None, after: pd.DataFrame, value: str) -> pd.DataFrame:
    """Per year: cells added, revised, revised to zero (gone), and the sum of the changes, of `value`."""
    key = ["year", "origin", "asylum"]
    before = before if before is not None else after.iloc[:0]
    both = before[key + [value]].merge(after[key + [value]], on=key, how="outer", suffixes=("_before", "_after"),
                                       indicator=True)
    changed = both["_merge"].eq("both") & (both[f"{value}_before"] != both[f"{value}_after"])
    delta = both[f"{value}_after"].fillna(0) - both[f"{value}_before"].fillna(0)
    frame = pd.DataFrame({"year": both["year"], "added": both["_merge"].eq("right_only"), "revised": changed,
                          "gone": both["_merge"].eq("left_only"), "change": delta})
    out = frame.groupby("year").agg(added=("added", "sum"), revised=("revised", "sum"), gone=("gone", "sum"),
                                    net_change=("change", "sum"))
    return out[(out[["added", "revised", "gone"]].sum(axis=1) > 0)].reset_index()


def largest_input_changes(before: pd.DataFrame | None, after: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    key = ["year", "origin", "asylum"]
    before = before if before is not None else after.iloc[:0]
    both = before[key + ["refugees"]].merge(after[key + ["refugees"]], on=key, how="outer",
                                            suffixes=("_before", "_after")).fillna(0.0)
    both["change"] = both["refugees_after"] - both["refugees_before"]
    return both.reindex(both["change"].abs().sort_values(ascending=False).index).head(n).reset_index(drop=True)


def member_updates(instance, since: float) -> pd.DataFrame:
    import dagster as dg

    rows = []
    records = instance.fetch_materializations(dg.AssetKey(["models", "member"]), limit=1000).records
    for record in records:
        if record.timestamp < since:
            continue
        meta = record.asset_materialization.metadata
        rows.append({"member": record.partition_key, "update": meta["update"].value if "update" in meta else "",
                     "epochs": meta["epochs"].value if "epochs" in meta else None,
                     "reason": (meta["update_reason"].value if "update_reason" in meta else "")[:110]})
    return pd.DataFrame(rows).sort_values("member") if rows else pd.DataFrame(rows)


def scores(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.execute("select stratum, metric, value, cells from validation.flow_scores "
                            "where comparison = 'annual_heldout_flows' and method = 'ours_heldout' and "
                            "stratum_kind in ('pooled', 'dataset') and metric in ('pearson', 'pearson_log1p')").df()
    return frame.pivot_table(index=["stratum", "cells"], columns="metric", values="value").round(3).reset_index()


def revisions(db: Path) -> tuple[int, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        table = con.execute("select * from estimates.revisions order by abs(change) desc").df()
    return int((table["interval_units"] > 0.5).sum()), table.head(8).round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    real_run.run_arguments(parser, members=10, epochs=96)
    parser.add_argument("--releases", nargs="+", default=RELEASES)
    args = parser.parse_args()

    bundle = Path(args.raw_dir).resolve()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="unhcr-releases-")).resolve()
    raw = folder / "raw"
    if raw.exists():
        sys.exit(f"{raw} exists: give --keep a new folder")
    link_bundle(bundle, raw)
    shutil.copy(PROJECT / "dagster.yaml", folder / "dagster.yaml")
    db = folder / "warehouse.duckdb"
    os.environ.update({"MIGRATION_SOURCE": "published", "MIGRATION_RAW_DIR": str(raw), "MIGRATION_LAST_YEAR": "2025",
                       "MIGRATION_WAREHOUSE": str(db), "MIGRATION_MODEL_DIR": str(folder / "models"),
                       "DAGSTER_HOME": str(folder), "MIGRATION_MEMBERS": str(args.members)})
    os.environ.pop("MIGRATION_UNHCR_RELEASE", None)
    from migration_assets import runner
    from migration_assets.resources import default_resources
    from migration_assets.sensors import release_requests

    print(f"Platform in {folder}: the bundle without UNHCR's package, years 1990-2025", flush=True)
    start = time.perf_counter()
    with runner.instance() as instance:
        real_run.run(instance, default_resources(), args)
    full = time.perf_counter() - start
    print(f"\nfull run: {full / 60:.1f} min", flush=True)
    print(scores(db).to_string(index=False))

    for version in args.releases:
        before = snapshot(db)
        receive(bundle, raw, version)
        with runner.instance() as instance:
            resources = default_resources()
            requests = release_requests(instance, resources["source"])
            print(f"\n=== release {version}: the sensor requests", flush=True)
            for r in requests:
                years = r.tags.get("dagster/asset_partition_range_start")
                print(f"  {r.asset_selection[0].to_user_string()}"
                      + (f" {years}-{r.tags['dagster/asset_partition_range_end']}" if years else ""))
            mark, begin = time.time(), time.perf_counter()
        # what a user runs, in a process of its own: in this one, which ran the full run's validation
        # and estimates, the members fine-tuned at 22 s an epoch instead of 3 (2026-12-07); the members
        # keep the settings of their last training (MemberConfig), the estimates take their defaults
        update = subprocess.run([str(Path(sys.executable).parent / "migration-update")], env=dict(os.environ),
                                cwd=folder, capture_output=True, text=True)
        took = time.perf_counter() - begin
        if update.returncode != 0:
            sys.exit(f"migration-update failed:\n{update.stdout[-3000:]}{update.stderr[-3000:]}")
        with runner.instance() as instance:
            members = member_updates(instance, mark)
        after = snapshot(db)
        print(f"update: {took / 60:.1f} min = {100 * took / full:.1f} % of the full run (migration-update)")
        print("\n".join(update.stdout.strip().splitlines()[-12:]))
        for table, value in (("refugees", "refugees"), ("refugee_arrivals", "refugees")):
            if table in after:
                cells = revised_cells(before.get(table), after[table], value)
                print(f"\nraw.{table}: cells added / revised / gone, and the net change of `{value}`, by year")
                print(cells.to_string(index=False) if len(cells) else "  nothing changed")
        print("\nlargest changes of raw.refugees (persons)")
        print(largest_input_changes(before.get("refugees"), after["refugees"]).to_string(index=False))
        print("\nmembers: what re-ran and why")
        print(members.to_string(index=False) if len(members) else "  no member ran")
        beyond, top = revisions(db)
        print(f"\nestimates.revisions: {beyond:,} corridor-years moved by more than half their earlier interval; "
              "the largest:")
        print(top.to_string(index=False))
        print("\nheld-out scores")
        print(scores(db).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
