"""GDP per capita (constant 2015 USD) and real growth (%)."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["gdp"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToBeBetween(column="gdp_per_capita", min_value=0, strict_min=True,
                                          meta={"fix": "GDP per capita must be positive; leave gaps empty instead"}),
        gxe.ExpectColumnValuesToNotBeNull(column="gdp_per_capita", mostly=0.9, severity="warning",
                                          meta={"fix": "more than 10 % of GDP values missing: gap-fill the source"}),
        gxe.ExpectColumnValuesToBeBetween(column="gdp_growth", min_value=-80, max_value=200, severity="warning",
                                          meta={"fix": "growth is in percent; check for a fraction or a level"}),
    ]


asset = raw_asset(TABLE, ['country'], expectations)
