"""The synthetic world's truth, stored in its own schema (`truth.*`) for benchmarks and tests.

No estimation asset depends on these: the truth is never read by the estimation path.
"""

import dagster as dg

from ..resources import MigrationSource, SyntheticSource
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
    if not isinstance(source, SyntheticSource):
        raise dg.Failure("truth tables exist only for the synthetic world; the configured source is "
                         f"{type(source).__name__}. Deselect the synthetic_truth group.")
    for name in TRUTH:
        frame = TRUTH[name].conform(source.truth(name))
        yield dg.Output(frame, output_name=name, metadata={"origin": source.origin(name)})


TRUTH_ASSETS = [synthetic_truth]
