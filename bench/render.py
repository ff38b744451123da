"""Time to the first full render of the map page in headless Chromium, for several servers
side by side (e.g. the page before and after a change), interleaved round by round.

A render is full when the page's map exists, its camera is still and no request (page, API,
tile ranges, fonts) is in flight, and that lasts ``--settle`` seconds; the time reported is from
navigation start to the end of the last request before that quiet spell. (MapLibre's own
``map.loaded()`` and ``isStyleLoaded()`` stay false at the national view of the page before
issue 12 although every tile is drawn, so network quiet is the signal.) Each load uses a fresh
browser context (empty cache).

    .venv/bin/python bench/render.py --server before=http://127.0.0.1:8001 \\
        --server after=http://127.0.0.1:8002 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from common import machine, save, table
from playwright.sync_api import Browser, sync_playwright

VIEWS = {  # name → URL hash (quarter, zoom, centre), the views the issue names
    "china": "q=2019Q1&z=3.5&lon=104.5&lat=36.0",
    "hebei": "q=2019Q1&z=7&lon=115.5&lat=38.5",
    "handan": "q=2019Q1&z=10&lon=114.5&lat=36.6",
}
READY = """() => {
  const m = window.lantian && window.lantian.map;
  return Boolean(m && !m.isMoving());
}"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def time_to_render(browser: Browser, url: str, settle: float, timeout: float) -> float | None:
    """Seconds from navigation to a full, steady render; None when it never came."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    pending: set[Any] = set()
    last_done = [0.0]

    def done(request: Any) -> None:
        pending.discard(request)
        last_done[0] = time.perf_counter()

    page.on("request", lambda request: pending.add(request))
    page.on("requestfinished", done)
    page.on("requestfailed", done)
    try:
        start = time.perf_counter()
        page.goto(url, wait_until="commit")
        while time.perf_counter() - start < timeout:
            page.wait_for_timeout(50)
            quiet = time.perf_counter() - max(last_done[0], start)
            if not pending and quiet >= settle and page.evaluate(READY):
                return last_done[0] - start
        return None
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", action="append", required=True,
                        help="name=URL of a running lantian server (repeatable)")
    parser.add_argument("--views", default=",".join(VIEWS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    servers = dict(s.split("=", 1) for s in args.server)
    views = args.views.split(",")
    runs: list[dict[str, Any]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        for round_ in range(args.rounds):
            for view in views:
                for name, base in servers.items():
                    seconds = time_to_render(browser, f"{base}/#{VIEWS[view]}", args.settle,
                                             args.timeout)
                    runs.append({"round": round_, "view": view, "server": name,
                                 "seconds": seconds})
        browser.close()
    rows = []
    for view in views:
        row: list[str] = [view]
        for name in servers:
            times = [r["seconds"] for r in runs if r["view"] == view and r["server"] == name]
            done = [t for t in times if t is not None]
            median = f"{statistics.median(done):.2f}" if done else "—"
            row.append(median + (f" ({len(times) - len(done)} timed out)"
                                 if len(done) < len(times) else ""))
        rows.append(row)
    print(table(["view", *(f"{n}: median s" for n in servers)], rows))
    save("render", {"machine": machine(), "servers": servers, "views": VIEWS, "runs": runs,
                    "settle_s": args.settle, "timeout_s": args.timeout})


if __name__ == "__main__":
    main()
