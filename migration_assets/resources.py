"""Resources: the warehouse IO manager, the model store and the data sources."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import torch
from dagster._core.definitions.metadata.metadata_set import TableMetadataSet
from dagster._core.storage.db_io_manager import TableSlice
from dagster_duckdb import DuckDBResource
from dagster_duckdb.io_manager import DuckDbClient, _get_cleanup_statement
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler

from .preflight import DEFAULT_MODEL_DIR, DEFAULT_WAREHOUSE, connect_warehouse, source_kind
from .schemas import RAW, TRUTH, Coverage
from .synthetic import SyntheticWorld, WorldConfig, generate_world


def warehouse_path() -> str:
    return os.environ.get("MIGRATION_WAREHOUSE", DEFAULT_WAREHOUSE)


# ---------------------------------------------------------------------------------------------
# Warehouse: DuckDB through dagster-duckdb-pandas, made atomic and insert-by-name.


class _AtomicDuckDbClient(DuckDbClient):
    """Reads open the warehouse read-only (parallel runs may read at once); each write (delete
    of the slice, then insert) is one transaction, so a failure leaves the table as it was."""

    @staticmethod
    def get_table_name(table_slice: TableSlice) -> str:
        """DuckDB's qualified name, as a query writes it: catalog (the file's stem), schema, table."""
        catalog = Path(table_slice.database).stem if table_slice.database else None
        return ".".join(p for p in (catalog, table_slice.schema, table_slice.table) if p)

    @staticmethod
    @contextmanager
    def connect(context, table_slice):
        reading = isinstance(context, dg.InputContext)
        # a lock held by another process is waited for a few seconds (MIGRATION_LOCK_WAIT), then
        # reported with that process's PID; a missing or read-only folder fails at once, with the fix
        conn = connect_warehouse(context.resource_config["database"], read_only=reading,
                                 config={"custom_user_agent": "dagster", **context.resource_config["connection_config"]})
        try:
            if reading:
                yield conn
                return
            conn.begin()
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        finally:
            conn.close()

    @staticmethod
    def delete_table_slice(context, table_slice, connection) -> None:
        # inside a transaction a failed DELETE would abort it, so test for the table first
        exists = connection.execute(
            "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
            [table_slice.schema, table_slice.table]).fetchone()
        if exists:
            connection.execute(_get_cleanup_statement(table_slice))


def _insert_by_name(connection, table_slice: TableSlice, obj: pd.DataFrame, schema: dg.TableSchema | None,
                    partitioned: bool) -> int:
    """Create the table if needed (with the column types of `schema`, even for an empty frame) and
    insert `obj` by column name; returns the rows inserted. The slice was deleted before."""
    table = f"{table_slice.schema}.{table_slice.table}"
    if schema is not None:
        columns = ", ".join(f'"{c.name}" {c.type}' for c in schema.columns)
        wanted = [c.name for c in schema.columns]
        if not partitioned:
            connection.execute(f"create or replace table {table} ({columns})")
        else:
            connection.execute(f"create table if not exists {table} ({columns})")
            have = [r[0] for r in connection.execute(f"select * from {table} limit 0").description]
            if have != wanted:
                raise dg.Failure(
                    f"warehouse table {table} has columns {have} but this code writes {wanted}. Fix: "
                    f"`DROP TABLE {table}` in DuckDB, then re-materialize every partition of the asset.")
        obj = obj[wanted]
    else:
        connection.execute(f"create table if not exists {table} as select * from obj limit 0")
    connection.execute(f"insert into {table} by name select * from obj")
    return len(obj)


class _ByNameHandler(DuckDBPandasTypeHandler):
    """Creates tables with the column types of the asset's `dagster/column_schema` (even for an
    empty frame) and inserts by column name, so a frame whose columns come in another order can
    never land in the wrong columns. An unpartitioned table is replaced whole; a partitioned one
    whose columns changed stops with instructions instead of mixing layouts."""

    def handle_output(self, context, table_slice, obj: pd.DataFrame, connection):
        schema = (context.definition_metadata or {}).get("dagster/column_schema")
        rows = _insert_by_name(connection, table_slice, obj, schema, context.has_asset_partitions)
        row_key = "dagster/partition_row_count" if context.has_asset_partitions else "dagster/row_count"
        context.add_output_metadata({row_key: rows})


def replace_table_slice(connection, table_slice: TableSlice, obj: pd.DataFrame, schema: dg.TableSchema | None
                        ) -> dict[str, Any]:
    """What WarehouseIOManager does with one output (create the schema, delete the slice, insert by
    name), on a connection whose transaction the caller holds, so that several tables can be
    replaced in one transaction. Returns the output metadata the IO manager would have recorded."""
    client = _AtomicDuckDbClient
    partitioned = bool(table_slice.partition_dimensions)
    client.ensure_schema_exists(None, table_slice, connection)
    client.delete_table_slice(None, table_slice, connection)
    rows = _insert_by_name(connection, table_slice, obj, schema, partitioned)
    return {"dagster/partition_row_count" if partitioned else "dagster/row_count": rows,
            "Query": client.get_select_statement(table_slice),
            **dict(TableMetadataSet(table_name=client.get_table_name(table_slice)))}


class WarehouseIOManager(DuckDBPandasIOManager):
    """DuckDB warehouse. Keys are [schema, table]; writes are atomic."""

    @staticmethod
    def type_handlers():
        return [_ByNameHandler()]

    @staticmethod
    def default_load_type():
        return pd.DataFrame

    def create_io_manager(self, context):
        manager = super().create_io_manager(context)
        manager._db_client = _AtomicDuckDbClient()  # noqa: SLF001 (the library offers no hook)
        return manager


class WarehouseResource(DuckDBResource):
    """DuckDBResource whose connections fail like the IO manager's: fast, naming the path or the
    process that holds the warehouse, and the fix (the library's retries take about 100 s)."""

    @contextmanager
    def get_connection(self):
        conn = connect_warehouse(self.database, config={"custom_user_agent": "dagster", **self.connection_config})
        try:
            yield conn
        finally:
            conn.close()


# ---------------------------------------------------------------------------------------------
# Model store: state_dict files, configs and training curves per member.


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # a fresh name, not a file made by mkstemp (mode 0600): the writer creates it like any new file
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelStore(dg.ConfigurableResource):
    """Trained members as files: <root>/<member>/{weights.pt, config.json, history.json} and, for
    deciding how to update a member, the targets it was trained on (targets/<table>.csv.gz)."""

    root: str = DEFAULT_MODEL_DIR

    def member_dir(self, member: str) -> Path:
        return Path(self.root) / member

    def save(self, member: str, state_dict: dict, config: dict, history: list[dict],
             targets: dict[str, pd.DataFrame] | None = None) -> Path:
        folder = self.member_dir(member)
        for name, frame in (targets or {}).items():
            _atomic_write(folder / "targets" / f"{name}.csv.gz",
                          lambda p, f=frame: f.to_csv(p, index=False, compression="gzip"))
        _atomic_write(folder / "history.json", lambda p: Path(p).write_text(json.dumps(history, indent=1)))
        _atomic_write(folder / "config.json", lambda p: Path(p).write_text(json.dumps(config, indent=1, sort_keys=True)))
        _atomic_write(folder / "weights.pt", lambda p: torch.save(state_dict, p))
        return folder

    def load(self, member: str) -> tuple[dict, dict]:
        folder = self.member_dir(member)
        weights = folder / "weights.pt"
        if not weights.exists():
            raise FileNotFoundError(f"no trained weights for member {member} in {folder}; materialize models/member "
                                    f"for partition {member} first")
        config = json.loads((folder / "config.json").read_text())
        return torch.load(weights, weights_only=True), config

    def previous(self, member: str) -> tuple[dict, dict, dict[str, pd.DataFrame] | None] | None:
        """(weights, record, targets) of the member's last training, or None if it has none."""
        try:
            state, record = self.load(member)
        except FileNotFoundError:
            return None
        folder = self.member_dir(member) / "targets"
        files = sorted(folder.glob("*.csv.gz")) if folder.exists() else []
        targets = {f.name.removesuffix(".csv.gz"): pd.read_csv(f) for f in files} or None
        return state, record, targets


# ---------------------------------------------------------------------------------------------
# Data sources: each raw asset asks its source for one table in the contract of schemas.RAW.


def frame_digest(frame: pd.DataFrame) -> str:
    """Content hash of a frame (values and column names), used as its data version."""
    h = hashlib.sha256(",".join(frame.columns).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


class MigrationSource(dg.ConfigurableResource):
    """Where raw tables come from. Subclasses return each table of schemas.RAW as a DataFrame."""

    def table(self, name: str) -> pd.DataFrame:
        raise NotImplementedError

    def origin(self, name: str) -> str:
        """Human-readable origin of a table (a file path, or the synthetic world's settings)."""
        raise NotImplementedError

    def known_codes(self) -> frozenset[str]:
        """The country codes a raw table may hold; any other code stops the table from landing."""
        raise NotImplementedError

    def coverage(self, name: str) -> Coverage | None:
        """What every release of raw table `name` holds at least (None: nothing declared)."""
        return None


@lru_cache(maxsize=4)
def _world(config: WorldConfig) -> SyntheticWorld:
    return generate_world(config)


class SyntheticSource(MigrationSource):
    """The embedded default: a seeded synthetic world with known truth (migration_assets/synthetic)."""

    n_countries: int = 30
    start_year: int = 1990
    end_year: int = 2023
    seed: int = 0
    # the world is simulated to end_year, but its releases stop here (0: end_year); raising it is
    # a new release that adds years, with every earlier year unchanged
    released_through: int = 0

    def config(self) -> WorldConfig:
        return WorldConfig(n_countries=self.n_countries, start_year=self.start_year, end_year=self.end_year,
                           seed=self.seed)

    def world(self) -> SyntheticWorld:
        return _world(self.config())

    def table(self, name: str) -> pd.DataFrame:
        if name not in RAW:
            raise KeyError(f"unknown raw table {name!r}; known: {sorted(RAW)}")
        return self._released(self.world().raw(name))

    def truth(self, name: str) -> pd.DataFrame:
        if name not in TRUTH:
            raise KeyError(f"unknown truth table {name!r}; known: {sorted(TRUTH)}")
        return self._released(self.world().truth(name))

    def known_codes(self) -> frozenset[str]:
        return frozenset(self.world().raw("countries")["country"])

    def _released(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.released_through or "year" not in frame.columns:
            return frame
        return frame[frame["year"] <= self.released_through].reset_index(drop=True)

    def origin(self, name: str) -> str:
        c = self.config()
        last = self.released_through or c.end_year
        return (f"synthetic world (seed={c.seed}, {c.n_countries} countries, {c.start_year}-{c.end_year}, "
                f"released through {last}), table {name}")


def default_source() -> MigrationSource:
    """`MIGRATION_SOURCE=synthetic` (default) or `published` (files under MIGRATION_RAW_DIR)."""
    kind = source_kind()  # raises, with the fix, for anything but the two below
    if kind == "synthetic":
        return SyntheticSource()
    if kind == "published":
        from .sources.published import PublishedSource

        return PublishedSource()
    raise AssertionError(kind)


def default_resources() -> dict[str, Any]:
    return {
        "io_manager": WarehouseIOManager(database=warehouse_path()),
        # the same database as io_manager: the estimates replace their four tables in one transaction
        # through it (ensemble/assets.py publish_estimates), and read the flows they revise
        "warehouse": WarehouseResource(database=warehouse_path()),
        "model_store": ModelStore(root=os.environ.get("MIGRATION_MODEL_DIR", DEFAULT_MODEL_DIR)),
        "source": default_source(),
    }
