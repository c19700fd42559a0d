"""Country codes: the canonical list, name/ISO2/M49 -> ISO3 mapping, and successor rules.

- `canonical.csv`: the 231 countries and territories the platform estimates (ISO3, ISO2, UN M49
  code, short name, UN sub-region), the set used by Gaskin & Abel.
- `aliases.csv`: names the general mapping (country_converter) does not know or must not guess;
  iso3 "-" marks an aggregate or non-country row to drop. Add a row here to teach a new name.
- `successors.csv`: historic or non-canonical codes and how the panel maps them onto the
  canonical list: `merge` adds them to one canonical country; `split` shares a predecessor's
  figures among its successors by population, in the years before `until`.
"""

import logging
import re
from functools import lru_cache
from importlib import resources

import pandas as pd

from ..schemas import ContractError

ISO3 = re.compile(r"^[A-Z]{3}$")
DROP = "-"


class CountryCodeError(ContractError):
    """A country name or code that maps to no ISO3 code; the message names file, rows and fix."""


def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def canonical() -> pd.DataFrame:
    frame = _read("canonical.csv")
    frame["m49"] = frame["m49"].astype(int)
    return frame


def canonical_codes() -> list[str]:
    return list(canonical()["iso3"])


@lru_cache(maxsize=1)
def aliases() -> dict[str, str]:
    frame = _read("aliases.csv")
    return {n.casefold(): c for n, c in zip(frame["name"], frame["iso3"])}


@lru_cache(maxsize=1)
def successors() -> pd.DataFrame:
    return _read("successors.csv")


@lru_cache(maxsize=1)
def known_codes() -> frozenset[str]:
    """Every code a raw table may hold: the canonical list, the codes of aliases.csv and
    successors.csv (historic and non-canonical areas the panel maps onto the canonical list), and
    the ISO 3166-1 alpha-3 codes (country_converter's list: areas such as JEY or GGY that a
    publisher reports and the panel drops). A well-formed code outside it (XYZ) is a mistake."""
    codes = set(canonical_codes()) | {c for c in aliases().values() if c != DROP}
    table = successors()
    codes |= set(table["code"]) | {c for s in table["successors"] for c in s.split()}
    return frozenset(codes | set(_converter().data["ISO3"]))


@lru_cache(maxsize=1)
def _converter():
    import country_converter as coco

    logging.getLogger("country_converter").setLevel(logging.ERROR)
    return coco.CountryConverter()


@lru_cache(maxsize=4096)
def _lookup(value: str, kind: str) -> str | None:
    """ISO3 for one value, '-' for a known aggregate, None if unknown."""
    text = value.strip()
    if kind == "m49":
        try:
            text = str(int(float(text)))
        except ValueError:
            return None
    if text.casefold() in aliases():  # names, and M49 numbers of non-ISO units
        return aliases()[text.casefold()]
    if kind == "iso3":
        return text if ISO3.match(text) else None
    if kind == "m49":
        codes = dict(zip(canonical()["m49"].astype(str), canonical()["iso3"]))
        if text in codes:
            return codes[text]
    src = {"name": "regex", "iso2": "ISO2", "m49": "UNcode"}[kind]
    out = _converter().convert(text, src=src, to="ISO3", not_found=None)
    # country_converter returns its input unchanged when it finds nothing
    return out if isinstance(out, str) and ISO3.match(out) and out != text else None


def to_iso3(values: pd.Series, *, file: str, column: str, kind: str = "name") -> pd.Series:
    """Map names ("name"), ISO2 ("iso2"), UN M49 numbers ("m49") or ISO3 ("iso3") to ISO3.

    Aggregates listed in aliases.csv come back as None (drop those rows). Anything unknown raises
    CountryCodeError naming the file, the column, the first rows and the fix.
    """
    unique = pd.Series(values.dropna().astype(str).unique())
    mapping = {v: _lookup(v, kind) for v in unique}
    unknown = sorted(v for v, code in mapping.items() if code is None)
    if unknown:
        rows = values.astype(str).isin(unknown)
        examples = ", ".join(f"row {i}: {values[i]!r}" for i in list(values.index[rows])[:5])
        raise CountryCodeError(
            f"{file}: column `{column}` has {len(unknown)} unknown country {kind}(s) {unknown[:10]} ({examples}). "
            f"Fix: add them to migration_assets/countries/aliases.csv with their ISO3 code, or '-' if they are "
            f"aggregates to drop.")
    out = values.astype(str).map(mapping)
    return out.where(out != DROP, None)
