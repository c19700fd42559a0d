"""The anchors' published estimates, loaded for comparison only (schema `reference`).

Gaskin & Abel's annual flows and net migration, and Abel & Cohen's five-year flows by method.
No estimation asset depends on them: they are never training targets.
"""

import dagster as dg

from ..sources.source import MigrationSource, frame_digest
from ..schemas import REFERENCE
from ..sources.raw import table_out


@dg.multi_asset(
    name="reference_estimates",
    group_name="reference",
    outs={name: table_out("reference", table) for name, table in REFERENCE.items()},
    pool="duckdb",
)
def reference_estimates(source: MigrationSource):
    """Load the published estimates of Gaskin & Abel (2026) and Abel & Cohen (2019)."""
    if not source.has_reference:  # not defined for such a source (definitions.py)
        raise dg.Failure(f"the configured source {type(source).__name__} has no published reference estimates; "
                         "only the published data (MIGRATION_SOURCE=published) have")
    for name, table in REFERENCE.items():
        frame = table.conform(source.table(name))
        yield dg.Output(frame, output_name=name, data_version=dg.DataVersion(frame_digest(frame)),
                        metadata={"origin": source.origin(name), "rows": len(frame)})


REFERENCE_ASSETS = [reference_estimates]
