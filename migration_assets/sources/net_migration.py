"""Annual net migration per country."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["net_migration"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="net_migration", meta={"fix": "drop years without a figure"}),
    ]


asset = raw_asset(TABLE, ['country'], expectations)
