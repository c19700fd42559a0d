"""UN WPP demography: population on 1 January, births, deaths, life expectancy."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["demography"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToBeBetween(column="population", min_value=0, strict_min=True,
                                          meta={"fix": "population must be positive persons on 1 January"}),
        gxe.ExpectColumnValuesToBeBetween(column="births", min_value=0, meta={"fix": "births cannot be negative"}),
        gxe.ExpectColumnValuesToBeBetween(column="deaths", min_value=0, meta={"fix": "deaths cannot be negative"}),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="population", column_B="deaths",
                                                    meta={"fix": "deaths exceed population: check units (thousands vs persons)"}),
        gxe.ExpectColumnValuesToBeBetween(column="life_expectancy", min_value=15, max_value=100, severity="warning",
                                          meta={"fix": "life expectancy at birth should be in years"}),
    ]


asset = raw_asset(TABLE, ['country'], expectations)
