"""Screenshots of the Dagster UI over a finished `migration-run`, in headless Chromium.

Not part of CI (it needs a browser: Debian's `chromium` package). Starts `dagster dev` on the
project's instance (DAGSTER_HOME, default this folder), waits for the webserver, saves a screenshot
of the runs, the jobs, the asset graph, the backfills ("Materialize all") and the first run of
`train_members`, and prints the job
names of the runs and what the runs page lists, read through the webserver's GraphQL API.

    python benchmarks/ui_screenshots.py [--home .] [--out ui-screenshots] [--port 3333]
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
RUNS = "{ runsOrError { ... on Runs { results { runId jobName status tags { key value } } } } }"


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=os.environ.get("DAGSTER_HOME", str(PROJECT)))
    parser.add_argument("--out", default="ui-screenshots")
    parser.add_argument("--port", type=int, default=3333)
    parser.add_argument("--browser", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    home, out = Path(args.home).resolve(), Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    dagster = str(Path(sys.executable).parent / "dagster")
    server = subprocess.Popen([dagster, "dev", "-w", str(PROJECT / "workspace.yaml"), "-p", str(args.port)],
                              cwd=home, env={**os.environ, "DAGSTER_HOME": str(home)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                runs = graphql(args.port, RUNS)["runsOrError"]["results"]
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the Dagster webserver did not come up")
                time.sleep(3)
        print(f"{len(runs)} runs: " + ", ".join(sorted({r['jobName'] for r in runs})))
        # the UI's "Join the Dagster community" dialog, shown once per instance, would cover every page
        graphql(args.port, "mutation { setNuxSeen }")
        member = next((r for r in runs if r["jobName"] == "train_members"), None)
        pages = {"runs": "/runs", "jobs": "/jobs", "assets": "/asset-groups", "backfills": "/overview/backfills",
                 **({"member-run": f"/runs/{member['runId']}"} if member else {})}
        with tempfile.TemporaryDirectory() as tmp:
            for name, path in pages.items():
                png = out / f"{name}.png"
                subprocess.run([args.browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                                f"--user-data-dir={tmp}/profile", "--virtual-time-budget=15000",
                                "--window-size=1600,1000", f"--screenshot={png}",
                                f"http://127.0.0.1:{args.port}{path}"], capture_output=True, timeout=180)
                print(f"{name}: {png} ({png.stat().st_size // 1024} KiB)" if png.exists() else f"{name}: no screenshot")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(60)


if __name__ == "__main__":
    main()
