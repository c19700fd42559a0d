"""Observed bilateral flows reported by national statistical systems."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["observed_flows"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="flow", meta={"fix": "drop unreported years instead of leaving them empty"}),
        gxe.ExpectColumnValuesToBeBetween(column="flow", min_value=0,
                                          meta={"fix": "flows count persons: negative values are errors"}),
        gxe.ExpectColumnValuesToNotBeNull(column="source", meta={"fix": "name the reporting system of every row"}),
    ]


asset = raw_asset(TABLE, ['origin', 'destination'], expectations)
