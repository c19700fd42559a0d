"""The synthetic world's truth, stored in its own schema (`truth.*`) for benchmarks and tests.

No estimation asset depends on these: the truth is never read by the estimation path.
"""

import dagster as dg

from ..sources.source import MigrationSource
from ..schemas import TRUTH
from ..sources.raw import table_out


@dg.multi_asset(
    name="synthetic_truth",
    group_name="synthetic_truth",
    outs={name: table_out("truth", table) for name, table in TRUTH.items()},
    pool="duckdb",
)
def synthetic_truth(source: MigrationSource):
    """Write the true flows, stocks and net migration of the configured synthetic world."""
    if not source.has_truth:  # not defined for such a source (definitions.py); a run config may still swap it
        raise dg.Failure(f"the configured source {type(source).__name__} has no truth; only the synthetic world has")
    for name in TRUTH:
        frame = TRUTH[name].conform(source.truth(name))
        yield dg.Output(frame, output_name=name, metadata={"origin": source.origin(name)})


TRUTH_ASSETS = [synthetic_truth]
