"""Resources: the warehouse IO manager, the model store, and the configured data source (sources/source.py)."""

from __future__ import annotations

import io
import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import fsspec
import pandas as pd
import torch
from dagster._core.definitions.metadata.metadata_set import TableMetadataSet
from dagster._core.storage.db_io_manager import TableSlice
from dagster_duckdb import DuckDBResource
from dagster_duckdb.io_manager import DuckDbClient, _get_cleanup_statement
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from fsspec.implementations.local import LocalFileSystem

from .preflight import DEFAULT_MODEL_DIR, DEFAULT_WAREHOUSE, MODEL_DIR_VAR, WAREHOUSE_VAR, connect_warehouse
from .sources.source import default_source


def warehouse_path() -> str:
    return os.environ.get(WAREHOUSE_VAR, DEFAULT_WAREHOUSE)


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
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1 and "year" in obj.columns:
            # a run over a range of years: each year partition reports its own rows, not the range's
            counts = obj["year"].value_counts()
            for key in context.asset_partition_keys:
                context.step_context.add_asset_metadata({row_key: int(counts.get(int(key), 0))},
                                                        asset_key=context.asset_key, partition_key=key)


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
# Model store: state_dict files, configs and training curves per member, on any filesystem.


class UnreadableWeights(FileNotFoundError):
    """A member's files exist but cannot be read (cut short, altered): they count as no training, so
    the member's next training starts from scratch (ModelStore.previous)."""


class ModelStore(dg.ConfigurableResource):
    """Trained members as files: <root>/<member>/{weights.pt, config.json, history.json} and, for
    deciding how to update a member, the targets it was trained on (targets/<table>.csv.gz).

    `root` is a local folder or any fsspec URL (`s3://bucket/models`, `gs://...`, `abfs://...`, with
    the filesystem's package installed, e.g. s3fs), so that members trained on other machines (the
    k8s executor, README) write and read the same weights. Each file is written under a temporary
    name and then moved into place: a reader sees the old file or the new one, never half of one."""

    root: str = DEFAULT_MODEL_DIR

    def _fs(self) -> tuple[fsspec.AbstractFileSystem, str]:
        fs, base = fsspec.core.url_to_fs(self.root)
        return fs, base.rstrip("/")

    def member_dir(self, member: str) -> str:
        """The member's folder, as a path (local store) or URL."""
        fs, base = self._fs()
        return f"{base}/{member}" if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(f"{base}/{member}")

    def _write(self, fs, path: str, write) -> None:
        folder, name = path.rsplit("/", 1)
        fs.makedirs(folder, exist_ok=True)
        # a fresh name, not a file made by mkstemp (mode 0600): the writer creates it like any new file
        tmp = f"{folder}/.{name}.{os.getpid()}.{uuid.uuid4().hex}"
        try:
            with fs.open(tmp, "wb") as f:
                write(f)
            fs.mv(tmp, path)
        except BaseException:
            if fs.exists(tmp):
                fs.rm(tmp)
            raise

    def save(self, member: str, state_dict: dict, config: dict, history: list[dict],
             targets: dict[str, pd.DataFrame] | None = None) -> str:
        fs, base = self._fs()
        folder = f"{base}/{member}"
        for name, frame in (targets or {}).items():
            self._write(fs, f"{folder}/targets/{name}.csv.gz",
                        lambda f, frame=frame: frame.to_csv(f, index=False, compression={"method": "gzip", "mtime": 0}))
        self._write(fs, f"{folder}/history.json", lambda f: f.write(json.dumps(history, indent=1).encode()))
        self._write(fs, f"{folder}/config.json",
                    lambda f: f.write(json.dumps(config, indent=1, sort_keys=True).encode()))
        self._write(fs, f"{folder}/weights.pt", lambda f: torch.save(state_dict, f))  # last: marks a finished save
        return self.member_dir(member)

    def load(self, member: str) -> tuple[dict, dict]:
        fs, base = self._fs()
        folder = f"{base}/{member}"
        if not fs.exists(f"{folder}/weights.pt"):
            raise FileNotFoundError(f"no trained weights for member {member} in {self.member_dir(member)}; "
                                    f"materialize models/member for partition {member} first")
        try:
            config = json.loads(fs.cat_file(f"{folder}/config.json"))
            return torch.load(io.BytesIO(fs.cat_file(f"{folder}/weights.pt")), weights_only=True), config
        except Exception as err:  # noqa: BLE001 (cut short: ValueError, EOFError, RuntimeError; altered: pickle errors)
            raise UnreadableWeights(
                f"member {member}: {self.member_dir(member)} holds weights or a config that cannot be read "
                f"({type(err).__name__}): the files were cut short or altered. Fix: run migration-run, which trains "
                "this member again from scratch") from err

    def previous(self, member: str) -> tuple[dict, dict, dict[str, pd.DataFrame] | None] | None:
        """(weights, record, targets) of the member's last training, or None if it has none."""
        try:
            state, record = self.load(member)
        except FileNotFoundError:
            return None
        fs, base = self._fs()
        folder = f"{base}/{member}/targets"
        files = sorted(fs.glob(f"{folder}/*.csv.gz")) if fs.exists(folder) else []
        targets = {f.rsplit("/", 1)[1].removesuffix(".csv.gz"):
                   pd.read_csv(io.BytesIO(fs.cat_file(f)), compression="gzip") for f in files} or None
        return state, record, targets


def setting(var: str, default: str) -> str | dg.EnvVar:
    """A resource setting from the environment: `dg.EnvVar(var)` where the environment sets it, so each
    run reads its value when it builds its resources (the UI's resource page shows the variable, not a
    value fixed when the definitions loaded); else the default, a path relative to the folder the
    code runs in (the project folder: workspace.yaml's working_directory; migration-run makes every
    path absolute under DAGSTER_HOME before it starts)."""
    return dg.EnvVar(var) if os.environ.get(var) else default


def default_resources() -> dict[str, Any]:
    return {
        "io_manager": WarehouseIOManager(database=setting(WAREHOUSE_VAR, DEFAULT_WAREHOUSE)),
        # the same database as io_manager: the estimates replace their four tables in one transaction
        # through it (ensemble/assets.py publish_estimates), and read the flows they revise
        "warehouse": WarehouseResource(database=setting(WAREHOUSE_VAR, DEFAULT_WAREHOUSE)),
        "model_store": ModelStore(root=setting(MODEL_DIR_VAR, DEFAULT_MODEL_DIR)),
        "source": default_source(),
    }
