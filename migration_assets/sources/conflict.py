"""Conflict deaths per country and year (UCDP GED style)."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["conflict"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToBeBetween(column="conflict_deaths", min_value=0,
                                          meta={"fix": "deaths cannot be negative; use 0 for no conflict"}),
    ]


asset = raw_asset(TABLE, ['country'], expectations)
