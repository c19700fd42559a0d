"""The raw-asset factory: one asset per source table, validated before it may land.

Each raw asset asks the configured `source` resource for its table, enforces the table contract
(schemas.RAW) and runs the source's Great Expectations suite. The suite's result is reported as
the blocking asset check `gx_suite`; if any critical expectation fails the asset stops with a
message naming the table's origin, the rows and the fix, and the warehouse keeps its previous
table untouched.

Tables with a row set per calendar year (partitions.YEARLY_RAW) are partitioned by year: every run
validates the whole release, then writes only the years it was asked for, so a release that adds
2024 or revises 2015 rewrites those years and nothing else. Each year's content hash is its data
version and is kept in the materialization's `year_hashes`, where the release sensor reads it.
"""



from typing import Callable

import dagster as dg

from ..partitions import YEAR_EXPR, YEARLY_RAW, YEARS
from ..quality.gx import contract, run_suite
from ..resources import MigrationSource, frame_digest
from ..schemas import ContractError, Table

CHECK = "gx_suite"


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.dtype, description=c.description) for c in table.columns])


def table_out(schema: str, table: Table, code_version: str = "1", metadata: dict | None = None,
              automation_condition: dg.AutomationCondition | None = None) -> dg.AssetOut:
    """The output of a multi-asset that writes `table` to the warehouse as <schema>.<name>."""
    return dg.AssetOut(
        key=dg.AssetKey([schema, table.name]),
        description=f"{table.description}\n\n{table.markdown()}",
        metadata={"dagster/column_schema": column_schema(table), **(metadata or {})},
        kinds={"pandas", "duckdb"},
        code_version=code_version,
        automation_condition=automation_condition,
    )


def year_hashes(frame, years) -> dict[str, str]:
    """Content hash of each year's rows (an empty year has the hash of an empty table)."""
    by_year = dict(tuple(frame.groupby("year")))
    return {str(y): frame_digest(by_year.get(y, frame.iloc[:0]).reset_index(drop=True)) for y in years}


def raw_asset(table: Table, codes: list[str], expectations: Callable[[], list]) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", table.name])
    yearly = table.name in YEARLY_RAW
    partitioning = dict(partitions_def=YEARS, backfill_policy=dg.BackfillPolicy.single_run()) if yearly else {}

    @dg.asset(
        key=key,
        group_name="raw",
        kinds={"pandas", "duckdb"},
        description=f"{table.description}\n\n{table.markdown()}",
        code_version="1",
        pool="duckdb",
        metadata={"dagster/column_schema": column_schema(table), **({"partition_expr": YEAR_EXPR} if yearly else {})},
        **partitioning,
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
        if not yearly:
            yield dg.Output(frame, data_version=dg.DataVersion(frame_digest(frame)),
                            metadata={"origin": origin, "content_hash": frame_digest(frame)})
            return
        # a year the release does not cover lands empty (observed flows start late, for example)
        years = sorted(int(k) for k in context.partition_keys)
        part = frame[frame["year"].isin(years)].reset_index(drop=True)
        hashes = year_hashes(part, years)
        # one data version per run: with a single year (the sensor's usual request) it is that year's hash
        version = hashes[str(years[0])] if len(years) == 1 else frame_digest(part)
        yield dg.Output(part, data_version=dg.DataVersion(version),
                        metadata={"origin": origin, "years": f"{years[0]}-{years[-1]}", "rows": len(part),
                                  "year_hashes": dg.MetadataValue.json(hashes)})

    return _raw
