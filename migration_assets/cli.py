"""`migration-run`: the whole graph, in order, as runs of the named jobs (jobs.py) in the persistent
Dagster instance.

1. job `ingest`: raw sources with their quality checks, the harmonized panel, and the synthetic
   world's truth or the anchors' published estimates;
2. job `train_members`, one run per ensemble member (several at once with --parallel);
3. job `estimate`: held-out validation, interval calibration, the yearly estimate tables of every
   year with their invariant checks, and (published data) the comparison with the anchors;
4. job `export_estimates`: Parquet, CSV and NetCDF files under data/exports/ and the report.

Runs are recorded in the instance under $DAGSTER_HOME (default: this project's folder, whose
dagster.yaml keeps storage under data/dagster), so `dagster dev` shows them afterwards.

The terminal shows the steps; Dagster's log and any traceback go to a log file under
$DAGSTER_HOME/data/logs, whose path is printed first. A failure ends with one or two lines: what
failed, its message and fix, and the log file. The warehouse, the model store and the source
settings are checked before any work starts.
"""

import argparse
import os
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager, redirect_stderr
from datetime import datetime
from pathlib import Path
from typing import Callable

import dagster as dg

from .failures import one_line
from .leftovers import one_command_at_a_time, recover

PROJECT = Path(__file__).resolve().parents[1]


def _settle_paths() -> None:
    """Make every path setting absolute before any work, so that nothing depends on the current
    folder afterwards (no `chdir`): DAGSTER_HOME (default: this project), the MIGRATION_* paths the
    user set relative to where they stand, and the unset ones at their defaults under DAGSTER_HOME.
    The runs, the member processes and the instance (runner.instance) then read the same places."""
    from .preflight import (DEFAULT_MODEL_DIR, DEFAULT_RAW_DIR, DEFAULT_WAREHOUSE, MODEL_DIR_VAR, RAW_DIR_VAR,
                            WAREHOUSE_VAR)

    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT).resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    for var, default in ((WAREHOUSE_VAR, DEFAULT_WAREHOUSE), (MODEL_DIR_VAR, DEFAULT_MODEL_DIR),
                         (RAW_DIR_VAR, DEFAULT_RAW_DIR)):
        value = os.environ.get(var)
        if value and "://" in value:  # a URL (s3://...) stays as it is
            continue
        os.environ[var] = str(Path(value).resolve() if value else home / default)


LOG_DIR = "data/logs"  # under DAGSTER_HOME
# errors whose message is the whole story (what, where, the fix): printed without their class
_EXPLAINED = ("RunFailed", "PreflightError", "WarehouseError", "ContractError", "SourceFileError", "Failure")


def _log_file(command: str) -> Path:
    """A new log file for this command under $DAGSTER_HOME/data/logs (the temp folder if that cannot be written)."""
    name = f"{command}-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT)
    for folder in (home / LOG_DIR, Path(tempfile.gettempdir()) / "migration-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder.resolve() / name
            path.touch()
            return path
        except OSError:
            continue
    raise SystemExit(f"{command}: cannot write a log file under {home / LOG_DIR} or the temp folder")


def _short(err: BaseException) -> str:
    if any(c.__name__ in _EXPLAINED for c in type(err).__mro__):
        return one_line(str(err))
    return one_line(f"{type(err).__name__}: {err}")


@contextmanager
def reported(command: str):
    """Run the body with stderr (Dagster's console log, warnings, the member processes' output)
    going to a log file; on an error write its traceback there and end with two lines on the
    terminal, the error's message and the log file, and exit status 1 (130 when interrupted)."""
    path = _log_file(command)
    print(f"Log: {path}", flush=True)
    terminal = sys.stderr
    with open(path, "a", buffering=1) as log:
        terminal.flush()
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)  # also what C code and child processes write
        try:
            with redirect_stderr(log):
                yield path
        except SystemExit as stop:
            if stop.code in (None, 0):
                raise
            message, status = str(stop.code), stop.code if isinstance(stop.code, int) else 1
            traceback.print_exc(file=log)
        except KeyboardInterrupt:
            message, status = "interrupted", 130
            traceback.print_exc(file=log)
        except Exception as err:  # noqa: BLE001 (every error ends the same way: short, with the log)
            message, status = _short(err), 1
            traceback.print_exc(file=log)
        else:
            return
        finally:
            log.flush()
            os.dup2(saved, 2)
            os.close(saved)
    print(f"{command}: {message}\n{command}: full log and traceback: {path}", file=terminal, flush=True)
    raise SystemExit(status)


def _check_partition_settings(command: str) -> None:
    """MIGRATION_MEMBERS and MIGRATION_LAST_YEAR, which the partitions are made of, before anything
    imports them: a bad value ends with one line naming the setting and the fix, not a traceback."""
    from .preflight import PreflightError, ensemble_size, last_year

    try:
        ensemble_size()
        last_year()
    except PreflightError as err:
        raise SystemExit(f"{command}: {err}") from None


def main(argv: list[str] | None = None) -> None:
    _check_partition_settings("migration-run")
    from .partitions import DEFAULT_PARALLEL, N_MEMBERS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, help="training epochs per member (default: as the member was last "
                        "trained, else TrainConfig.epochs)")
    parser.add_argument("--members", type=int, default=N_MEMBERS,
                        help=f"ensemble members to train, the first of the {N_MEMBERS} partitions of models/member "
                             "(MIGRATION_MEMBERS sets how many the ensemble has; default: all)")
    parser.add_argument("--parallel", type=int, default=DEFAULT_PARALLEL,
                        help="members trained at once (the member_training pool's limit), one process each; "
                             "each member's torch threads do not depend on it, nor do the numbers")
    parser.add_argument("--native-destinations", type=int, default=0,
                        help="edges: natives move to at most this many destinations (0 = all; 40 for real data)")
    parser.add_argument("--foreign-destinations", type=int, default=0,
                        help="edges: foreign-born move home or to at most this many others (0 = all; 5 for real data)")
    _withdrawal_argument(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.members <= N_MEMBERS:
        parser.error(f"--members must be between 1 and {N_MEMBERS} (the partitions of models/member; "
                     "MIGRATION_MEMBERS sets how many there are)")
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1 (omit it for the default)")
    if args.parallel < 1:
        parser.error("--parallel must be at least 1")

    _settle_paths()
    with one_command_at_a_time("migration-run"), reported("migration-run"):
        _run(args)


def _run(args) -> None:
    from .preflight import check_all

    check_all()  # before any work: the source settings, the model store, the warehouse
    from . import runner
    from .automation import cursor_before_first_run
    from .definitions import defs
    from .partitions import MEMBERS
    from .resources import default_resources, warehouse_path

    resources = default_resources()
    member_config = {"epochs": args.epochs} if args.epochs is not None else {}
    edges = {"native_destinations": args.native_destinations, "foreign_destinations": args.foreign_destinations}
    start = time.perf_counter()
    with runner.instance() as instance:
        recover(instance, exports_folder(resources))
        cursor_before_first_run(defs, instance)
        run_all(instance, resources, MEMBERS.get_partition_keys()[: args.members], member_config,
                args.parallel, {"ops": {"panel__edges": {"config": edges}, **withdrawal_config(args.withdrawal)}})
    print(f"\nDone in {time.perf_counter() - start:.0f} s. Warehouse: {Path(warehouse_path()).resolve()}")
    print_example(warehouse_path())


def run_all(instance: dg.DagsterInstance, resources: dict, members: list[str], member_config: dict, parallel: int,
            ingest_config: dict | None = None, validation_config: dict | None = None,
            estimate_config: dict | None = None, log: Callable = lambda line: print(line, flush=True)) -> dict:
    """What `migration-run` does: the four jobs in order (ingest, one train_members run per member,
    estimate, export_estimates), then the automation cursor stored as up to date. Returns the
    in-process results of ingest, estimate and export by job name (benchmarks/real_run.py reads them)."""
    from . import runner
    from .automation import mark_up_to_date
    from .definitions import build_defs

    start = time.perf_counter()
    results = {runner.INGEST: runner.ingest(resources, instance, ingest_config, log=log)}
    log(f"[2/5] training {len(members)} ensemble members, {parallel} at a time (job {runner.TRAIN_MEMBERS})")
    if parallel > 1:
        for done in runner.train_members_in_parallel(instance, members, member_config, parallel):
            log(f"      member {done} {runner.member_outcome(instance, done)} ({time.perf_counter() - start:.0f} s)")
    else:
        for m in members:
            runner.train_member(resources, instance, m, member_config)
            log(f"      member {m} {runner.member_outcome(instance, m)} ({time.perf_counter() - start:.0f} s)")
    first, last = runner.source_years(resources)
    extra = "" if not resources["source"].has_reference else ", the comparison with the anchors"
    log(f"[3/5] held-out validation, interval calibration, estimates {first}-{last} with their invariant "
        f"checks{extra} (job {runner.ESTIMATE})")
    results[runner.ESTIMATE] = runner.estimate(resources, instance, validation_config, estimate_config)
    for job in (runner.INGEST, runner.ESTIMATE):
        log_failed_checks(results[job], log)
    log(f"[4/5] exports: Parquet, CSV and NetCDF files and the report (job {runner.EXPORT})")
    results[runner.EXPORT] = runner.export(resources, instance)
    log("[5/5] automation cursor: everything counts as up to date")
    # what `migration-update` later finds changed is what changed after this
    mark_up_to_date(build_defs(resources), instance)
    return results


def log_failed_checks(result: dg.ExecuteInProcessResult, log: Callable) -> None:
    """One line naming the checks of a run that did not pass (warnings: the run went on), with how
    far the estimates moved when the revision check is among them."""
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    if not failed:
        return
    names = []
    for e in failed:
        moved = e.metadata.get("largest_global_total_change")
        names.append(f"{e.asset_key.to_user_string()}:{e.check_name}"
                     + (f" (a year's global flow moved by {moved.value:.1%})" if moved is not None else ""))
    log(f"      warning: {len(failed)} check(s) did not pass: {'; '.join(names)}; their metadata in the UI say why")


def update_main(argv: list[str] | None = None) -> None:
    """`migration-update`: bring the warehouse up to date with the source, incrementally, in process.

    Does what `dagster dev` does with its sensors: lands the raw tables and years whose content
    changed (raw_release_sensor), then evaluates the automation conditions tick by tick and runs
    what each tick requests (the new panel years, the whole-history panel tables whose content
    changed, the members already trained, warm-started, their validation and the estimates),
    until nothing is left to do. Members are never trained here for the first time: run
    `migration-run` once first."""
    parser = argparse.ArgumentParser(description=update_main.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _withdrawal_argument(parser)
    args = parser.parse_args(argv)
    _check_partition_settings("migration-update")
    _settle_paths()
    with one_command_at_a_time("migration-update"), reported("migration-update"):
        _update(args.withdrawal)


def _withdrawal_argument(parser: argparse.ArgumentParser) -> None:
    from .schemas import RAW

    def parse(text: str) -> tuple[str, str]:
        table, _, reason = text.partition("=")
        table = table.removeprefix("raw/").removeprefix("raw.")
        if table not in RAW or not reason.strip():
            raise argparse.ArgumentTypeError(f"{text!r}: give TABLE=REASON with TABLE one of {sorted(RAW)} and a "
                                             "reason, e.g. conflict='UCDP withdrew the 1989 events'")
        return table, reason.strip()

    parser.add_argument("--withdrawal", type=parse, action="append", default=[], metavar="TABLE=REASON",
                        help="let raw/TABLE land with less than the warehouse holds (rows, years, countries, "
                             "corridors), because the publisher withdrew them; the reason is kept in its metadata")


def withdrawal_config(withdrawals: list[tuple[str, str]]) -> dict:
    """Run config of the raw assets whose withdrawal is stated ({op: {"config": ...}})."""
    return {f"raw__{table}": {"config": {"withdrawal": reason}} for table, reason in withdrawals}


def _update(withdrawals: list[tuple[str, str]] = ()) -> None:
    from .preflight import check_all

    check_all()  # before any work: the source settings, the model store, the warehouse
    from . import runner
    from .resources import default_resources, warehouse_path

    start = time.perf_counter()
    with runner.instance() as instance:
        landed, done = update(instance, default_resources(), withdrawals,
                              log=lambda line: print(line, flush=True))
    print(f"\nDone in {time.perf_counter() - start:.0f} s: {len(landed)} raw run(s), {len(done)} asset partitions "
          "rebuilt. "
          f"Warehouse: {Path(warehouse_path()).resolve()}")


def update(instance: dg.DagsterInstance, resources: dict, withdrawals: list[tuple[str, str]] = (),
           ops: dict | None = None, log: Callable = lambda *_: None) -> tuple[list, list]:
    """Land what changed in the source and carry it downstream; returns (landed runs, rebuilt partitions).

    The automation cursor lives in the instance (automation.stored_cursor): an update cut short —
    killed, or stopped by a failed run — leaves what it had not finished pending, and the next
    update finishes it. The first update takes the state of the warehouse as its starting point."""
    from .automation import mark_up_to_date, run_until_quiet, stored_cursor
    from .definitions import build_defs
    from .sensors import land_releases

    recover(instance, exports_folder(resources), log=log)
    defs = build_defs(resources)
    cursor = stored_cursor(instance) or mark_up_to_date(defs, instance)
    log("[1/2] raw tables and years whose source content changed")
    landed = land_releases(instance, resources, withdrawal_config(list(withdrawals)),
                           log=lambda line: log(f"      {line}"))
    log("[2/2] automation: what the landed releases change downstream")
    _, done = run_until_quiet(defs, instance, resources, cursor, ops, log=lambda line: log(f"      {line}"),
                              store=True)
    return landed, done


def exports_folder(resources: dict) -> Path:
    """Where the exports go by default: exports/ beside the warehouse (exports/assets.py)."""
    database = resources["warehouse"].database
    return Path(database.get_value() if isinstance(database, dg.EnvVar) else database).resolve().parent / "exports"


def print_example(path: str) -> None:
    import duckdb

    query = ("SELECT year, origin, destination, round(mean) AS mean, round(p05) AS p05, round(p95) AS p95 "
             "FROM estimates.flows WHERE year = 2023 ORDER BY mean DESC LIMIT 5")
    print(f"\nExample query (duckdb {path}):\n  {query}\n")
    with duckdb.connect(path, read_only=True) as con:
        print(con.sql(query))


if __name__ == "__main__":
    sys.exit(main())
