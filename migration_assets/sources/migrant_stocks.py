"""UN DESA bilateral migrant stocks (mid-year, every five years)."""

import great_expectations.expectations as gxe

from ..schemas import RAW
from .raw import raw_asset

TABLE = RAW["migrant_stocks"]


def expectations() -> list:
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="stock", meta={"fix": "drop unreported cells instead of leaving them empty"}),
        gxe.ExpectColumnValuesToBeBetween(column="stock", min_value=0,
                                          meta={"fix": "stocks count persons: replace negative values by the published figure or drop the cell"}),
        gxe.ExpectColumnValuesToBeBetween(column="year", min_value=1950, max_value=2100,
                                          meta={"fix": "years must be calendar years"}),
        gxe.ExpectColumnValuesToBeBetween(column="stock", max_value=5e7, severity="warning",
                                          meta={"fix": "a bilateral stock above 50 million persons is implausible; check units (thousands?)"}),
    ]


asset = raw_asset(TABLE, ['birth', 'residence'], expectations)
