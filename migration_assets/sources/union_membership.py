"""Membership of a free-movement union (EU style) per country and year."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["union_membership"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToBeInSet(column="member", value_set=[0.0, 1.0], meta={"fix": "membership is a 0/1 flag"}),
    ]


asset = raw_asset(TABLE, ['country'], expectations)
