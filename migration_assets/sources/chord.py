"""Chord-diagram JSON: the matrix layout of the Global Migration Flows Explorer exports.

Several published files (UN DESA Rev.2020 stocks `undesa_stock/ims2020/stock*.json`, the Abel &
Cohen flows `abel_cohen_flows/chord_json/*.json.gz`, Gaskin & Abel's `flows/<year>.json` and
`stocks/<year>.json`) share one layout:

- `names`: N short English names, the row and column order of every matrix;
- `regions`: the indices of region header rows/columns (region aggregates, not countries);
- `matrix`: either a dict key (year or period start) -> N x N list, or one N x N list (the Gaskin &
  Abel per-year files, whose key is the file name and whose `names`/`regions` live in a separate
  `indexes-regions.json`). `matrix[i][j]` = persons from `names[i]` (origin, country of birth) to
  `names[j]` (destination, country of residence).
- other keys (`flags`, `colours`, `threshold`, `total_inflow`, ...) are display data and ignored.

`load()` checks the layout and returns a `Chord` with float matrices; `to_long()` turns it into
long rows (key, origin, destination, value) of the country block only: region rows and columns are
dropped by the file's own `regions` list, names are mapped to ISO3 with `countries.to_iso3` (names
marked '-' in aliases.csv are dropped too), zero cells are left out and cells that land on the same
ISO3 pair (e.g. Abel & Cohen's "Sudan" and "Sudan*") are summed. Every problem raises
`SourceFileError` naming the file, the JSON location (`matrix["1990"][12][40]`) and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..countries import to_iso3
from .files import file_error, read_json

FIX_LAYOUT = "use the publisher's chord-diagram JSON as documented in MANIFEST.md, or fetch it again"


@dataclass(frozen=True)
class Chord:
    path: Path  # the file the matrices come from (named in messages)
    names: list[str]
    regions: list[int]
    matrices: dict[str, np.ndarray] = field(repr=False)  # key -> N x N float64
    names_path: Path | None = None  # the file that gave `names`/`regions`, when not `path`

    @property
    def country_indices(self) -> list[int]:
        regions = set(self.regions)
        return [i for i in range(len(self.names)) if i not in regions]


def _names(doc: dict, path: Path) -> list[str]:
    names = doc.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise file_error(path, "`names` is missing or is not a list of non-empty strings", FIX_LAYOUT)
    return names


def _regions(doc: dict, path: Path, n: int) -> list[int]:
    regions = doc.get("regions", [])
    if not isinstance(regions, list) or not all(isinstance(r, int) and not isinstance(r, bool) for r in regions):
        raise file_error(path, "`regions` is not a list of integer indices", FIX_LAYOUT)
    bad = [r for r in regions if not 0 <= r < n]
    if bad:
        raise file_error(path, f"`regions` has indices outside the {n} names: {bad[:5]}", FIX_LAYOUT)
    return regions


def _bad_cell(rows: list, key: str) -> tuple[str, object]:
    """The JSON location and value of the first cell that is not a number."""
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if isinstance(cell, bool) or not isinstance(cell, (int, float)) or cell != cell:
                return f"matrix[{key!r}][{i}][{j}]", cell
    return f"matrix[{key!r}]", None


def _matrix(rows, key: str, n: int, path: Path, names: list[str]) -> np.ndarray:
    where = f"matrix[{key!r}]"
    if not isinstance(rows, list) or len(rows) != n:
        size = len(rows) if isinstance(rows, list) else type(rows).__name__
        raise file_error(path, f"{where} must have {n} rows, one per name; found {size}", FIX_LAYOUT)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != n:
            size = len(row) if isinstance(row, list) else type(row).__name__
            raise file_error(path, f"{where}[{i}] ({names[i]}) must have {n} cells; found {size}", FIX_LAYOUT)
    values = np.array(rows)
    if values.dtype.kind not in "iuf" or (values.dtype.kind == "f" and np.isnan(values).any()):
        cell, value = _bad_cell(rows, key)
        raise file_error(path, f"{cell} is not a number ({value!r})", "correct the cell or fetch the file again")
    values = values.astype(np.float64)
    if (values < 0).any():
        i, j = (int(x) for x in np.argwhere(values < 0)[0])
        raise file_error(path, f"matrix[{key!r}][{i}][{j}] ({names[i]} -> {names[j]}) is negative ({values[i, j]:g})",
                         "counts of persons cannot be negative: correct the cell or fetch the file again")
    return values


def parse(doc, path: Path, key: str | None = None, index: dict | None = None,
          index_path: Path | None = None) -> Chord:
    """A Chord from a decoded JSON document.

    `index` (with its `index_path`) supplies `names`/`regions` when the document holds only the
    matrix; `key` names a document whose `matrix` is a single N x N list (e.g. its year).
    """
    path = Path(path)
    if not isinstance(doc, dict) or "matrix" not in doc:
        raise file_error(path, "not a chord-diagram JSON object with a `matrix`", FIX_LAYOUT)
    source, source_path = (index, Path(index_path or path)) if index is not None else (doc, path)
    if not isinstance(source, dict):
        raise file_error(source_path, "not a JSON object with `names` and `regions`", FIX_LAYOUT)
    names = _names(source, source_path)
    regions = _regions(source, source_path, len(names))
    raw = doc["matrix"]
    if isinstance(raw, list):
        if key is None:
            raise file_error(path, "`matrix` is a single matrix but no key (year) was given for it", FIX_LAYOUT)
        raw = {str(key): raw}
    if not isinstance(raw, dict) or not raw:
        raise file_error(path, "`matrix` must be a non-empty dict key -> matrix, or one matrix", FIX_LAYOUT)
    matrices = {str(k): _matrix(v, str(k), len(names), path, names) for k, v in raw.items()}
    return Chord(path=path, names=names, regions=regions, matrices=matrices,
                 names_path=Path(index_path) if index is not None and index_path is not None else None)


def load(path: Path, key: str | None = None, index: dict | None = None, index_path: Path | None = None) -> Chord:
    """Read and check a chord-diagram JSON file (`.json` or `.json.gz`)."""
    return parse(read_json(Path(path)), Path(path), key=key, index=index, index_path=index_path)


def country_codes(chord: Chord) -> dict[int, str]:
    """Index -> ISO3 for the country rows: region rows are left out, and names that aliases.csv
    marks as aggregates ('-') too. Unknown names raise CountryCodeError naming the file."""
    idx = chord.country_indices
    names = pd.Series([chord.names[i] for i in idx], index=idx)
    codes = to_iso3(names, file=str(chord.names_path or chord.path), column="names")
    return {i: c for i, c in codes.items() if c is not None}


def to_long(chord: Chord, key: str = "year", value: str = "flow", codes: dict[int, str] | None = None,
            keys: list[str] | None = None) -> pd.DataFrame:
    """Long rows `key, origin, destination, value` of the nonzero country-to-country cells.

    Region rows/columns and the diagonal (origin == destination after mapping) are dropped; cells
    mapping to the same ISO3 pair are summed. `keys` restricts the matrices read (default all);
    `key` values are integers when they all look like integers.
    """
    codes = country_codes(chord) if codes is None else codes
    idx = np.array(sorted(codes), dtype=int)
    iso = np.array([codes[i] for i in idx], dtype=object)
    frames = []
    for k in (keys if keys is not None else list(chord.matrices)):
        block = chord.matrices[k][np.ix_(idx, idx)]
        i, j = np.nonzero(block)
        frames.append(pd.DataFrame({key: k, "origin": iso[i], "destination": iso[j], value: block[i, j]}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[key, "origin", "destination", value])
    out = out[out["origin"] != out["destination"]]
    if all(str(k).lstrip("-").isdigit() for k in chord.matrices):
        out[key] = out[key].astype(int)
    if out.duplicated([key, "origin", "destination"]).any():
        out = out.groupby([key, "origin", "destination"], as_index=False, sort=False)[value].sum()
    return out.reset_index(drop=True)
