"""Render the report page (exports/report.html) in headless Chromium: screenshot and rendered DOM.

Not part of CI (it needs a browser: Debian's `chromium` package). Prints what the browser rendered —
sections, images and their decoded sizes — and where the screenshot is.

    python benchmarks/report_screenshot.py [--page data/exports/report.html] [--out report.png]
        [--browser chromium] [--height 6000]
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# after load, write each image's decoded size into the page, so --dump-dom shows what was drawn
PROBE = """<script>window.addEventListener('load', () => { for (const img of document.images)
  img.setAttribute('data-rendered', img.naturalWidth + 'x' + img.naturalHeight); });</script>"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page", default="data/exports/report.html")
    parser.add_argument("--out", default="report.png")
    parser.add_argument("--browser", default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium")
    parser.add_argument("--height", type=int, default=6000)
    args = parser.parse_args()
    page = Path(args.page).resolve()
    if not page.exists():
        sys.exit(f"{page} does not exist: run migration-run (or materialize exports/report) first")
    with tempfile.TemporaryDirectory() as tmp:
        probed = Path(tmp) / "page.html"
        probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
        common = [args.browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                  f"--user-data-dir={tmp}/profile", "--virtual-time-budget=5000"]
        dom = subprocess.run([*common, "--dump-dom", probed.as_uri()], capture_output=True, text=True,
                             timeout=120, check=True).stdout
        subprocess.run([*common, f"--window-size=1200,{args.height}", f"--screenshot={Path(args.out).resolve()}",
                        page.as_uri()], capture_output=True, timeout=120, check=True)
    sections = re.findall(r"<h2>(.*?)</h2>", dom)
    images = re.findall(r'data-rendered="(\d+)x(\d+)"', dom)
    print(f"page {page} ({page.stat().st_size / 1e3:.0f} kB)")
    print(f"sections rendered: {len(sections)}: {', '.join(sections)}")
    print(f"images rendered: {len(images)}, decoded sizes {', '.join(f'{w}x{h}' for w, h in images)}")
    broken = [1 for w, h in images if int(w) == 0]
    print(f"broken images: {len(broken)}")
    print(f"screenshot: {Path(args.out).resolve()} ({Path(args.out).stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
