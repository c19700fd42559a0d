"""`migration-fetch`: download the published source files into the raw-data folder.

    migration-fetch [--dir DIR] [--only PATTERN ...] [--all] [--force] [--list]
                    [--catalog CSV] [--retries N] [--timeout S]

What to download is listed in `sources/catalog.csv`, one row per file:

| column       | meaning |
|--------------|---------|
| `path`       | where the file goes, relative to the raw-data folder (the layout the readers read) |
| `url`        | where it is published; for a `manual` row, the page to download it from by hand |
| `publisher`, `licence` | the original publisher and the terms of reuse |
| `sha256`     | SHA-256 of the file *as published* (after `member` extraction, before `gzip`); empty where the publisher may re-issue the file |
| `gzip`       | 1: gzip the download (`gzip -9 -n`, byte-identical to the development bundle's `.gz` files) |
| `member`     | the file inside a zip archive (e.g. a wheel) to keep, instead of the archive |
| `manual`     | 1: no stable download URL; `note` says what to do |
| `optional`   | 1: downloaded only with `--all` or when `--only` names it |
| `unverified` | 1: the URL is the best known one and could not be checked when the row was written |
| `note`       | provenance, quirks, instructions |

Each missing file (every selected file with `--force`) is streamed into a temporary file beside its
destination, with a progress line on stderr; the download is checked (Content-Length, SHA-256 when
the catalog has one, or else that an `.xlsx`/`.zip`/`.gz`/`.nc`/`.json` really is one), gzipped
where the catalog says so, and only then renamed into place, so a reader never sees a partial file.
URL, ETag, Last-Modified, size, SHA-256 and time of each download are kept in
`<dir>/.fetch-state.json`; `remote_version(url)` asks a server for the same headers without
downloading, so a sensor can tell when a publisher has released a new version.

A failed file is reported (what happened, the URL and the fix) and the others are still fetched;
the exit status is 1 when any selected file failed, 2 for a usage or catalog error.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import TextIO
from glob import escape as glob_escape
from urllib.parse import urlsplit

from .sources.files import SourceFileError, file_error

CATALOG = Path(__file__).resolve().parent / "sources" / "catalog.csv"
COLUMNS = ["path", "url", "publisher", "licence", "sha256", "gzip", "member", "manual", "optional", "unverified", "note"]
STATE_FILE = ".fetch-state.json"
DEFAULT_RAW_DIR = "data/raw"
# un.org answers 403 to some non-browser agents; override with MIGRATION_FETCH_USER_AGENT
DEFAULT_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) migration-fetch/0.1 (Python urllib)"
CHUNK = 256 * 1024
RETRY_BACKOFF_S = 2.0  # seconds before the first retry, doubled for each further one
PROGRESS_EVERY_S = 0.2  # on a terminal; elsewhere (logs) one line every PROGRESS_LOG_EVERY_S
PROGRESS_LOG_EVERY_S = 5.0
HEX64 = re.compile(r"^[0-9a-f]{64}$")


# --------------------------------------------------------------------------------------- catalog

@dataclass(frozen=True)
class Entry:
    """One row of the catalog (`line` is its line in the CSV file, for messages)."""

    path: str
    url: str
    publisher: str = ""
    licence: str = ""
    sha256: str = ""
    gzip: bool = False
    member: str = ""
    manual: bool = False
    optional: bool = False
    unverified: bool = False
    note: str = ""
    line: int = 0

    @property
    def content_name(self) -> str:
        """The file name of the content before gzip (what the format check looks at)."""
        name = PurePosixPath(self.path).name
        return name[:-3] if self.gzip else name

    def flags(self) -> str:
        words = [w for w, on in [("sha256", bool(self.sha256)), ("gzip", self.gzip), ("member", bool(self.member)),
                                 ("optional", self.optional), ("unverified", self.unverified and not self.manual),
                                 ("manual", self.manual)] if on]
        return ",".join(words) or "-"


def _flag(value: str, column: str, catalog: Path, line: int) -> bool:
    value = (value or "").strip()
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    raise file_error(catalog, f"column `{column}` must be 0 or 1, not {value!r}", "correct the cell", row=line)


def load_catalog(path: Path | str = CATALOG) -> list[Entry]:
    """The catalog's rows, checked: relative unique paths, http(s) URLs, 0/1 flags, 64-hex sha256."""
    path = Path(path)
    if not path.exists():
        raise file_error(path, "catalog not found", "pass --catalog with the path of a catalog CSV")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise file_error(path, f"missing column(s) {missing}", f"the header must hold {','.join(COLUMNS)}", row=1)
        entries: list[Entry] = []
        seen: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            rel = (row["path"] or "").strip()
            parts = PurePosixPath(rel).parts
            if not rel or rel.startswith("/") or "\\" in rel or ".." in parts or rel == STATE_FILE:
                raise file_error(path, f"`path` {rel!r} is not a relative path inside the raw-data folder",
                                 "write it like `wpp/wpp2024/births.txt`", row=line)
            if rel in seen:
                raise file_error(path, f"`path` {rel!r} is listed twice (first on line {seen[rel]})",
                                 "keep one row per file", row=line)
            seen[rel] = line
            url = (row["url"] or "").strip()
            if not url.startswith(("http://", "https://")):
                raise file_error(path, f"`url` {url!r} of {rel} is not an http(s) URL", "correct the cell", row=line)
            sha = (row["sha256"] or "").strip().lower()
            if sha and not HEX64.match(sha):
                raise file_error(path, f"`sha256` of {rel} is not 64 hexadecimal digits ({sha!r})",
                                 "paste the full SHA-256 or leave the cell empty", row=line)
            entry = Entry(path=rel, url=url, publisher=(row["publisher"] or "").strip(),
                          licence=(row["licence"] or "").strip(), sha256=sha,
                          gzip=_flag(row["gzip"], "gzip", path, line), member=(row["member"] or "").strip(),
                          manual=_flag(row["manual"], "manual", path, line),
                          optional=_flag(row["optional"], "optional", path, line),
                          unverified=_flag(row["unverified"], "unverified", path, line),
                          note=(row["note"] or "").strip(), line=line)
            if entry.gzip and not rel.endswith(".gz"):
                raise file_error(path, f"{rel} has gzip=1 but its name does not end in .gz",
                                 "name the file `<name>.gz` (the readers gunzip only names ending in .gz)", row=line)
            if entry.manual and not entry.note:
                raise file_error(path, f"manual row {rel} has no note", "say in `note` how to download it by hand",
                                 row=line)
            entries.append(entry)
    return entries


def _matches(entry: Entry, pattern: str) -> bool:
    """A pattern names a file by glob on its path or its name, or a folder by its path."""
    pattern = pattern.strip()
    folder = pattern.rstrip("/")
    return (fnmatch.fnmatchcase(entry.path, pattern) or fnmatch.fnmatchcase(PurePosixPath(entry.path).name, pattern)
            or (bool(folder) and entry.path.startswith(folder + "/")))


def select(entries: list[Entry], patterns: list[str] | None = None, include_optional: bool = False) -> list[Entry]:
    """The entries to fetch: those matching `patterns` (optional ones included), else all non-optional ones
    (and the optional ones too with `include_optional`). A pattern that matches nothing raises ValueError."""
    if not patterns:
        return [e for e in entries if include_optional or not e.optional]
    unmatched = [p for p in patterns if not any(_matches(e, p) for e in entries)]
    if unmatched:
        raise ValueError(f"--only {' '.join(unmatched)}: no catalog path matches; `migration-fetch --list` shows them")
    return [e for e in entries if any(_matches(e, p) for p in patterns)]


# --------------------------------------------------------------------------------------- state

def read_state(root: Path | str) -> dict:
    """`<root>/.fetch-state.json` as a dict ({"version": 1, "files": {path: record}}); empty when absent."""
    state_path = Path(root) / STATE_FILE
    if not state_path.exists():
        return {"version": 1, "files": {}}
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"version": 1, "files": {}}  # damaged: rebuilt from the next downloads
    state.setdefault("files", {})
    return state


def _record_state(root: Path, rel: str, record: dict) -> None:
    """Add one file's record, re-reading the state first and replacing the file atomically."""
    state = read_state(root)
    state["version"] = 1
    state["files"][rel] = record
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f"{STATE_FILE}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
            handle.write("\n")
        os.replace(tmp, root / STATE_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------------------- network

def _user_agent() -> str:
    return os.environ.get("MIGRATION_FETCH_USER_AGENT") or DEFAULT_USER_AGENT


def _request(url: str, method: str = "GET") -> urllib.request.Request:
    # identity: Content-Length then counts the bytes we store, and nothing is decoded on the way
    return urllib.request.Request(url, method=method,
                                  headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"})


def _length(headers) -> int | None:
    value = (headers.get("Content-Length") or "").strip()
    return int(value) if value.isdigit() else None


def remote_version(url: str, timeout: float = 30.0) -> dict:
    """What a server says about the current version of `url`, without downloading it: a HEAD request
    (a GET closed after the headers where HEAD is refused). Keys: url, final_url (after redirects),
    status, etag, last_modified, content_length (int or None). Network errors propagate."""
    try:
        response = urllib.request.urlopen(_request(url, "HEAD"), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code not in (405, 501):
            raise
        err.close()
        response = urllib.request.urlopen(_request(url), timeout=timeout)
    with response:
        return {"url": url, "final_url": response.geturl(), "status": response.status,
                "etag": response.headers.get("ETag"), "last_modified": response.headers.get("Last-Modified"),
                "content_length": _length(response.headers)}


def remote_changed(record: dict, remote: dict) -> bool | None:
    """Whether the server's version (`remote_version`) differs from a downloaded one (a state record):
    compared by ETag, else Last-Modified, else size; None when the server gives none of them."""
    def etag(value):
        return value[2:] if value and value.startswith("W/") else value
    for key, norm in (("etag", etag), ("last_modified", str), ("content_length", int)):
        if record.get(key) is not None and remote.get(key) is not None:
            return norm(record[key]) != norm(remote[key])
    return None


class FetchError(Exception):
    """One file could not be fetched; the message names the file, what happened, the URL and the fix."""

    def __init__(self, message: str, retry: bool = False):
        super().__init__(message)
        self.retry = retry


def _fail(dest: Path, problem: str, fix: str, retry: bool = False) -> FetchError:
    return FetchError(str(file_error(dest, problem, fix)), retry=retry)


def _network_error(err: BaseException, entry: Entry, dest: Path, timeout: float) -> FetchError:
    host = urlsplit(entry.url).hostname or entry.url
    if isinstance(err, urllib.error.HTTPError):
        if err.code == 404 or err.code == 410:
            fix = ("the file moved or the catalog URL is wrong: find the current link on the publisher's page "
                   "and correct the `url` column of the catalog")
        elif err.code in (401, 403):
            fix = (f"the server refused the download: download {entry.url} in a browser and save it as {dest}, "
                   "or set MIGRATION_FETCH_USER_AGENT to another User-Agent and run again")
        else:
            fix = "the server failed: run migration-fetch again later"
        retry = err.code >= 500 or err.code == 429
        return _fail(dest, f"HTTP {err.code} {err.reason} from {entry.url}", fix, retry=retry)
    if isinstance(err, (TimeoutError, socket.timeout)):
        return _fail(dest, f"no answer from {host} within {timeout:g} s ({entry.url})",
                     "run migration-fetch again, or give a longer --timeout", retry=True)
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return _network_error(reason, entry, dest, timeout)
        return _fail(dest, f"cannot reach {host} ({reason}) for {entry.url}",
                     "check the network connection (and HTTPS_PROXY where a proxy is needed), then run again",
                     retry=True)
    if isinstance(err, http.client.IncompleteRead):
        return _fail(dest, f"download truncated: the connection closed after {len(err.partial)} bytes ({entry.url})",
                     "run migration-fetch again", retry=True)
    if isinstance(err, (ConnectionError, http.client.HTTPException, ssl.SSLError)):
        return _fail(dest, f"connection to {host} failed ({type(err).__name__}: {err}) for {entry.url}",
                     "run migration-fetch again", retry=True)
    return _fail(dest, f"cannot write the download ({type(err).__name__}: {err})",
                 "check free disk space and the permissions of the folder")


# --------------------------------------------------------------------------------------- progress

def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class Progress:
    """`path: received / total (percent)` on `stream`: rewritten in place on a terminal, one line every
    few seconds elsewhere, and a final line with the time and rate."""

    def __init__(self, stream: TextIO, label: str, total: int | None):
        self.stream, self.label, self.total = stream, label, total
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.start = self.last = time.monotonic()
        self.drawn = False  # an in-place line is open on the terminal

    def _text(self, n: int) -> str:
        if self.total:
            return f"  {self.label}: {_size(n)} / {_size(self.total)} ({100 * n // self.total}%)"
        return f"  {self.label}: {_size(n)} (size not announced)"

    def update(self, n: int) -> None:
        now = time.monotonic()
        if now - self.last < (PROGRESS_EVERY_S if self.tty else PROGRESS_LOG_EVERY_S):
            return
        self.last = now
        if self.tty:
            self.stream.write("\r" + self._text(n).ljust(78))
            self.drawn = True
        else:
            self.stream.write(self._text(n) + "\n")
        self.stream.flush()

    def done(self, n: int) -> None:
        seconds = max(time.monotonic() - self.start, 1e-6)
        text = (f"  {self.label}: {_size(n)} / {_size(self.total)} (100%)" if self.total
                else f"  {self.label}: {_size(n)}")
        self.stream.write(("\r" if self.drawn else "") + f"{text}, {n:,} bytes in {seconds:.1f} s "
                          f"({_size(n / seconds)}/s)\n")
        self.stream.flush()
        self.drawn = False

    def close(self) -> None:
        """End an in-place line left open by a failure, so the message starts on its own line."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False


# --------------------------------------------------------------------------------------- one file

_MAGIC = {  # content suffix -> (accepted first bytes, what it is)
    ".xlsx": ((b"PK\x03\x04",), "an .xlsx workbook (zip)"),
    ".zip": ((b"PK\x03\x04",), "a zip archive"),
    ".whl": ((b"PK\x03\x04",), "a wheel (zip)"),
    ".gz": ((b"\x1f\x8b",), "a gzip file"),
    ".nc": ((b"CDF", b"\x89HDF"), "a netCDF file"),
    ".json": ((b"{", b"["), "a JSON document"),
}


def _describe(head: bytes) -> str:
    text = head.lstrip()[:200].lower()
    if text.startswith(b"version https://git-lfs"):
        return ("a Git LFS pointer, not the file (the repository stores it in LFS: use "
                "https://media.githubusercontent.com/media/<owner>/<repo>/<commit>/<path>)")
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        return "an HTML/XML page (an error, login or cookie page) instead of the file"
    return f"data starting {head[:40]!r}"


def _check_format(entry: Entry, head: bytes, dest: Path) -> None:
    """Without a checksum, at least make sure the bytes are the kind of file the name says."""
    suffix = PurePosixPath(entry.content_name).suffix.lower()
    stripped = head.lstrip()
    if suffix in _MAGIC:
        accepted, kind = _MAGIC[suffix]
        probe = stripped.removeprefix(b"\xef\xbb\xbf").lstrip() if suffix == ".json" else head
        if not probe.startswith(accepted):
            raise _fail(dest, f"{entry.url} did not deliver {kind} but {_describe(head)}",
                        "open the URL in a browser; if the publisher moved the file, correct the catalog's `url`")
    elif stripped.lower().startswith((b"<!doctype html", b"<html", b"version https://git-lfs")):
        raise _fail(dest, f"{entry.url} delivered {_describe(head)}",
                    "open the URL in a browser; if the publisher moved the file, correct the catalog's `url`")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _head(path: Path, n: int = 256) -> bytes:
    with path.open("rb") as handle:
        return handle.read(n)


def _extract(entry: Entry, archive: Path, dest: Path, temps: list[Path]) -> Path:
    try:
        with zipfile.ZipFile(archive) as zipped:
            try:
                info = zipped.getinfo(entry.member)
            except KeyError:
                names = [n for n in zipped.namelist() if PurePosixPath(n).suffix == PurePosixPath(entry.member).suffix]
                raise _fail(dest, f"{entry.url} has no member {entry.member!r} (members like it: {names[:8]})",
                            "correct the catalog's `member` column") from None
            fd, out = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
            temps.append(Path(out))
            with zipped.open(info) as src, os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
    except zipfile.BadZipFile as err:
        raise _fail(dest, f"{entry.url} is not a complete zip archive ({err}); it is {_describe(_head(archive))}",
                    "run migration-fetch again; if it persists, correct the catalog's `url`", retry=True) from err
    return Path(out)


def _gzip(source: Path, dest: Path, temps: list[Path]) -> Path:
    """`gzip -9 -n` (the bundle's own tool: byte-identical .gz files) where installed, else Python's gzip."""
    fd, out = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    temps.append(Path(out))
    tool = shutil.which("gzip")
    with os.fdopen(fd, "wb") as dst:
        if tool:
            with source.open("rb") as src:
                subprocess.run([tool, "-9", "-n", "-c"], stdin=src, stdout=dst, check=True)
        else:
            with source.open("rb") as src, gzip.GzipFile(filename="", mode="wb", fileobj=dst, compresslevel=9,
                                                          mtime=0) as packed:
                shutil.copyfileobj(src, packed, CHUNK)
    return Path(out)


def _remove_stale_parts(dest: Path, age_s: float = 3600.0) -> None:
    """Temporary files of a run that was killed (older than an hour, so not a concurrent run's)."""
    for stale in dest.parent.glob(f".{glob_escape(dest.name)}.*.part"):
        try:
            if time.time() - stale.stat().st_mtime > age_s:
                stale.unlink()
        except OSError:
            pass


def fetch_file(entry: Entry, root: Path, timeout: float = 60.0, stream: TextIO | None = None,
               catalog: Path | str = CATALOG) -> dict:
    """Download one catalog entry into `root / entry.path` (replacing what is there) and return its state
    record. Raises FetchError; no partial or temporary file is left behind."""
    stream = stream if stream is not None else sys.stderr
    dest = root / entry.path
    temps: list[Path] = []
    progress: Progress | None = None
    started = time.monotonic()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(dest)
        fd, part = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        temps.append(Path(part))
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(_request(entry.url), timeout=timeout) as response:
            total = _length(response.headers)
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
            final_url = response.geturl()
            progress = Progress(stream, entry.path, total)
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                digest.update(block)
                received += len(block)
                progress.update(received)
            out.flush()
            os.fsync(out.fileno())
        if total is not None and received != total:
            raise _fail(dest, f"download truncated: received {received:,} of the {total:,} bytes announced by "
                              f"Content-Length from {entry.url}", "run migration-fetch again", retry=True)
        progress.done(received)

        content, sha = Path(part), digest.hexdigest()
        if entry.member:
            content = _extract(entry, content, dest, temps)
            sha = _sha256_file(content)
        if entry.sha256 and sha != entry.sha256:
            what = "" if _looks_right(entry, content) else f" (the download is {_describe(_head(content))})"
            raise _fail(dest, f"SHA-256 mismatch for {entry.url}: expected {entry.sha256}, got {sha}{what}",
                        f"if the publisher re-issued the file on purpose, check it and put the new hash in the "
                        f"`sha256` column of {catalog} (line {entry.line}); otherwise run migration-fetch again")
        if not entry.sha256:
            _check_format(entry, _head(content), dest)
        stored = _gzip(content, dest, temps) if entry.gzip else content
        os.replace(stored, dest)
        return {"url": entry.url, "final_url": final_url, "etag": etag, "last_modified": modified,
                "content_length": total, "size": dest.stat().st_size, "sha256": sha,
                "stored_sha256": _sha256_file(dest) if entry.gzip else sha, "gzip": entry.gzip,
                "member": entry.member or None,
                "downloaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "seconds": round(time.monotonic() - started, 3)}
    except FetchError:
        raise
    except (urllib.error.URLError, OSError, http.client.HTTPException, subprocess.CalledProcessError) as err:
        raise _network_error(err, entry, dest, timeout) from err
    finally:
        if progress is not None:
            progress.close()
        for temp in temps:
            temp.unlink(missing_ok=True)


def _looks_right(entry: Entry, content: Path) -> bool:
    try:
        _check_format(entry, _head(content), content)
        return True
    except FetchError:
        return False


# --------------------------------------------------------------------------------------- command

def _state_of(entry: Entry, root: Path) -> str:
    if (root / entry.path).exists():
        return "present"
    return "manual" if entry.manual else "optional" if entry.optional else "missing"


def list_catalog(entries: list[Entry], root: Path, out: TextIO) -> None:
    width = max(len(e.path) for e in entries) if entries else 10
    out.write(f"{'STATE':<9} {'PATH':<{width}}  {'FLAGS':<26} {'PUBLISHER':<40} URL\n")
    for e in entries:
        out.write(f"{_state_of(e, root):<9} {e.path:<{width}}  {e.flags():<26} {e.publisher[:40]:<40} {e.url}\n")
    counts: dict[str, int] = {}
    for e in entries:
        counts[_state_of(e, root)] = counts.get(_state_of(e, root), 0) + 1
    out.write(f"{len(entries)} files in the catalog under {root}: "
              + ", ".join(f"{counts[k]} {k}" for k in ("present", "missing", "optional", "manual") if k in counts)
              + "\n(flags: sha256 = checked against a pinned hash; gzip = stored gzipped; member = taken out of an "
                "archive; optional = only with --all or --only; unverified = URL not checked; manual = download "
                "by hand, see the catalog's note)\n")


def _summary(rows: list[tuple[str, str, str, str]], selected: int, counts: dict[str, int], out: TextIO) -> None:
    if rows:
        width = max(len(r[0]) for r in rows)
        out.write(f"\n{'PATH':<{width}}  {'RESULT':<10} {'SIZE':>10}  NOTE\n")
        for path, result, size, note in rows:
            out.write(f"{path:<{width}}  {result:<10} {size:>10}  {note}\n")
    out.write(f"\n{selected} file(s) selected: " + (", ".join(f"{n} {k}" for k, n in counts.items() if n) or "nothing to do")
              + "\n")


def run(entries: list[Entry], root: Path, force: bool = False, retries: int = 2, timeout: float = 60.0,
        catalog: Path | str = CATALOG, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Fetch `entries` into `root`; 0 when none failed, else 1."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    root.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str, str]] = []
    counts = {"downloaded": 0, "already present": 0, "failed": 0, "manual (download by hand)": 0}
    todo = [e for e in entries if not e.manual and (force or not (root / e.path).exists())]
    fetching = {e.path for e in todo}
    for entry in entries:
        if entry.manual:
            if (root / entry.path).exists():
                counts["already present"] += 1
            else:
                counts["manual (download by hand)"] += 1
                rows.append((entry.path, "manual", "", f"{entry.url}: {entry.note}"))
                err.write(f"manual: {entry.path} has no stable download URL. {entry.note} ({entry.url})\n")
        elif entry.path not in fetching:
            counts["already present"] += 1
    for number, entry in enumerate(todo, 1):
        err.write(f"[{number}/{len(todo)}] {entry.path} <- {entry.url}\n")
        for attempt in range(retries + 1):
            try:
                record = fetch_file(entry, root, timeout=timeout, stream=err, catalog=catalog)
            except FetchError as failure:
                if failure.retry and attempt < retries:
                    wait = RETRY_BACKOFF_S * 2 ** attempt
                    err.write(f"  {failure}\n  retrying in {wait:g} s (attempt {attempt + 2} of {retries + 1})\n")
                    time.sleep(wait)
                    continue
                err.write(f"  FAILED {failure}\n")
                counts["failed"] += 1
                rows.append((entry.path, "FAILED", "", str(failure)))
            else:
                _record_state(root, entry.path, record)
                counts["downloaded"] += 1
                rows.append((entry.path, "downloaded", _size(record["size"]),
                             "unverified URL: check the file" if entry.unverified and not entry.sha256 else ""))
            break
    _summary(rows, len(entries), counts, out)
    if counts["failed"]:
        out.write(f"{counts['failed']} file(s) failed: see the messages above; run migration-fetch again to retry "
                  "only the missing ones\n")
    return 1 if counts["failed"] else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="migration-fetch",
        description="Download the published source files (UN DESA, WPP, UNHCR, OECD, Eurostat, ...) into the "
                    "raw-data folder, in the layout the readers read.")
    p.add_argument("--dir", default=None,
                   help=f"raw-data folder (default: $MIGRATION_RAW_DIR, else {DEFAULT_RAW_DIR})")
    p.add_argument("--only", nargs="+", metavar="PATTERN", default=None,
                   help="fetch only these files: a glob on the path or file name (quote it), or a folder, "
                        "e.g. --only wpp/ 'undesa_stock/ims2024/*'")
    p.add_argument("--all", action="store_true", help="also fetch the optional files")
    p.add_argument("--force", action="store_true", help="download again files that are already present")
    p.add_argument("--list", action="store_true", help="print the catalog and which files are present; download nothing")
    p.add_argument("--catalog", default=str(CATALOG), help="catalog CSV (default: the packaged sources/catalog.csv)")
    p.add_argument("--retries", type=int, default=2, help="retries of a file after a network failure (default 2)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server (default 60)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    root = Path(args.dir or os.environ.get("MIGRATION_RAW_DIR") or DEFAULT_RAW_DIR)
    try:
        entries = load_catalog(args.catalog)
    except SourceFileError as error:
        print(f"migration-fetch: {error}", file=sys.stderr)
        return 2
    try:
        chosen = select(entries, args.only, include_optional=args.all or args.list)
    except ValueError as error:
        print(f"migration-fetch: {error}", file=sys.stderr)
        return 2
    if args.list:
        list_catalog(chosen, root, sys.stdout)
        return 0
    try:
        return run(chosen, root, force=args.force, retries=max(args.retries, 0), timeout=args.timeout,
                   catalog=args.catalog)
    except KeyboardInterrupt:
        print("\nmigration-fetch: interrupted; files already downloaded are kept, run it again to continue",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
