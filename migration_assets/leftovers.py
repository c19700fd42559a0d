"""What a killed command leaves behind, found and undone by the next one.

A `migration-run` or `migration-update` killed with SIGKILL (an OOM kill, a power cut, an evicted
pod) cannot end its runs: they stay STARTED in the instance, holding the slots of their concurrency
pools (`duckdb`, `member_training`), and every later step of those pools would wait for them for
ever. Every run our runner starts carries the tag PROCESS_TAG naming the process that runs it (or
that started its member process, which dies with it: processes.die_with_parent); the next command
marks the runs of a process that is gone as failed and frees their slots, through the instance, as
Dagster's own run monitoring does for runs that ended.

A killed export also leaves its half-written folder or file (`.csv.<tag>.new/`, `.report.html.<pid>.tmp`)
beside the exports; `remove_interrupted_writes` deletes them.

Only one `migration-run` or `migration-update` works in a Dagster home at a time
(`one_command_at_a_time`): two at once would warm-start members from each other's weights and
interleave their estimates. The lock is the kernel's (flock on a file under the home), so the death
of its holder, however it dies, releases it.
"""

from __future__ import annotations

import os
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

PROCESS_TAG = "migration/process"  # "<host> <pid> <start>": the process that runs (or launched) the run
UNFINISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _start(pid: int) -> str | None:
    """When the process started (boot and clock ticks since boot, from /proc), to tell it from a later
    process given the same PID; "" where /proc does not say; None when there is no live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()  # fields 3.. of proc(5); the name before ")" may hold spaces
    if fields[0] in ("Z", "X"):  # a zombie: killed, not yet reaped by its parent
        return None
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        boot = ""
    return f"{boot}:{fields[19]}"  # field 22: starttime


def this_process() -> str:
    """The value of PROCESS_TAG for runs that this process runs or launches."""
    pid = os.getpid()
    return f"{socket.gethostname()} {pid} {_start(pid) or ''}".strip()


def process_gone(tag: str) -> bool:
    """Whether the process a PROCESS_TAG names has ended (False when it cannot be told: another host)."""
    host, pid, *start = tag.split(" ")
    if host != socket.gethostname():
        return False
    if Path("/proc/self/stat").exists():
        now = _start(int(pid))
        return now is None or bool(start and now and now != start[0])
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def end_run(instance: dg.DagsterInstance, run: dg.DagsterRun, why: str) -> None:
    """Mark an unfinished run whose process is gone as failed, and free its pool slots."""
    instance.report_run_failed(run, why)
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def reclaim_dead_runs(instance: dg.DagsterInstance) -> list[dg.DagsterRun]:
    """Mark failed the unfinished runs whose process is gone and free their pool slots, and the
    slots still held by runs that ended or were deleted; returns the runs marked failed."""
    dead = [run for run in instance.get_runs(dg.RunsFilter(statuses=UNFINISHED))
            if PROCESS_TAG in run.tags and process_gone(run.tags[PROCESS_TAG])]
    for run in dead:
        pid = run.tags[PROCESS_TAG].split(" ")[1]
        end_run(instance, run, f"The process that ran it (PID {pid}) ended without finishing it (killed?); marked "
                               "failed by the next migration-run or migration-update.")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids()
        for key in storage.get_concurrency_keys():
            holders |= storage.get_concurrency_info(key).active_run_ids
        for run_id in holders:
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
    return dead


def recover(instance: dg.DagsterInstance, exports: Path, log=print) -> None:
    """What `migration-run` and `migration-update` do first: reclaim the runs of a killed command and,
    when no run is under way, remove its interrupted writes in the exports folder; one line each."""
    dead = reclaim_dead_runs(instance)
    if dead:
        log(describe(dead))
    if not instance.get_runs(dg.RunsFilter(statuses=UNFINISHED), limit=1):
        removed = remove_interrupted_writes(exports)
        if removed:
            log(f"removed {len(removed)} leftover(s) of interrupted writes in {exports}: "
                + ", ".join(p.name for p in removed))


def describe(runs: list[dg.DagsterRun]) -> str:
    """One line naming the reclaimed runs."""
    names = ", ".join(f"{run.run_id[:8]} ({run.job_name}"
                      + (f" {run.tags['dagster/partition']}" if "dagster/partition" in run.tags else "") + ")"
                      for run in runs)
    pids = sorted({run.tags[PROCESS_TAG].split(" ")[1] for run in runs})
    return (f"{len(runs)} run(s) of a process that is gone (PID {', '.join(pids)}) marked failed and their pool "
            f"slots freed: {names}")


def remove_interrupted_writes(folder: Path) -> list[Path]:
    """Delete what killed writes left in `folder`: the new folders of exports/files.replace_folder and
    the temporary files of atomic file writes. A folder moved aside (`.<name>.<tag>.old`) whose
    replacement never arrived is put back. Returns what was removed or restored."""
    if not folder.is_dir():
        return []
    done = []
    for path in sorted(folder.glob(".*.old")):
        name = path.name[1:].rsplit(".", 2)[0]
        if not (folder / name).exists():
            path.rename(folder / name)
        else:
            shutil.rmtree(path, ignore_errors=True)
        done.append(path)
    for path in sorted([*folder.glob(".*.new"), *folder.glob(".*.tmp")]):
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        done.append(path)
    return done


LOCK_FILE = "data/migration.lock"  # under DAGSTER_HOME: the PID and command of the holder


@contextmanager
def one_command_at_a_time(command: str):
    """Hold the Dagster home's lock while the body runs; SystemExit, whose two lines name the command
    that holds it, its PID and the fix, when another holds it. Where the system has no flock
    (Windows), nothing is locked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    from .preflight import _process

    home = Path(os.environ["DAGSTER_HOME"])
    (home / LOCK_FILE).parent.mkdir(parents=True, exist_ok=True)
    with open(home / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            pid, _, other = lock.read().strip().partition(" ")
            program = " ".join(_process(int(pid), "?").split()) if pid.isdigit() else "?"  # on one line
            raise SystemExit(
                f"{command}: {other or 'another command'} (PID {pid}: {program}) is running on the Dagster home "
                f"{home}; two at once would train on each other's weights.\n"
                f"{command}: wait for it to end, or stop it (kill {pid}), then run {command} again.") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()} {command}\n")
        lock.flush()
        yield
