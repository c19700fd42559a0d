"""Issue 33: a command killed with SIGKILL leaves no run holding a pool slot for ever; the next one
reclaims its runs, says so, finishes its work and removes its half-written files.

A tiny synthetic world with one member in a persistent Dagster home (as `migration-run` uses)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from migration_assets import automation, cli, leftovers, runner
from migration_assets.definitions import build_defs
from migration_assets.resources import ModelStore, WarehouseIOManager
from migration_assets.sources.source import SyntheticSource

PROJECT = Path(__file__).resolve().parents[1]
WORLD = {"n_countries": 6, "end_year": 2000, "seed": 1}
OPS = {"models__member": {"config": {"finetune_epochs": 2}},
       "flow_validation": {"config": {"samples_per_member": 2, "min_cells_per_bin": 5, "min_cells_per_stratum": 5}},
       "ensemble_estimates": {"config": {"samples_per_member": 2}}}


def resources(home: Path, last: int) -> dict:
    db = str(home / "warehouse.duckdb")
    return {"io_manager": WarehouseIOManager(database=db), "warehouse": DuckDBResource(database=db),
            "model_store": ModelStore(root=str(home / "models")),
            "source": SyntheticSource(**WORLD, released_through=last)}


def stall_in_csv_export() -> None:
    """Make the CSV export stop half-way, for the test to kill the command."""
    from migration_assets.exports import files

    def stalled(con, folder):
        (folder / "flows.csv.gz").write_text("half")
        print("exporting", flush=True)
        time.sleep(600)

    files.write_csv = stalled


def first_run(home: str) -> None:
    """What `migration-run` does on a new home (cli._run), on the release through 2000; stalls in its exports."""
    stall_in_csv_export()
    source = resources(Path(home), 2000)
    with runner.instance() as instance:
        automation.cursor_before_first_run(build_defs(source), instance)
        runner.ingest(source, instance, log=lambda *_: None)
        runner.train_member(source, instance, "m00", {"epochs": 5, "hidden": 8})
        runner.estimate(source, instance, OPS["flow_validation"]["config"], OPS["ensemble_estimates"]["config"])
        runner.export(source, instance)


def update(home: str, stall: bool = False) -> None:
    """`migration-update` on the release through 2000 (cli.update); with `stall`, it stalls in its exports."""
    if stall:
        stall_in_csv_export()
    with runner.instance() as instance:
        landed, done = cli.update(instance, resources(Path(home), 2000), ops=OPS, log=print)
    print("rebuilt", sorted({key for key, _ in done}), flush=True)


def start(home: Path, call: str) -> subprocess.Popen:
    script = f"from migration_assets_tests.test_reliability_crashes import *; {call}"
    with open(home / f"command-{time.time_ns()}.log", "w") as log:  # Dagster's log
        return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=log, text=True,
                                cwd=PROJECT, env={**os.environ, "DAGSTER_HOME": str(home)})


def kill_in_exports(home: Path, call: str) -> dg.DagsterRun:
    """Start the command, kill it with SIGKILL in its CSV export; the export run it left STARTED."""
    killed = start(home, call)
    try:
        lines = iter(killed.stdout.readline, "")
        assert any(line.startswith("exporting") for line in lines)  # its run holds the duckdb pool's slot
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(10)
    finally:
        killed.kill()
    assert list((home / "exports").glob(".csv.*.new"))  # what the kill left
    with runner.instance() as instance:
        stuck = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert [r.job_name for r in stuck] == ["export_estimates"]
        assert instance.event_log_storage.get_concurrency_info("duckdb").active_run_ids == {stuck[0].run_id}
    return stuck[0]


def next_update(home: Path) -> list[str]:
    """The lines `migration-update` prints; today's code waited for the dead run's slot for ever."""
    nxt = start(home, f"update({str(home)!r})")
    try:
        out, _ = nxt.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        nxt.kill()
        pytest.fail("the update after a kill waits for ever for the dead run's pool slot")
    assert nxt.returncode == 0, out
    return out.splitlines()


def assert_reclaimed_and_rebuilt(home: Path, dead: dg.DagsterRun, out: list[str]) -> None:
    assert out[0].startswith("1 run(s) of a process that is gone (PID ") and dead.run_id[:8] in out[0], out
    assert "export_estimates" in out[0]
    assert "leftover(s) of interrupted writes" in out[1]
    assert "exports/csv" in out[-1]  # the exports the dead run left unfinished were rebuilt
    assert not list((home / "exports").glob(".*.new"))
    assert pd.read_csv(home / "exports" / "csv" / "flows.csv.gz")["year"].max() == 2000
    with runner.instance() as instance:
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_info("duckdb").active_run_ids
        assert not instance.get_runs(dg.RunsFilter(statuses=leftovers.UNFINISHED))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A Dagster home after a whole `migration-run` on the release through 1999."""
    shutil.copy(PROJECT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    first = resources(tmp_path, 1999)
    with runner.instance() as instance:
        runner.ingest(first, instance, log=lambda *_: None)
        runner.train_member(first, instance, "m00", {"epochs": 5, "hidden": 8})
        runner.estimate(first, instance, OPS["flow_validation"]["config"], OPS["ensemble_estimates"]["config"])
        runner.export(first, instance)
        automation.mark_up_to_date(build_defs(first), instance)
    return tmp_path


def test_an_update_killed_in_its_exports_is_reclaimed_and_finished_by_the_next(home):
    dead = kill_in_exports(home, f"update({str(home)!r}, stall=True)")
    out = next_update(home)
    assert_reclaimed_and_rebuilt(home, dead, out)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select max(year) from estimates.flows").fetchone()[0] == 2000


def test_a_first_run_killed_in_its_exports_leaves_them_to_the_next_update(tmp_path, monkeypatch):
    shutil.copy(PROJECT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    dead = kill_in_exports(tmp_path, f"first_run({str(tmp_path)!r})")
    out = next_update(tmp_path)
    assert_reclaimed_and_rebuilt(tmp_path, dead, out)
    assert "models/member" not in out[-1]  # what the killed run finished is not done again


def test_runs_of_a_live_process_or_another_host_are_left_alone(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        alive_tag = leftovers.this_process().split(" ")[0] + f" {sleeper.pid} {leftovers._start(sleeper.pid)}"
        assert not leftovers.process_gone(alive_tag)
        assert leftovers.process_gone(alive_tag.replace(leftovers._start(sleeper.pid), "0:1"))  # PID reused
        assert leftovers.process_gone(alive_tag.replace(str(sleeper.pid), str(gone.pid)))
        assert not leftovers.process_gone(f"elsewhere {gone.pid} 0:1")
    finally:
        sleeper.kill()
        sleeper.wait()
    assert leftovers.process_gone(alive_tag)  # killed and reaped


def test_interrupted_writes_are_removed_and_a_folder_moved_aside_is_put_back(tmp_path):
    (tmp_path / "csv").mkdir()
    (tmp_path / ".csv.ab12cd34.new").mkdir()
    (tmp_path / ".csv.ab12cd34.new" / "flows.csv.gz").write_text("half")
    (tmp_path / ".report.html.4242.tmp").write_text("<html")
    (tmp_path / ".netcdf.ef56ab78.old").mkdir()  # killed between the two renames of replace_folder
    (tmp_path / ".netcdf.ef56ab78.new").mkdir()
    removed = leftovers.remove_interrupted_writes(tmp_path)
    assert len(removed) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csv", "netcdf"]


HOLD = """
import time
from migration_assets.leftovers import one_command_at_a_time
with one_command_at_a_time("migration-run"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_second_command_on_the_same_home_refuses_with_the_pid_of_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    first = subprocess.Popen([sys.executable, "-c", HOLD], stdout=subprocess.PIPE, text=True, cwd=PROJECT)
    try:
        assert first.stdout.readline() == "held\n"
        second = subprocess.run([str(Path(sys.executable).parent / "migration-update")], capture_output=True,
                                text=True, timeout=120)
        assert second.returncode == 1 and second.stdout == ""  # nothing started, not even a log
        what, fix = second.stderr.splitlines()[:2]
        assert what.startswith(f"migration-update: migration-run (PID {first.pid}: ") and "two at once" in what
        assert fix == f"migration-update: wait for it to end, or stop it (kill {first.pid}), then run " \
                      "migration-update again."
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    with leftovers.one_command_at_a_time("migration-update"):  # the killed command's lock is free
        assert (tmp_path / leftovers.LOCK_FILE).read_text() == f"{os.getpid()} migration-update\n"
    with leftovers.one_command_at_a_time("migration-run"):  # and released on exit
        pass
