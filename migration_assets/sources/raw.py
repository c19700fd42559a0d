"""The raw-asset factory: one asset per source table, validated before it may land.

Each raw asset asks the configured `source` resource for its table, enforces the table contract
(schemas.RAW) and runs the source's Great Expectations suite. The suite's result is reported as
the blocking asset check `gx_suite`; if any critical expectation fails the asset stops with a
message naming the table's origin, the rows and the fix, and the warehouse keeps its previous
table untouched.
"""

from typing import Callable

import dagster as dg

from ..quality.gx import contract, run_suite
from ..resources import MigrationSource, frame_digest
from ..schemas import ContractError, Table

CHECK = "gx_suite"


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.dtype, description=c.description) for c in table.columns])


def table_out(schema: str, table: Table, code_version: str = "1", metadata: dict | None = None) -> dg.AssetOut:
    """The output of a multi-asset that writes `table` to the warehouse as <schema>.<name>."""
    return dg.AssetOut(
        key=dg.AssetKey([schema, table.name]),
        description=f"{table.description}\n\n{table.markdown()}",
        metadata={"dagster/column_schema": column_schema(table), **(metadata or {})},
        kinds={"pandas", "duckdb"},
        code_version=code_version,
    )


def raw_asset(table: Table, codes: list[str], expectations: Callable[[], list]) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", table.name])

    @dg.asset(
        key=key,
        group_name="raw",
        kinds={"pandas", "duckdb"},
        description=f"{table.description}\n\n{table.markdown()}",
        code_version="1",
        pool="duckdb",
        metadata={"dagster/column_schema": column_schema(table)},
        check_specs=[dg.AssetCheckSpec(CHECK, asset=key, blocking=True,
                                       description=f"Great Expectations suite of raw/{table.name}")],
    )
    def _raw(context: dg.AssetExecutionContext, source: MigrationSource):
        origin = source.origin(table.name)
        fix = f"give {origin} exactly the columns {table.column_names}"
        try:
            frame = table.conform(source.table(table.name))
        except ContractError as err:
            yield dg.AssetCheckResult(check_name=CHECK, passed=False, metadata={"error": str(err)})
            raise dg.Failure(description=f"raw/{table.name} from {origin}: {err} "
                                         "The warehouse table is unchanged.") from err
        result = run_suite(f"raw_{table.name}", frame, contract(table.column_names, list(table.key), codes, fix)
                           + expectations(), key=table.key)
        yield dg.AssetCheckResult(
            check_name=CHECK,
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR if result.critical else dg.AssetCheckSeverity.WARN,
            metadata={"rows": len(frame), "expectations": result.evaluated,
                      "failures": dg.MetadataValue.md(result.markdown())},
        )
        if result.critical:
            raise dg.Failure(
                description=f"raw/{table.name} from {origin} failed {len(result.critical)} critical expectation(s); "
                            f"the warehouse table is unchanged.\n{result.markdown()}")
        yield dg.Output(frame, data_version=dg.DataVersion(frame_digest(frame)),
                        metadata={"origin": origin, "content_hash": frame_digest(frame)})

    return _raw
