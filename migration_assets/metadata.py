"""Asset metadata the Dagster UI renders: data frames as tables (not markdown or JSON blobs).

Numbers that should be tracked across runs are plain float metadata next to these tables, so the
asset's Plots tab draws them materialization by materialization."""

import math
from typing import Sequence

import dagster as dg
import numpy as np
import pandas as pd

_TYPES = {"i": "int", "u": "int", "f": "float", "b": "bool"}


def table(frame: pd.DataFrame, digits: int = 3, persons: Sequence[str] = ()) -> dg.MetadataValue:
    """`frame` (its named index as columns) as table metadata, floats rounded to `digits`; the
    columns named in `persons` as whole persons with thousands separators ("1,234,567"), as the UI
    shows them. The UI parses each record as JSON, which has no NaN or infinity: a missing value is
    left empty and an infinite one (the open last bin of a calibration) is written "∞" or "-∞"."""
    f = frame.reset_index() if any(n is not None for n in frame.index.names) else frame
    columns = [str(c) for c in f.columns]
    types = {str(c): "string" if str(c) in persons else _TYPES.get(f[c].dtype.kind, "string") for c in f.columns}

    def value(v, column: str):
        kind = types[column]
        if column in persons or kind == "float":
            v = float(v)
            if math.isnan(v):
                return None
            if math.isinf(v):
                return "∞" if v > 0 else "-∞"
            return f"{round(v):,}" if column in persons else round(v, digits)
        if kind == "int":
            return int(v)
        if kind == "bool":
            return bool(v)
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

    records = [dg.TableRecord({c: value(v, c) for c, v in zip(columns, row)})
               for row in f.itertuples(index=False)]
    schema = dg.TableSchema(columns=[dg.TableColumn(c, types[c], description="persons" if c in persons else None)
                                     for c in columns])
    return dg.MetadataValue.table(records=records, schema=schema)
