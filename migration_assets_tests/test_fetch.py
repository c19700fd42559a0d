"""`migration-fetch` against a local HTTP server (no outside network), and the packaged catalog."""

import csv
import gzip
import hashlib
import io
import json
import re
import threading
import zipfile
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from migration_assets import fetch
from migration_assets.sources.files import SourceFileError

LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)


# --------------------------------------------------------------------------------------- server

class Server:
    """Routes: URL path -> dict(body=bytes, status=200, truncate=False, length=True, fail_first=0)."""

    def __init__(self):
        self.routes: dict[str, dict] = {}
        self.gets: dict[str, int] = {}
        self.heads: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _answer(self, send_body: bool):
                counter = server.gets if send_body else server.heads
                counter[self.path] = counter.get(self.path, 0) + 1
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                if route.get("fail_first", 0) >= counter[self.path]:
                    self.send_error(503, "Service Unavailable")
                    return
                if route.get("status", 200) != 200:
                    self.send_error(route["status"])
                    return
                body = route["body"]
                self.send_response(200)
                if route.get("length", True):
                    self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", '"' + hashlib.sha1(body).hexdigest() + '"')
                self.send_header("Last-Modified", LAST_MODIFIED)
                self.end_headers()
                if send_body:
                    # a truncated answer: the full length announced, half the bytes sent, connection closed
                    self.wfile.write(body[: len(body) // 2] if route.get("truncate") else body)

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module")
def http_server():
    server = Server()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture()
def server(http_server):
    http_server.routes.clear()
    http_server.gets.clear()
    http_server.heads.clear()
    return http_server


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(fetch, "RETRY_BACKOFF_S", 0.0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_catalog(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fetch.COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({"publisher": "Test publisher", "licence": "CC BY 4.0", "gzip": 0, "manual": 0,
                             "optional": 0, "unverified": 0, **row})
    return path


def fetch_main(tmp_path: Path, catalog: Path, *args: str) -> int:
    return fetch.main(["--catalog", str(catalog), "--dir", str(tmp_path / "raw"), "--retries", "0", *args])


def no_partials(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(".part")]


CSV = b"year,orig,dest,stock\n1990,AAA,BBB,10\n1995,AAA,BBB,12\n"
JSON = b'{"names": ["A", "B"], "matrix": {"1990": [[0, 1], [2, 0]]}}'


# --------------------------------------------------------------------------------------- downloads

def test_downloads_land_at_their_paths_with_progress_and_state(tmp_path, server, capsys):
    big = b"x" * 700_000  # several read blocks
    server.routes = {"/a.csv": {"body": CSV}, "/b/stock.json": {"body": JSON}, "/big.txt": {"body": big}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "undesa_stock/ims2019/a.csv", "url": server.url("/a.csv"), "sha256": sha(CSV)},
        {"path": "undesa_stock/ims2020/stock.json", "url": server.url("/b/stock.json")},
        {"path": "wpp/wpp2024/big.txt", "url": server.url("/big.txt"), "sha256": sha(big)},
    ])
    assert fetch_main(tmp_path, catalog) == 0
    root = tmp_path / "raw"
    assert (root / "undesa_stock/ims2019/a.csv").read_bytes() == CSV
    assert (root / "undesa_stock/ims2020/stock.json").read_bytes() == JSON
    assert (root / "wpp/wpp2024/big.txt").read_bytes() == big
    assert no_partials(root)

    captured = capsys.readouterr()
    # progress on stderr: bytes / total and percent, then the exact byte count
    assert "wpp/wpp2024/big.txt: 683.6 KiB / 683.6 KiB (100%), 700,000 bytes in" in captured.err
    assert "[1/3] undesa_stock/ims2019/a.csv <- " + server.url("/a.csv") in captured.err
    # summary table on stdout
    assert "3 file(s) selected: 3 downloaded" in captured.out
    assert "undesa_stock/ims2020/stock.json" in captured.out and "downloaded" in captured.out

    state = json.loads((root / fetch.STATE_FILE).read_text())
    record = state["files"]["undesa_stock/ims2019/a.csv"]
    assert record["url"] == server.url("/a.csv")
    assert record["etag"] == '"' + hashlib.sha1(CSV).hexdigest() + '"'
    assert record["last_modified"] == LAST_MODIFIED
    assert record["size"] == len(CSV) == record["content_length"]
    assert record["sha256"] == sha(CSV)
    assert record["downloaded_at"].endswith("+00:00")
    assert set(state["files"]) == {"undesa_stock/ims2019/a.csv", "undesa_stock/ims2020/stock.json",
                                   "wpp/wpp2024/big.txt"}


def test_second_run_skips_present_files_and_force_downloads_again(tmp_path, server, capsys):
    server.routes = {"/a.csv": {"body": CSV}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "unhcr/a.csv", "url": server.url("/a.csv"), "sha256": sha(CSV)}])
    assert fetch_main(tmp_path, catalog) == 0
    first = json.loads((tmp_path / "raw" / fetch.STATE_FILE).read_text())["files"]["unhcr/a.csv"]
    assert server.gets["/a.csv"] == 1
    capsys.readouterr()

    assert fetch_main(tmp_path, catalog) == 0
    assert server.gets["/a.csv"] == 1  # nothing requested
    assert "1 file(s) selected: 1 already present" in capsys.readouterr().out

    (tmp_path / "raw" / "unhcr/a.csv").write_bytes(b"stale")
    assert fetch_main(tmp_path, catalog, "--force") == 0
    assert server.gets["/a.csv"] == 2
    assert (tmp_path / "raw" / "unhcr/a.csv").read_bytes() == CSV
    again = json.loads((tmp_path / "raw" / fetch.STATE_FILE).read_text())["files"]["unhcr/a.csv"]
    assert again["sha256"] == first["sha256"] and again["etag"] == first["etag"]


def test_gzip_after_download_matches_bundle_convention(tmp_path, server):
    server.routes = {"/flow.json": {"body": JSON * 50}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "abel_cohen_flows/chord_json/flow.json.gz", "url": server.url("/flow.json"),
         "sha256": sha(JSON * 50), "gzip": 1}])
    assert fetch_main(tmp_path, catalog) == 0
    stored = tmp_path / "raw" / "abel_cohen_flows/chord_json/flow.json.gz"
    data = stored.read_bytes()
    assert gzip.decompress(data) == JSON * 50
    assert data[4:8] == b"\0\0\0\0"  # no time stamp (gzip -n): the same bytes on every run
    record = json.loads((tmp_path / "raw" / fetch.STATE_FILE).read_text())["files"][
        "abel_cohen_flows/chord_json/flow.json.gz"]
    assert record["sha256"] == sha(JSON * 50) and record["stored_sha256"] == sha(data)
    assert record["size"] == len(data)


def test_gzip_without_the_gzip_tool_uses_python(tmp_path, server, monkeypatch):
    monkeypatch.setattr(fetch.shutil, "which", lambda name: None)
    server.routes = {"/t.txt": {"body": CSV}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "wpp/t.txt.gz", "url": server.url("/t.txt"), "sha256": sha(CSV), "gzip": 1}])
    assert fetch_main(tmp_path, catalog) == 0
    data = (tmp_path / "raw" / "wpp/t.txt.gz").read_bytes()
    assert gzip.decompress(data) == CSV and data[4:8] == b"\0\0\0\0"


def test_member_taken_out_of_an_archive(tmp_path, server):
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg/data/POP.csv", CSV)
        archive.writestr("pkg/__init__.py", "")
    server.routes = {"/pkg-1.0-py3-none-any.whl": {"body": wheel.getvalue()}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "wpp/wpp2022/POP.csv.gz", "url": server.url("/pkg-1.0-py3-none-any.whl"), "sha256": sha(CSV),
         "gzip": 1, "member": "pkg/data/POP.csv"},
        {"path": "wpp/wpp2022/OTHER.csv", "url": server.url("/pkg-1.0-py3-none-any.whl"),
         "member": "pkg/data/OTHER.csv"}])
    assert fetch_main(tmp_path, catalog) == 1
    assert gzip.decompress((tmp_path / "raw" / "wpp/wpp2022/POP.csv.gz").read_bytes()) == CSV
    assert not (tmp_path / "raw" / "wpp/wpp2022/OTHER.csv").exists()
    assert no_partials(tmp_path / "raw")


def test_member_error_names_the_members(tmp_path, server, capsys):
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pkg/data/POP.csv", CSV)
    server.routes = {"/p.whl": {"body": wheel.getvalue()}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "wpp/x.csv", "url": server.url("/p.whl"), "member": "pkg/data/X.csv"}])
    assert fetch_main(tmp_path, catalog) == 1
    err = capsys.readouterr().err
    assert "has no member 'pkg/data/X.csv'" in err and "pkg/data/POP.csv" in err and "Fix:" in err


# --------------------------------------------------------------------------------------- failures

def test_sha256_mismatch_fails_clearly_and_leaves_nothing(tmp_path, server, capsys):
    server.routes = {"/a.csv": {"body": CSV}}
    wrong = "0" * 64
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "undesa_stock/ims2019/a.csv", "url": server.url("/a.csv"), "sha256": wrong}])
    assert fetch_main(tmp_path, catalog) == 1
    err = capsys.readouterr().err
    assert "undesa_stock/ims2019/a.csv" in err
    assert server.url("/a.csv") in err
    assert f"expected {wrong}, got {sha(CSV)}" in err
    assert "Fix:" in err and "sha256" in err and str(catalog) in err
    root = tmp_path / "raw"
    assert not (root / "undesa_stock/ims2019/a.csv").exists()
    assert no_partials(root)
    assert not (root / fetch.STATE_FILE).exists()


def test_sha256_mismatch_recognises_a_git_lfs_pointer(tmp_path, server, capsys):
    pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"
    server.routes = {"/stock.nc": {"body": pointer}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "undesa_stock/stock.nc", "url": server.url("/stock.nc"), "sha256": "1" * 64}])
    assert fetch_main(tmp_path, catalog) == 1
    assert "Git LFS pointer" in capsys.readouterr().err


def test_truncated_response_detected(tmp_path, server, capsys):
    body = CSV * 100
    server.routes = {"/t.csv": {"body": body, "truncate": True}}
    catalog = write_catalog(tmp_path / "catalog.csv", [{"path": "gdp/t.csv", "url": server.url("/t.csv")}])
    assert fetch_main(tmp_path, catalog) == 1
    err = capsys.readouterr().err
    assert "truncated" in err and f"received {len(body) // 2:,} of the {len(body):,} bytes" in err
    assert not (tmp_path / "raw" / "gdp/t.csv").exists()
    assert no_partials(tmp_path / "raw")


def test_404_reported_and_other_files_still_fetched(tmp_path, server, capsys):
    server.routes = {"/ok.csv": {"body": CSV}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "a/missing.csv", "url": server.url("/gone.csv")},
        {"path": "b/ok.csv", "url": server.url("/ok.csv"), "sha256": sha(CSV)}])
    assert fetch_main(tmp_path, catalog) == 1
    captured = capsys.readouterr()
    assert "HTTP 404" in captured.err and server.url("/gone.csv") in captured.err and "a/missing.csv" in captured.err
    assert "correct the `url` column" in captured.err
    assert (tmp_path / "raw" / "b/ok.csv").read_bytes() == CSV
    assert "2 file(s) selected: 1 downloaded, 1 failed" in captured.out
    assert "FAILED" in captured.out


def test_unreachable_host_reported(tmp_path, capsys):
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "a/x.csv", "url": "http://127.0.0.1:9/x.csv"}])  # discard port: connection refused
    assert fetch_main(tmp_path, catalog, "--timeout", "5") == 1
    err = capsys.readouterr().err
    assert "cannot reach 127.0.0.1" in err and "Fix:" in err


def test_server_error_retried(tmp_path, server, capsys):
    server.routes = {"/flaky.csv": {"body": CSV, "fail_first": 1}}
    catalog = write_catalog(tmp_path / "catalog.csv", [{"path": "a/flaky.csv", "url": server.url("/flaky.csv")}])
    assert fetch.main(["--catalog", str(catalog), "--dir", str(tmp_path / "raw"), "--retries", "1"]) == 0
    assert server.gets["/flaky.csv"] == 2
    assert "HTTP 503" in capsys.readouterr().err
    assert (tmp_path / "raw" / "a/flaky.csv").read_bytes() == CSV


def test_html_page_instead_of_a_workbook_rejected(tmp_path, server, capsys):
    server.routes = {"/w.xlsx": {"body": b"<!DOCTYPE html><html><body>Access denied</body></html>"}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "undesa_stock/ims2024/w.xlsx", "url": server.url("/w.xlsx"), "unverified": 1}])
    assert fetch_main(tmp_path, catalog) == 1
    err = capsys.readouterr().err
    assert "did not deliver an .xlsx workbook" in err and "HTML" in err
    assert not (tmp_path / "raw" / "undesa_stock/ims2024/w.xlsx").exists()


def test_unknown_length_still_downloads(tmp_path, server, capsys):
    server.routes = {"/n.txt": {"body": CSV, "length": False}}
    catalog = write_catalog(tmp_path / "catalog.csv", [{"path": "n/n.txt", "url": server.url("/n.txt")}])
    assert fetch_main(tmp_path, catalog) == 0
    assert (tmp_path / "raw" / "n/n.txt").read_bytes() == CSV
    assert f"n/n.txt: {len(CSV)} B, {len(CSV)} bytes in" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_is_rewritten_in_place(monkeypatch):
    monkeypatch.setattr(fetch, "PROGRESS_EVERY_S", 0.0)
    screen = Terminal()
    progress = fetch.Progress(screen, "wpp/x.csv", 4 * 1024 * 1024)
    progress.update(1024 * 1024)
    progress.update(2 * 1024 * 1024)
    progress.done(4 * 1024 * 1024)
    text = screen.getvalue()
    assert text.startswith("\r  wpp/x.csv: 1.0 MiB / 4.0 MiB (25%)")
    assert "\r  wpp/x.csv: 2.0 MiB / 4.0 MiB (50%)" in text
    assert text.endswith("\n") and "4.0 MiB / 4.0 MiB (100%), 4,194,304 bytes in" in text
    assert text.count("\n") == 1


def test_stale_partial_files_removed(tmp_path, server):
    server.routes = {"/a.csv": {"body": CSV}}
    folder = tmp_path / "raw" / "x"
    folder.mkdir(parents=True)
    stale, fresh = folder / ".a.csv.old1.part", folder / ".a.csv.new1.part"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"other run")
    import os
    os.utime(stale, (0, 0))
    catalog = write_catalog(tmp_path / "catalog.csv", [{"path": "x/a.csv", "url": server.url("/a.csv")}])
    assert fetch_main(tmp_path, catalog) == 0
    assert not stale.exists() and fresh.exists()


# --------------------------------------------------------------------------------------- selection, listing

def test_only_optional_and_manual(tmp_path, server, capsys):
    server.routes = {"/a.csv": {"body": CSV}, "/b.csv": {"body": CSV}, "/c.csv": {"body": CSV}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "wpp/a.csv", "url": server.url("/a.csv")},
        {"path": "unhcr/b.csv", "url": server.url("/b.csv")},
        {"path": "extra/c.csv", "url": server.url("/c.csv"), "optional": 1},
        {"path": "oecd/by_hand.csv", "url": server.url("/landing"), "manual": 1,
         "note": "export the table from the portal"}])
    root = tmp_path / "raw"
    assert fetch_main(tmp_path, catalog, "--only", "wpp/") == 0
    assert (root / "wpp/a.csv").exists() and not (root / "unhcr/b.csv").exists()

    assert fetch_main(tmp_path, catalog) == 0  # manual files are reported, not failures
    captured = capsys.readouterr()
    assert (root / "unhcr/b.csv").exists() and not (root / "extra/c.csv").exists()
    assert "oecd/by_hand.csv has no stable download URL. export the table from the portal" in captured.err
    assert "1 manual (download by hand)" in captured.out
    assert "/landing" not in server.gets

    assert fetch_main(tmp_path, catalog, "--only", "*.csv") == 0  # an optional file named by --only
    assert (root / "extra/c.csv").exists()
    assert fetch_main(tmp_path, catalog, "--only", "nothing/here") == 2
    assert "no catalog path matches" in capsys.readouterr().err


def test_list_shows_catalog_and_presence(tmp_path, server, capsys):
    server.routes = {"/a.csv": {"body": CSV}}
    catalog = write_catalog(tmp_path / "catalog.csv", [
        {"path": "wpp/a.csv", "url": server.url("/a.csv"), "sha256": sha(CSV)},
        {"path": "wpp/b.csv.gz", "url": server.url("/b.csv"), "gzip": 1, "unverified": 1},
        {"path": "extra/c.csv", "url": server.url("/c.csv"), "optional": 1},
        {"path": "oecd/by_hand.csv", "url": server.url("/landing"), "manual": 1, "note": "by hand"}])
    assert fetch_main(tmp_path, catalog, "--only", "wpp/a.csv") == 0
    capsys.readouterr()
    assert fetch_main(tmp_path, catalog, "--list") == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines()[1:] if line and line.split()[0] in
             ("present", "missing", "optional", "manual")}
    assert lines["wpp/a.csv"].startswith("present") and "sha256" in lines["wpp/a.csv"]
    assert lines["wpp/b.csv.gz"].startswith("missing") and "gzip,unverified" in lines["wpp/b.csv.gz"]
    assert lines["extra/c.csv"].startswith("optional")
    assert lines["oecd/by_hand.csv"].startswith("manual")
    assert "4 files in the catalog" in out and "1 present, 1 missing, 1 optional, 1 manual" in out
    assert server.gets == {"/a.csv": 1}  # --list downloads nothing


def test_raw_dir_from_environment(tmp_path, server, monkeypatch):
    server.routes = {"/a.csv": {"body": CSV}}
    catalog = write_catalog(tmp_path / "catalog.csv", [{"path": "x/a.csv", "url": server.url("/a.csv")}])
    monkeypatch.setenv("MIGRATION_RAW_DIR", str(tmp_path / "env_root"))
    assert fetch.main(["--catalog", str(catalog), "--retries", "0"]) == 0
    assert (tmp_path / "env_root" / "x/a.csv").read_bytes() == CSV


def test_remote_version_returns_server_headers(server):
    server.routes = {"/a.csv": {"body": CSV}}
    version = fetch.remote_version(server.url("/a.csv"))
    assert version["etag"] == '"' + hashlib.sha1(CSV).hexdigest() + '"'
    assert version["last_modified"] == LAST_MODIFIED
    assert version["content_length"] == len(CSV)
    assert version["status"] == 200
    assert server.heads == {"/a.csv": 1} and not server.gets
    record = {"etag": version["etag"], "last_modified": LAST_MODIFIED, "content_length": len(CSV)}
    assert fetch.remote_changed(record, version) is False
    assert fetch.remote_changed({**record, "etag": '"older"'}, version) is True
    assert fetch.remote_changed({}, version) is None


# --------------------------------------------------------------------------------------- catalog

@pytest.mark.parametrize("cell, problem", [
    ({"sha256": "abc"}, "not 64 hexadecimal digits"),
    ({"path": "../outside.csv"}, "not a relative path"),
    ({"url": "ftp://host/x"}, "not an http(s) URL"),
    ({"gzip": 1}, "does not end in .gz"),
    ({"manual": "yes"}, "must be 0 or 1"),
    ({"path": "a/first.csv"}, "listed twice"),
])
def test_catalog_errors_name_the_line(tmp_path, cell, problem, capsys):
    rows = [{"path": "a/first.csv", "url": "https://example.org/first.csv"},
            {"path": "a/second.csv", "url": "https://example.org/second.csv", **cell}]
    catalog = write_catalog(tmp_path / "catalog.csv", rows)
    with pytest.raises(SourceFileError, match=f"line 3: .*{re.escape(problem)}"):
        fetch.load_catalog(catalog)
    assert fetch.main(["--catalog", str(catalog), "--list"]) == 2
    assert problem in capsys.readouterr().err


def test_packaged_catalog_is_valid():
    entries = fetch.load_catalog()
    paths = {e.path for e in entries}
    # the files the readers look for where the publisher distributes another format than the bundle
    for rel in ["undesa_stock/ims2024/undesa_pd_2024_ims_stock_by_sex_destination_and_origin.xlsx",
                "undesa_stock/ims2020/undesa_pd_2020_ims_stock_by_sex_destination_and_origin.xlsx",
                "wpp/WPP2024_Demographic_Indicators_Medium.csv.gz"]:
        assert rel in paths
    for entry in entries:
        if entry.url.startswith("https://raw.githubusercontent.com/"):
            assert entry.sha256, f"{entry.path}: a repository copy must have its hash pinned"
            assert not entry.unverified
        if entry.manual:
            assert entry.note
    default = fetch.select(entries)
    assert not any(e.optional for e in default) and len(fetch.select(entries, include_optional=True)) == len(entries)


def test_packaged_catalog_matches_the_bundle(bundle):
    """Every bundle file is in the catalog, with the hash of its bytes as published (gunzipped for the
    files the bundle gzipped, which the catalog gzips after download)."""
    entries = {e.path: e for e in fetch.load_catalog()}
    listed = [line.split(None, 1)[1].strip() for line in (bundle / "SHA256SUMS").read_text().splitlines() if line]
    assert len(listed) > 150
    for rel in listed:
        assert rel in entries, f"bundle file {rel} is missing from the catalog"
        entry = entries[rel]
        data = (bundle / rel).read_bytes()
        if entry.gzip:
            data = gzip.decompress(data)
        assert sha(data) == entry.sha256, rel
        assert entry.gzip == (rel.endswith(".gz") and not entry.url.endswith(".gz"))


def test_fetch_reproduces_bundle_bytes(tmp_path, server, bundle):
    """Served the published bytes, migration-fetch writes files identical to the bundle's (SHA256SUMS),
    gzipped ones included."""
    sums = dict(reversed(line.split(None, 1)) for line in (bundle / "SHA256SUMS").read_text().splitlines() if line)
    sums = {k.strip(): v for k, v in sums.items()}
    entries = {e.path: e for e in fetch.load_catalog()}
    chosen = ["abel_cohen_flows/chord_json/flow_return_da_min_open.json.gz",
              "unhcr/unhcr_popstats_export_persons_of_concern_all_data.csv.gz",
              "wpp/wpp2024/UNlocations.txt",
              "undesa_stock/ims2020/undesa_pd_2020_ims_stock_by_sex_and_destination.xlsx"]
    rows = []
    for rel in chosen:
        data = (bundle / rel).read_bytes()
        if entries[rel].gzip:
            data = gzip.decompress(data)
        server.routes["/" + rel] = {"body": data}
        entry = entries[rel]
        rows.append({"path": rel, "url": server.url("/" + rel), "sha256": entry.sha256, "gzip": int(entry.gzip)})
    catalog = write_catalog(tmp_path / "catalog.csv", rows)
    assert fetch_main(tmp_path, catalog) == 0
    for rel in chosen:
        stored = (tmp_path / "raw" / rel).read_bytes()
        if rel.endswith(".gz") and not fetch.shutil.which("gzip"):  # Python's deflate differs from gzip's
            assert gzip.decompress(stored) == gzip.decompress((bundle / rel).read_bytes()), rel
        else:
            assert sha(stored) == sums[rel], rel


def test_catalog_covers_the_readers_files():
    """Every file a published-data reader names (FILES) can be fetched."""
    from importlib import import_module

    from migration_assets.schemas import RAW

    paths = {e.path for e in fetch.load_catalog()}
    named: dict[str, str] = {}
    for module_name in sorted(set(RAW) | {"reference"}):
        try:
            module = import_module(f"migration_assets.sources.{module_name}")
        except ImportError:
            continue
        files = getattr(module, "FILES", None) or []
        if isinstance(files, dict):
            files = [f for group in files.values() for f in group]
        for rel in files:
            named[str(rel)] = module_name
    missing = {rel: mod for rel, mod in named.items() if rel not in paths}
    assert not missing, f"files named by readers but absent from sources/catalog.csv: {missing}"
