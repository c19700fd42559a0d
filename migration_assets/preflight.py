"""Fast checks of the paths and settings a run needs, and warehouse connections that fail with the fix.

Light on purpose (no Dagster, pandas or torch): the command-line tools run these checks before
they import the asset graph, so an unusable warehouse, model folder or source setting is reported
in a second or two with the path and what to do, instead of after minutes of retries.

DuckDB allows one process to hold a database file for writing, and a reader blocks writers. When
another process holds the warehouse, DuckDB names its PID ("Conflicting lock is held in
/usr/bin/python3 (PID 1234)"); the error raised here names that process and says to close it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import duckdb

WAREHOUSE_VAR = "MIGRATION_WAREHOUSE"
MODEL_DIR_VAR = "MIGRATION_MODEL_DIR"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_MODEL_DIR = "data/models"
SOURCES = ("synthetic", "published")
DEFAULT_RAW_DIR = "data/raw"  # as sources/published.py and fetch.py
RAW_DIR_VAR = "MIGRATION_RAW_DIR"
LOCK_WAIT_VAR = "MIGRATION_LOCK_WAIT"
DEFAULT_LOCK_WAIT_S = 5.0  # how long a connection waits for a lock held by another process
PREFLIGHT_LOCK_WAIT_S = 2.0

_LOCK = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


class PreflightError(Exception):
    """A setting or path that cannot work; the message names it and says how to fix it."""


class WarehouseError(PreflightError):
    """The warehouse cannot be opened: missing or read-only folder, not a DuckDB file, or held by
    another process."""


def lock_wait_s() -> float:
    """Seconds a warehouse connection waits for another process's lock (MIGRATION_LOCK_WAIT, default 5).
    A deployment that runs several Dagster runs at once against one warehouse may raise it."""
    value = os.environ.get(LOCK_WAIT_VAR, "")
    try:
        return max(float(value), 0.0) if value else DEFAULT_LOCK_WAIT_S
    except ValueError:
        raise PreflightError(f"{LOCK_WAIT_VAR}={value!r} is not a number of seconds: unset it or set e.g. "
                             f"{LOCK_WAIT_VAR}=30") from None


def _absolute(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def _process(pid: int, program: str) -> str:
    """What the process is, for the message: its command line where the system shows it."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        command = " ".join(a.decode(errors="replace") for a in argv if a)
    except OSError:
        command = ""
    command = command or program
    return command if len(command) <= 80 else command[:77] + "..."


def lock_holder(message: str) -> tuple[int, str] | None:
    """(PID, program) of the process holding the lock, parsed from DuckDB's lock error."""
    found = _LOCK.search(message)
    return (int(found["pid"]), found["program"]) if found else None


def is_lock_error(err: BaseException) -> bool:
    text = str(err)
    return "Could not set lock" in text or "Conflicting lock" in text


def explain(path: str | os.PathLike, err: BaseException, read_only: bool = False) -> WarehouseError:
    """A DuckDB error on opening the warehouse, as a message with the path and the fix."""
    p = _absolute(path)
    text = str(err)
    holder = lock_holder(text)
    if holder:
        pid, program = holder
        return WarehouseError(
            f"warehouse {p} is held by another process, PID {pid} ({_process(pid, program)}): close process {pid} "
            f"(e.g. a DuckDB shell or notebook holding {p}) and re-run")
    if is_lock_error(err):
        return WarehouseError(f"warehouse {p} is locked by another process: close any DuckDB shell, notebook or run "
                              f"holding {p} and re-run ({text})")
    if not p.parent.is_dir():
        return _missing_folder(p)
    if "not a valid DuckDB database" in text or "Is a directory" in text:
        return WarehouseError(f"warehouse {p} is not a DuckDB database file: move it away or set {WAREHOUSE_VAR} "
                              "to another file")
    if read_only and not p.exists():
        return WarehouseError(f"warehouse {p} does not exist yet: run `migration-run` first, or set {WAREHOUSE_VAR} "
                              "to the warehouse it built")
    if "Permission denied" in text or "Read-only file system" in text:
        return _not_writable(p.parent if not p.exists() or os.access(p, os.W_OK) else p)
    return WarehouseError(f"cannot open warehouse {p}: {text}. Fix: check the path, or set {WAREHOUSE_VAR} to a "
                          "DuckDB file in a writable directory")


def _missing_folder(p: Path) -> WarehouseError:
    return WarehouseError(f"warehouse directory {p.parent} does not exist: create it (mkdir -p {p.parent}) or set "
                          f"{WAREHOUSE_VAR} to a file in an existing directory")


def _not_writable(target: Path) -> WarehouseError:
    kind = "directory" if target.is_dir() else "file"
    return WarehouseError(f"warehouse {kind} {target} is not writable: make it writable (chmod u+w {target}) or set "
                          f"{WAREHOUSE_VAR} to a file in a writable directory")


def connect_warehouse(path: str | os.PathLike, read_only: bool = False, config: dict | None = None,
                      wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """duckdb.connect that waits at most `wait_s` (default MIGRATION_LOCK_WAIT, 5 s) for a lock held
    by another process and fails at once on any other error, with a WarehouseError that says what to do."""
    wait_s = lock_wait_s() if wait_s is None else wait_s
    deadline = time.monotonic() + wait_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config or {})
        except (duckdb.IOException, RuntimeError) as err:
            if is_lock_error(err) and time.monotonic() + delay <= deadline:
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            raise explain(path, err, read_only) from err


def check_warehouse(path: str | os.PathLike, wait_s: float = PREFLIGHT_LOCK_WAIT_S) -> Path:
    """Fail fast, with the fix, if a run could not write the warehouse at `path`: its directory is
    missing or read-only, the file is not a writable DuckDB database, or another process holds it.
    Opening and closing an existing warehouse leaves its bytes unchanged; a missing one is not created."""
    p = _absolute(path)
    if not p.parent.exists():
        raise _missing_folder(p)
    if not p.parent.is_dir():
        raise WarehouseError(f"warehouse directory {p.parent} is not a directory: set {WAREHOUSE_VAR} to a file in a "
                             "directory")
    if p.is_dir():
        raise WarehouseError(f"warehouse {p} is a directory: set {WAREHOUSE_VAR} to a file, "
                             f"e.g. {p / 'warehouse.duckdb'}")
    # DuckDB writes a .wal file next to the database: the directory itself must be writable
    if not os.access(p.parent, os.W_OK | os.X_OK):
        raise _not_writable(p.parent)
    for f in (p, p.with_name(p.name + ".wal")):
        if f.exists() and not os.access(f, os.R_OK | os.W_OK):
            raise _not_writable(f)
    if p.exists():
        connect_warehouse(p, read_only=False, wait_s=min(wait_s, lock_wait_s())).close()
    return p


def check_model_dir(path: str | os.PathLike) -> Path | str:
    """The model store's folder, or the nearest folder above it that exists, must be a writable
    directory; a URL (s3://..., gs://...) needs fsspec's filesystem for its protocol installed."""
    text = str(path)
    if "://" in text and not text.startswith("file://"):
        import fsspec

        protocol = text.split("://", 1)[0]
        try:
            fsspec.get_filesystem_class(protocol)
        except (ImportError, ValueError) as err:
            raise PreflightError(f"model store {text}: no filesystem for {protocol}:// ({err}). Fix: install the "
                                 f"fsspec package for it (e.g. s3fs for s3://) or set {MODEL_DIR_VAR} to a folder") \
                from None
        return text
    p = _absolute(path)
    existing = p
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise PreflightError(f"model store {p}: {existing} is not a directory: set {MODEL_DIR_VAR} to a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PreflightError(f"model store directory {existing} is not writable: make it writable (chmod u+w "
                             f"{existing}) or set {MODEL_DIR_VAR} to a writable folder")
    return p


def raw_dir() -> str:
    """The folder of the published files: MIGRATION_RAW_DIR, else data/raw."""
    return os.environ.get(RAW_DIR_VAR) or DEFAULT_RAW_DIR


UNHCR_RELEASE_VAR = "MIGRATION_UNHCR_RELEASE"
UNHCR_PACKAGE = "unhcr/refugees_package"  # UNHCR's releases under the raw folder, one folder a version


def unhcr_release() -> str:
    """MIGRATION_UNHCR_RELEASE: the version of UNHCR's refugees package to read (a folder name under
    unhcr/refugees_package/, e.g. 2024.12.0); empty (the default): the newest one present."""
    return os.environ.get(UNHCR_RELEASE_VAR, "").strip()


def source_kind() -> str:
    """MIGRATION_SOURCE, checked: 'synthetic' (default) or 'published'."""
    kind = os.environ.get("MIGRATION_SOURCE", "synthetic")
    if kind not in SOURCES:
        raise PreflightError(f"MIGRATION_SOURCE={kind!r} is not a source: set MIGRATION_SOURCE=synthetic (the "
                             "embedded synthetic world, the default) or MIGRATION_SOURCE=published (files under "
                             "MIGRATION_RAW_DIR)")
    return kind


LAST_YEAR_VAR, MEMBERS_VAR = "MIGRATION_LAST_YEAR", "MIGRATION_MEMBERS"
DEFAULT_LAST_YEAR = 2023  # the last year of WPP 2024's estimates, and of the synthetic world
DEFAULT_MEMBERS = 5  # one member per corridor fold
MAX_MEMBERS = 100


def _int_setting(var: str, default: int, low: int, high: int, meaning: str) -> int:
    value = os.environ.get(var, "")
    try:
        number = int(value) if value else default
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise PreflightError(f"{var}={value!r} is not {meaning} between {low} and {high}: unset it (default "
                             f"{default}) or set e.g. {var}={default}")
    return number


def newest_observed_year() -> int:
    """The last year the estimates follow by default: 2023 (WPP 2024's last estimate, the synthetic
    world's last year), or with MIGRATION_SOURCE=published the year of the UNHCR release read
    (MIGRATION_UNHCR_RELEASE, else the newest under the raw folder) when later: its refugee counts are
    then the latest observed input, and panel.data_basis records what the later years rest on."""
    if os.environ.get("MIGRATION_SOURCE") != "published":
        return DEFAULT_LAST_YEAR
    versions = [unhcr_release()] if unhcr_release() else unhcr_versions(Path(raw_dir()))
    years = [int(v.split(".")[0]) for v in versions if v.split(".")[0].isdigit()]
    return max([DEFAULT_LAST_YEAR, *years])


def unhcr_versions(root: Path) -> list[str]:
    """Versions of UNHCR's refugees package under the raw folder `root`, oldest first (the folders
    holding population.rda)."""
    folder = Path(root) / UNHCR_PACKAGE
    found = [p.name for p in folder.iterdir() if (p / "population.rda").exists()] if folder.is_dir() else []
    return sorted(found, key=lambda name: tuple(int(x) if x.isdigit() else -1 for x in name.split(".")))


def last_year() -> int:
    """MIGRATION_LAST_YEAR: the last calendar year of the yearly partitions (the years the source
    covers); unset, newest_observed_year()."""
    return _int_setting(LAST_YEAR_VAR, newest_observed_year(), 1991, 2100, "a year")


def ensemble_size() -> int:
    """MIGRATION_MEMBERS: the ensemble's members, the partitions of models/member."""
    return _int_setting(MEMBERS_VAR, DEFAULT_MEMBERS, 1, MAX_MEMBERS, "a number of members")


def check_source() -> str:
    """MIGRATION_SOURCE is known and, for published data, MIGRATION_RAW_DIR is a folder."""
    kind = source_kind()
    if kind == "published":
        root = _absolute(raw_dir())
        if not root.is_dir():
            problem = "is not a directory" if root.exists() else "does not exist"
            raise PreflightError(f"MIGRATION_RAW_DIR {root} {problem}: download the published files with "
                                 f"`migration-fetch --dir {root}` or point MIGRATION_RAW_DIR at the folder that "
                                 "holds them")
    return kind


def check_all() -> None:
    """Everything a run needs before it starts, as the environment sets it: the source, the model
    store (MIGRATION_MODEL_DIR) and the warehouse (MIGRATION_WAREHOUSE)."""
    lock_wait_s()
    last_year()
    ensemble_size()
    check_source()
    check_model_dir(os.environ.get(MODEL_DIR_VAR, DEFAULT_MODEL_DIR))
    check_warehouse(os.environ.get(WAREHOUSE_VAR, DEFAULT_WAREHOUSE))
