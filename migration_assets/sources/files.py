"""Reading published files with errors that name the file, the row and the fix.

Row numbers in messages are file line numbers (1-based, the header is line 1 unless a reader
says otherwise), so a user can open the file and find the cell.
"""

import gzip
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..schemas import ContractError

MISSING_MARKERS = ("..", "-", "", "NA", "nan", "NaN")


class SourceFileError(ContractError):
    """A published file that cannot be read as documented."""


def file_error(path: Path | str, problem: str, fix: str, row: int | None = None) -> SourceFileError:
    where = f"{path}" + (f", line {row}" if row is not None else "")
    return SourceFileError(f"{where}: {problem}. Fix: {fix}")


def require(path: Path) -> Path:
    if not path.exists():
        raise file_error(path, "file not found", "download it with `migration-fetch` or point MIGRATION_RAW_DIR "
                                                 "at the folder that holds it")
    return path


def read_bytes(path: Path) -> bytes:
    """File contents, gunzipped when the name ends in .gz; a truncated file is reported as such."""
    data = require(path).read_bytes()
    if path.suffix == ".gz":
        try:
            return gzip.decompress(data)
        except (EOFError, OSError, gzip.BadGzipFile) as err:
            raise file_error(path, f"not a complete gzip file ({err})", "the download was truncated: fetch it again") from err
    return data


def read_zip_member(path: Path, member: str | None = None) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(read_bytes(path))) as archive:
            name = member or archive.namelist()[0]
            return archive.read(name)
    except (zipfile.BadZipFile, EOFError, KeyError) as err:
        raise file_error(path, f"not a complete zip archive ({err})", "the download was truncated: fetch it again") from err


def read_json(path: Path):
    try:
        return json.loads(read_bytes(path))
    except json.JSONDecodeError as err:
        raise file_error(path, f"invalid JSON at line {err.lineno}, column {err.colno} ({err.msg})",
                         "the download was truncated or altered: fetch it again", row=err.lineno) from err


def read_csv(path: Path, required: list[str], header_line: int = 1, data: bytes | None = None, **kwargs) -> pd.DataFrame:
    """pd.read_csv with parse errors, missing columns and header-only files reported with file and line."""
    raw = read_bytes(path) if data is None else data
    try:
        frame = pd.read_csv(io.BytesIO(raw), **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        line = re.search(r"line (\d+)", str(err))
        raise file_error(path, f"cannot be parsed ({err})", "the file is malformed or truncated: fetch it again",
                         row=int(line.group(1)) if line else None) from err
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise file_error(path, f"missing column(s) {missing} (found {list(frame.columns)[:12]}...)",
                         "use the publisher's file as documented in MANIFEST.md", row=header_line)
    if frame.empty and kwargs.get("nrows") != 0:  # a header-only file would land as an empty table, or an empty share of one
        raise file_error(path, "has a header but no data rows",
                         "the download was cut short or the file emptied: fetch it again (migration-fetch)",
                         row=header_line + 1)
    return frame


# No count of persons (a flow, a stock, a population, deaths) can exceed the world's population.
WORLD_POPULATION = 8.2e9


def refuse_impossible(numbers: pd.Series, cells: pd.Series, lines, path: Path, column: str,
                      maximum: float | None = None) -> None:
    """Raise naming the file line of the first value that is infinite (`inf`, `Infinity`) or, with
    `maximum`, above it: such a value would land as a number and move every estimate.
    `cells` are the values as the file shows them and `lines` their file lines, both by position."""
    values = numbers.to_numpy(dtype=float)
    infinite = np.isinf(values)
    checks = [(infinite, "infinite")]
    if maximum is not None:
        checks.append((~infinite & (np.abs(values) > maximum), f"above {maximum:.3g} persons, the world's population"))
    for bad, what in checks:
        if bad.any():
            positions = np.flatnonzero(bad)[:5]
            shown = ", ".join(f"line {lines[p]}: {cells.iloc[p]!r}" for p in positions)
            raise file_error(path, f"column `{column}` has {int(bad.sum())} value(s) {what} ({shown}); nothing was "
                                   "written", "put the published figure (persons) or a missing-value marker in "
                                              "that cell, or fetch the file again", row=int(lines[positions[0]]))


def to_number(values: pd.Series, path: Path, column: str, first_data_line: int = 2,
              markers: tuple[str, ...] = MISSING_MARKERS, thousands: str | None = None,
              maximum: float | None = None) -> pd.Series:
    """Numbers from text: the UN markers `..` and `-` (and blanks) become NaN; anything else that is
    not a finite number (or is above `maximum`: WORLD_POPULATION for counts of persons) raises with
    its line (line = first_data_line + position in the frame)."""
    lines = first_data_line + np.arange(len(values))
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
        refuse_impossible(numbers, values, lines, path, column, maximum)
        return numbers
    text = values.astype(str).str.strip()
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    text = text.where(~text.isin(markers) & values.notna(), None)
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna() & text.notna()
    if bad.any():
        positions = np.flatnonzero(bad.to_numpy())[:5]
        cells = ", ".join(f"line {first_data_line + p}: {values.iloc[p]!r}" for p in positions)
        raise file_error(path, f"column `{column}` has {int(bad.sum())} value(s) that are not numbers ({cells})",
                         "correct those cells or fetch the file again", row=first_data_line + int(positions[0]))
    refuse_impossible(numbers, values, lines, path, column, maximum)
    return numbers.astype(float)


def read_rda(path: Path, name: str, required: list[str], renamed: dict[str, str] | None = None) -> pd.DataFrame:
    """The data frame `name` of an R data file (.rda/.RData, as R's `save()` writes it: XDR, usually
    gzip-compressed), read with pyreadr (librdata: a C reader, ten times faster than the pure-Python
    `rdata` on UNHCR's files, and it writes .rda for fixtures). `renamed` maps a column name the
    publisher used earlier to today's (applied only where today's is absent). Character columns come
    back as str (NaN for R's NA). Raises SourceFileError naming the file for a truncated or foreign
    file, a missing object or a missing column."""
    import pyreadr  # here, not at import: only the UNHCR readers need it

    require(path)
    try:
        objects = pyreadr.read_r(str(path))
    except Exception as err:  # pyreadr raises LibrdataError, PyreadrError, ValueError... on damaged files
        raise file_error(path, f"cannot be read as an R data file ({type(err).__name__}: {err})",
                         "the download was truncated or altered: fetch it again (migration-fetch)") from err
    if name not in objects:
        raise file_error(path, f"holds no object `{name}` (found {sorted(objects)})",
                         "use the publisher's file as documented in MANIFEST.md")
    frame = objects[name].reset_index(drop=True)  # position + 1 = the row number R prints
    for old, new in (renamed or {}).items():
        if old in frame.columns and new not in frame.columns:
            frame = frame.rename(columns={old: new})
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise file_error(path, f"`{name}` lacks the column(s) {missing} (found {list(frame.columns)})",
                         "the publisher renamed or dropped a column: map the new name in the reader's "
                         "RENAMED, or read an earlier release (MIGRATION_UNHCR_RELEASE)")
    if frame.empty:
        raise file_error(path, f"`{name}` has no rows", "the download was cut short: fetch it again (migration-fetch)")
    return frame


def netcdf_variables(path: Path, variables: list[str], dims: tuple[str, str]) -> dict[str, np.ndarray]:
    """Arrays (native byte order, copied) of a netCDF classic file, plus its coordinate variables
    `dims`; the ISO3 char-array coordinate comes back as strings. Raises SourceFileError on a file
    that is not netCDF classic, is truncated, or lacks a variable or dimension."""
    data = read_bytes(path)
    if not data.startswith(b"CDF"):
        raise file_error(path, "not a netCDF classic file (it does not start with 'CDF')",
                         "fetch the file again; netCDF-4/HDF5 files are not supported")
    try:
        from scipy.io import netcdf_file  # here, not at import: scipy takes a second to load

        nc = netcdf_file(io.BytesIO(data), mode="r", mmap=False)
    except Exception as err:  # scipy raises ValueError, TypeError, IndexError... on damaged headers
        raise file_error(path, f"cannot be read as netCDF ({type(err).__name__}: {err})",
                         "the download was truncated or altered: fetch it again") from err
    try:
        missing = [v for v in [*variables, *dims] if v not in nc.variables]
        if missing:
            raise file_error(path, f"missing variable(s) {missing} (found {sorted(nc.variables)})",
                             "use the publisher's file as documented in MANIFEST.md")
        out = {}
        for name in [*variables, *dims]:
            var = nc.variables[name]
            if name not in dims and tuple(var.dimensions) != dims:
                raise file_error(path, f"variable {name!r} has dimensions {var.dimensions}, expected {dims}",
                                 "use the publisher's file as documented in MANIFEST.md")
            array = np.array(var.data, copy=True)
            if array.dtype.kind == "S":
                array = np.array([b"".join(row).decode("utf-8").strip() for row in array.reshape(len(array), -1)],
                                 dtype=object)
            else:
                array = array.astype(array.dtype.newbyteorder("=")) if array.dtype.kind in "fiu" else array
            out[name] = array
    except SourceFileError:
        raise
    except Exception as err:
        raise file_error(path, f"cannot be read as netCDF ({type(err).__name__}: {err})",
                         "the download was truncated or altered: fetch it again") from err
    finally:
        nc.close()
    return out
