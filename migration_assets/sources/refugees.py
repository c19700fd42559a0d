"""UNHCR refugees and asylum-seekers by origin and asylum country, end of year."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["refugees"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToBeBetween(column="refugees", min_value=0,
                                          meta={"fix": "refugee counts cannot be negative"}),
    ]


asset = raw_asset(TABLE, ['origin', 'asylum'], expectations)
