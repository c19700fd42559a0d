"""The raw-asset factory: one asset per source table, validated before it may land.

Each raw asset asks the configured `source` resource for its table, enforces the table contract
(schemas.RAW) and runs the source's Great Expectations suite. The suite's result is reported as
the blocking asset check `gx_suite`; if any critical expectation fails the asset stops with a
message naming the table's origin, the rows and the fix, and the warehouse keeps its previous
table untouched.

A release may not hold less than what it replaces. Before a table lands, its suite checks the
source's declared coverage (schemas.Coverage: rows, years, country codes), and the blocking check
`keeps_landed_data` compares it with the table the warehouse holds: a year, a country, a series (a
corridor or a country's series: the key without the year) or a row that the warehouse holds and
the release lacks stops the asset. For a table where an absent row means zero (UNHCR lists only
pairs with people: `absent_is_zero`), a country, series or row the release no longer lists is a
revision to zero: it lands, and the landing's metadata counts it; a year it lacks still stops it. A withdrawal
by the publisher lands only when the run states
why (the asset's `withdrawal` config, `migration-run --withdrawal TABLE=REASON`); the reason and
what was withdrawn are kept in the materialization's metadata.

Tables with a row set per calendar year (partitions.YEARLY_RAW) are partitioned by year: every run
validates the whole release, then writes only the years it was asked for, so a release that adds
2024 or revises 2015 rewrites those years and nothing else. Each year's content hash is its data
version and is kept in the materialization's `year_hashes`, where the release sensor reads it.
"""



from typing import Callable

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from ..partitions import YEAR_EXPR, YEARLY_RAW, YEARS
from ..quality.gx import contract, coverage, run_suite
from .source import MigrationSource, frame_digest
from ..schemas import ContractError, Table

CHECK = "gx_suite"
KEEPS = "keeps_landed_data"
EXAMPLES = 5


class RawConfig(dg.Config):
    """Settings of one landing of a raw table."""

    # Why this release may hold less than the warehouse (rows, years, countries, corridors): the
    # publisher withdrew them. Empty (the default): a release with less stops before it lands.
    withdrawal: str = ""


def withdrawn(before: pd.DataFrame, after: pd.DataFrame, key: tuple[str, ...], codes: list[str]) -> dict[str, list]:
    """What `before` (the landed table) holds that `after` (the release) lacks: years, country codes
    (in any code column), series (the key without `year`), rows (the key), each as a list of labels."""
    def labels(frame: pd.DataFrame) -> list[str]:
        return [", ".join(f"{c}={v}" for c, v in zip(frame.columns, row)) for row in frame.itertuples(index=False)]

    def lost(columns: list[str]) -> pd.DataFrame:
        old, new = before[columns].drop_duplicates(), after[columns].drop_duplicates()
        old = old.astype({c: str for c in columns}).reset_index(drop=True)
        new = new.astype({c: str for c in columns})
        gone = old.merge(new, on=columns, how="left", indicator=True)
        return gone[gone["_merge"] == "left_only"][columns].sort_values(columns)

    out = {}
    if "year" in key:
        out["years"] = sorted(set(before["year"].astype(int)) - set(after["year"].astype(int)))
    codes_before = set().union(*(set(before[c]) for c in codes)) if codes else set()
    codes_after = set().union(*(set(after[c]) for c in codes)) if codes else set()
    out["countries"] = sorted(codes_before - codes_after)
    series = [c for c in key if c != "year"]
    out["series"] = labels(lost(series))
    if series != list(key):
        out["rows"] = labels(lost(list(key)))
    return out


def landed_table(warehouse: DuckDBResource, name: str) -> pd.DataFrame | None:
    """raw.<name> as the warehouse holds it, or None before its first landing."""
    with warehouse.get_connection() as con:
        exists = con.execute("select count(*) from information_schema.tables where table_schema = 'raw' "
                             "and table_name = ?", [name]).fetchone()[0]
        return con.execute(f'select * from raw."{name}"').df() if exists else None


def _summary(lost: dict[str, list]) -> str:
    parts = []
    for what, items in lost.items():
        if items:
            shown = "; ".join(str(i) for i in items[:EXAMPLES]) + ("; ..." if len(items) > EXAMPLES else "")
            parts.append(f"{len(items):,} {what} ({shown})")
    return ", ".join(parts)


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(c.name, c.dtype, description=c.description) for c in table.columns])


def table_out(schema: str, table: Table, code_version: str = "1", metadata: dict | None = None,
              automation_condition: dg.AutomationCondition | None = None) -> dg.AssetOut:
    """The output of a multi-asset that writes `table` to the warehouse as <schema>.<name>."""
    return dg.AssetOut(
        key=dg.AssetKey([schema, table.name]),
        description=table.description,
        metadata={"dagster/column_schema": column_schema(table), **(metadata or {})},
        kinds={"pandas", "duckdb"},
        code_version=code_version,
        automation_condition=automation_condition,
    )


def year_hashes(frame, years) -> dict[str, str]:
    """Content hash of each year's rows (an empty year has the hash of an empty table)."""
    by_year = dict(tuple(frame.groupby("year")))
    return {str(y): frame_digest(by_year.get(y, frame.iloc[:0]).reset_index(drop=True)) for y in years}


def raw_asset(table: Table, codes: list[str], expectations: Callable[[], list], *,
              absent_is_zero: bool = False,
              disagreement: Callable[[pd.DataFrame, MigrationSource], str] | None = None) -> dg.AssetsDefinition:
    """The raw asset of `table`. `disagreement(frame, source)` compares the release with another table
    of the same source before anything is written: a non-empty answer (what disagrees, and the fix)
    stops the asset with the warehouse unchanged. With `absent_is_zero`, what the release no longer
    lists (countries, series, rows) is a revision to zero, not a withdrawal (see the module's doc)."""
    key = dg.AssetKey(["raw", table.name])
    yearly = table.name in YEARLY_RAW
    partitioning = dict(partitions_def=YEARS, backfill_policy=dg.BackfillPolicy.single_run()) if yearly else {}

    @dg.asset(
        key=key,
        group_name="raw",
        kinds={"pandas", "duckdb"},
        description=table.description,
        code_version="1",
        pool="duckdb",
        metadata={"dagster/column_schema": column_schema(table), **({"partition_expr": YEAR_EXPR} if yearly else {})},
        **partitioning,
        check_specs=[dg.AssetCheckSpec(CHECK, asset=key, blocking=True,
                                       description=f"Great Expectations suite of raw/{table.name}: the table "
                                                   "contract, the source's declared coverage and its own rules"),
                     dg.AssetCheckSpec(KEEPS, asset=key, blocking=True,
                                       description="The release holds every year, country, series and row that the "
                                                   "warehouse already holds, unless a withdrawal is stated")],
    )
    def _raw(context: dg.AssetExecutionContext, config: RawConfig, source: MigrationSource,
             warehouse: DuckDBResource):
        origin = source.origin(table.name)
        fix = f"give {origin} exactly the columns {table.column_names}"
        try:
            frame = table.conform(source.table(table.name))
        except ContractError as err:
            yield dg.AssetCheckResult(check_name=CHECK, passed=False, metadata={"error": str(err)})
            raise dg.Failure(description=f"raw/{table.name} from {origin}: {err} "
                                         "The warehouse table is unchanged.") from err
        spec = source.coverage(table.name)
        declared = coverage(spec, codes, "warning" if config.withdrawal else "critical") if spec else []
        result = run_suite(f"raw_{table.name}", frame,
                           contract(table.column_names, list(table.key), codes, fix, source.known_codes())
                           + declared + expectations(), key=table.key)
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
        problem = disagreement(frame, source) if disagreement else ""
        if problem:
            raise dg.Failure(description=f"raw/{table.name} from {origin}: {problem}. The warehouse table is "
                                         "unchanged.")
        before = landed_table(warehouse, table.name)
        lost = withdrawn(before, frame, table.key, codes) if before is not None else {}
        zeroed = {k: lost.pop(k) for k in ("countries", "series", "rows") if k in lost} if absent_is_zero else {}
        summary = _summary(lost)
        yield dg.AssetCheckResult(
            check_name=KEEPS, passed=not summary,
            severity=dg.AssetCheckSeverity.WARN if config.withdrawal else dg.AssetCheckSeverity.ERROR,
            metadata={"landed_rows": 0 if before is None else len(before), "release_rows": len(frame),
                      "withdrawn": summary or "nothing", **({"reason": config.withdrawal} if config.withdrawal else {})})
        if summary and not config.withdrawal:
            op = f"raw__{table.name}"
            raise dg.Failure(
                description=f"raw/{table.name} from {origin} lacks what the warehouse holds: {summary}. The warehouse "
                            f"table is unchanged. Fix: restore the file (fetch it again: migration-fetch); if the "
                            f"publisher withdrew these data, state why: migration-run --withdrawal "
                            f"{table.name}='<reason>' (in Dagster: run config ops.{op}.config.withdrawal).")
        landing = {"origin": origin, **({"withdrawal": f"{config.withdrawal}: {summary}"} if summary else {}),
                   **({"revised_to_zero": _summary(zeroed) or "nothing"} if absent_is_zero else {})}
        if not yearly:
            yield dg.Output(frame, data_version=dg.DataVersion(frame_digest(frame)),
                            metadata={**landing, "content_hash": frame_digest(frame)})
            return
        # a year the release does not cover lands empty (observed flows start late, for example)
        years = sorted(int(k) for k in context.partition_keys)
        part = frame[frame["year"].isin(years)].reset_index(drop=True)
        hashes = year_hashes(part, years)
        # one data version per run: with a single year (the sensor's usual request) it is that year's hash
        version = hashes[str(years[0])] if len(years) == 1 else frame_digest(part)
        yield dg.Output(part, data_version=dg.DataVersion(version),
                        metadata={**landing, "years": f"{years[0]}-{years[-1]}", "rows": len(part),
                                  "year_hashes": dg.MetadataValue.json(hashes)})

    return _raw
