#!/usr/bin/env python3
"""Check linreg's report.html in a real browser, with the network off.

Opens each given report.html from the file system in headless Chromium (Debian's
`chromium-headless-shell` or `chromium`), driven over the DevTools protocol on a pipe (standard
library only: no pip install, no websocket), and fails when:

- anything is logged as an error (console.error, an uncaught exception, a resource that failed),
- any request leaves the file system (any URL that is not file:, data:, blob: or about:),
- a figure did not render: every <figure data-figure> must hold a drawn plotly graph whose
  marker points, line traces and bars in the DOM equal the counts the page declares in its
  data-markers / data-lines / data-bars attributes (and, with --expect, counts given here),
- the figures did not render within --timeout seconds (the time they took is printed: it is
  a measurement for BENCHMARKS.md, not a pass/fail line, unless --max-seconds is given),
- the loss figure's "Log scale" button does not switch its axis to log scale, hovering a point
  shows no value, a real mouse click on a legend entry does not hide its series, or a real
  mouse drag across the first figure does not zoom it.

The network is off three ways: Chromium runs in a network namespace of its own when `unshare -n`
works (root), DevTools emulates an offline network, and a dead proxy catches anything left.

It saves a full-page screenshot of each report (--screenshot-dir, named after the report's
folder) and prints its path, so a person can look at what the browser drew; with --top-height
it also saves the top of the page (`-top.png`, scaled by --top-scale), as in the README.

Usage:
    python3 tools/check_report.py [--screenshot-dir DIR] [--expect fig-data:markers=50 ...]
        [--timeout 30] [--max-seconds S] [--top-height PX --top-scale F]
        REPORT.html [REPORT.html ...]
Exit status 0 when every report passes, 1 otherwise.
"""

import argparse
import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CANDIDATES = ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"]
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# What the page reports about each figure, evaluated in the page.
FIGURES_JS = r"""
(() => {
  const figures = [...document.querySelectorAll('figure[data-figure]')].map(f => {
    const gd = f.querySelector('.plotly-graph-div');
    const drawn = !!gd && gd.classList.contains('js-plotly-plot') && !!gd.querySelector('.main-svg');
    return {
      id: f.dataset.figure,
      expected: {markers: +f.dataset.markers, lines: +f.dataset.lines, bars: +f.dataset.bars},
      drawn,
      found: drawn ? {
        markers: gd.querySelectorAll('.scatterlayer .trace .points path.point').length,
        lines: gd.querySelectorAll('.scatterlayer .trace path.js-line').length,
        bars: gd.querySelectorAll('.barlayer .trace .point').length,
      } : null,
      legend: drawn ? gd.querySelectorAll('.legend .traces').length : 0,
      title: drawn ? (gd.querySelector('.gtitle') || {}).textContent || '' : '',
    };
  });
  return JSON.stringify({figures, now: performance.now(), ready: document.readyState});
})()
"""

# Clicks the loss figure's "Log scale" button, reads the axis type, clicks "Linear scale" back.
LOG_SWITCH_JS = r"""
(async () => {
  const gd = document.querySelector('figure[data-figure="fig-loss"] .plotly-graph-div');
  if (!gd) return JSON.stringify({skipped: true});
  const button = label => [...gd.querySelectorAll('.updatemenu-button')]
    .find(b => b.textContent.trim() === label);
  const click = async label => {
    const b = button(label);
    if (!b) return 'no button ' + label;
    b.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    await new Promise(r => setTimeout(r, 200));
    return gd._fullLayout.yaxis.type;
  };
  const log = await click('Log scale');
  const linear = await click('Linear scale');
  return JSON.stringify({log, linear});
})()
"""

# Hovers the first point of the first figure and reads the hover label.
HOVER_JS = r"""
(async () => {
  const gd = document.querySelector('figure[data-figure] .plotly-graph-div');
  Plotly.Fx.hover(gd, [{curveNumber: 0, pointNumber: 0}]);
  await new Promise(r => setTimeout(r, 100));
  const text = [...gd.querySelectorAll('.hoverlayer .hovertext')].map(t => t.textContent).join(' | ');
  Plotly.Fx.unhover(gd);
  return text;
})()
"""


# Leaves a hover label on a prediction, for the top-of-page screenshot.
SHOW_HOVER_JS = r"""
(async () => {
  const pred = document.querySelector('figure[data-figure="fig-predictions"] .plotly-graph-div');
  const gd = pred || document.querySelector('figure[data-figure] .plotly-graph-div');
  Plotly.Fx.hover(gd, [{curveNumber: pred ? 2 : 0, pointNumber: pred ? 4 : 0}]);
  await new Promise(r => setTimeout(r, 100));
  return true;
})()
"""


# Where the first figure's first legend entry and plot area are, in the viewport.
TARGETS_JS = r"""
(() => {
  const gd = document.querySelector('figure[data-figure] .plotly-graph-div');
  gd.scrollIntoView({block: 'center'});
  const box = el => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; };
  return JSON.stringify({
    legend: box(gd.querySelector('.legend .traces .legendtoggle')),
    plot: box(gd.querySelector('.nsewdrag')),
  });
})()
"""

FIRST_STATE_JS = r"""
(() => {
  const gd = document.querySelector('figure[data-figure] .plotly-graph-div');
  const x = gd._fullLayout.xaxis;
  return JSON.stringify({visible: gd._fullData[0].visible, autorange: x.autorange, range: x.range});
})()
"""

RESET_JS = r"""
(async () => {
  const gd = document.querySelector('figure[data-figure] .plotly-graph-div');
  await Plotly.relayout(gd, {'xaxis.autorange': true, 'yaxis.autorange': true});
  window.scrollTo(0, 0);
  return true;
})()
"""


def mouse(browser, session, kind, x, y, buttons):
    browser.send(
        "Input.dispatchMouseEvent",
        {"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons, "clickCount": 1},
        session,
    )


def clicks_and_drags(browser, session):
    """Real mouse input on the first figure: a legend click hides and shows a series, a drag
    zooms. Returns failures."""
    failures = []
    where = json.loads(evaluate(browser, session, TARGETS_JS))
    state = lambda: json.loads(evaluate(browser, session, FIRST_STATE_JS))
    legend = where["legend"]
    lx, ly = legend["x"] + legend["w"] / 2, legend["y"] + legend["h"] / 2
    seen = []
    for _ in range(2):
        mouse(browser, session, "mousePressed", lx, ly, 1)
        mouse(browser, session, "mouseReleased", lx, ly, 0)
        time.sleep(0.6)  # plotly waits out its double-click delay before toggling
        seen.append(state()["visible"])
    if seen != ["legendonly", True]:
        failures.append(f"clicking the first legend entry twice gave visibility {seen}")
    before = state()["range"]
    p = where["plot"]
    start = (p["x"] + p["w"] * 0.3, p["y"] + p["h"] * 0.3)
    end = (p["x"] + p["w"] * 0.6, p["y"] + p["h"] * 0.7)
    mouse(browser, session, "mousePressed", *start, 1)
    for i in range(1, 6):
        mouse(browser, session, "mouseMoved",
              start[0] + (end[0] - start[0]) * i / 5, start[1] + (end[1] - start[1]) * i / 5, 1)
    mouse(browser, session, "mouseReleased", *end, 0)
    time.sleep(0.3)
    after = state()
    zoomed = after["autorange"] is False and (after["range"][1] - after["range"][0]) < (
        before[1] - before[0]) * 0.6
    if not zoomed:
        failures.append(f"dragging across the first figure did not zoom it: {before} → {after}")
    evaluate(browser, session, RESET_JS)
    return failures


def find_chromium(explicit):
    if explicit:
        return explicit
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    sys.exit("check_report: no Chromium found; install Debian's chromium-headless-shell")


def _above(fd, lowest):
    """`fd` moved to a descriptor number of at least `lowest`."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, lowest)
    os.close(fd)
    return high


class Browser:
    """Chromium over --remote-debugging-pipe: NUL-separated JSON messages on fds 3 and 4."""

    def __init__(self, binary, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Chromium's ends become its fds 3 and 4 below: first move them out of the way.
        to_chrome_r, from_chrome_w = _above(to_chrome_r, 10), _above(from_chrome_w, 10)
        args = [
            binary,
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-quic",
            # Nothing may leave: a proxy that does not exist, and no name resolves.
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        prefix = []
        if shutil.which("unshare") and subprocess.run(
            ["unshare", "-n", "true"], stderr=subprocess.DEVNULL
        ).returncode == 0:
            prefix = ["unshare", "-n"]
        self.isolated = bool(prefix)
        # bash (dash takes single-digit fds only) moves our pipe ends to the fds Chromium reads (3) and writes (4).
        shell = f'exec "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-'
        self.proc = subprocess.Popen(
            ["bash", "-c", shell, "bash", *prefix, *args],
            pass_fds=(to_chrome_r, from_chrome_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.next_id = 0
        self.replies = {}
        self.events = queue.Queue()
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        self.stderr = self.proc.stderr.read().decode(errors="replace")

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                with self.lock:
                    self.replies[None] = "closed"
                    self.lock.notify_all()
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self.lock:
                        self.replies[message["id"]] = message
                        self.lock.notify_all()
                else:
                    self.events.put(message)

    def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.next_id not in self.replies:
                if None in self.replies:
                    time.sleep(0.5)
                    raise RuntimeError(
                        f"Chromium closed the pipe during {method}: {getattr(self, 'stderr', '')[-2000:]}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{method}: no answer in {timeout} s")
                self.lock.wait(left)
            reply = self.replies.pop(self.next_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def evaluate(browser, session, expression):
    result = browser.send(
        "Runtime.evaluate",
        {"expression": expression, "awaitPromise": True, "returnByValue": True},
        session,
    )
    if "exceptionDetails" in result:
        raise RuntimeError(f"in the page: {result['exceptionDetails']}")
    return result["result"].get("value")


def check(browser, report, args, shot_dir):
    """Loads one report; returns a list of failures (empty when it passes)."""
    failures, errors, requests, warnings = [], [], [], []
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ["Runtime", "Log", "Network", "Page"]:
        browser.send(f"{domain}.enable", session=session)
    # Durations in the renderer's CPU time, which a busy machine does not stretch.
    browser.send("Performance.enable", {"timeDomain": "threadTicks"}, session)
    browser.send(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        session,
    )
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session,
    )
    url = report.resolve().as_uri()
    start = time.monotonic()
    browser.send("Page.navigate", {"url": url}, session)

    def drain(wait=0.0):
        deadline = time.monotonic() + wait
        loaded = False
        while True:
            try:
                event = browser.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return loaded
            if event.get("sessionId") != session:
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
                if params["type"] in ("error", "assert"):
                    errors.append(f"console.{params['type']}: {text}")
                elif params["type"] == "warning":
                    warnings.append(text)
            elif method == "Runtime.exceptionThrown":
                d = params["exceptionDetails"]
                errors.append(f"uncaught: {d.get('exception', {}).get('description', d.get('text'))}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent":
                req = params["request"]["url"]
                if not req.startswith(LOCAL_SCHEMES):
                    requests.append(req)
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                errors.append(f"failed to load: {params.get('errorText')}")
            elif method == "Page.loadEventFired":
                loaded = True

    loaded = False
    while not loaded and time.monotonic() - start < args.timeout:
        loaded = drain(0.05)
    if not loaded:
        failures.append(f"the page did not finish loading in {args.timeout} s")

    state = None
    while time.monotonic() - start < args.timeout:
        state = json.loads(evaluate(browser, session, FIGURES_JS))
        if state["figures"] and all(f["drawn"] for f in state["figures"]):
            break
        time.sleep(0.025)
    seconds = time.monotonic() - start
    figures = state["figures"] if state else []
    page_ms = state["now"] if state else float("nan")

    if not figures:
        failures.append("no figures on the page")
    for f in figures:
        if not f["drawn"]:
            failures.append(f"{f['id']}: not drawn")
            continue
        for kind, n in f["expected"].items():
            if f["found"][kind] != n:
                failures.append(f"{f['id']}: {f['found'][kind]} {kind} drawn, the page declares {n}")
    by_id = {f["id"]: f for f in figures}
    for spec in args.expect:
        fid, _, rest = spec.partition(":")
        kind, _, n = rest.partition("=")
        found = by_id.get(fid, {}).get("found") or {}
        if found.get(kind) != int(n):
            failures.append(f"--expect {spec}: found {found.get(kind)}")
    if args.max_seconds is not None and seconds > args.max_seconds:
        failures.append(f"rendering took {seconds:.2f} s (limit {args.max_seconds} s)")

    perf = {
        m["name"]: m["value"]
        for m in browser.send("Performance.getMetrics", session=session)["metrics"]
    }

    switch = json.loads(evaluate(browser, session, LOG_SWITCH_JS))
    if not switch.get("skipped") and (switch.get("log"), switch.get("linear")) != ("log", "linear"):
        failures.append(f"the loss figure's scale buttons gave {switch}")
    hover = evaluate(browser, session, HOVER_JS)
    if not hover:
        failures.append("hovering the first point showed no label")
    failures += clicks_and_drags(browser, session)

    drain(0.3)  # events raised by the checks themselves
    failures += errors
    failures += [f"request left the file system: {r}" for r in requests]

    shot = shot_dir / (report.parent.name + "-report.png")
    metrics = browser.send("Page.getLayoutMetrics", session=session)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    png = browser.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
        session,
    )
    shot.write_bytes(base64.b64decode(png["data"]))
    shots = [shot]
    if args.top_height:
        # Show what hovering does: the label of one prediction (or the first figure's point).
        evaluate(browser, session, SHOW_HOVER_JS)
        top = shot.with_name(shot.stem + "-top.png")
        png = browser.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"],
                         "height": min(args.top_height, size["height"]), "scale": args.top_scale},
            },
            session,
        )
        top.write_bytes(base64.b64decode(png["data"]))
        shots.append(top)
    browser.send("Target.closeTarget", {"targetId": target})

    total_bytes = report.stat().st_size
    print(f"{report}: {len(figures)} figures, "
          + ", ".join(f"{f['id']} {f['found']}" for f in figures if f["drawn"]))
    print(f"   rendered in {seconds:.2f} s wall (page clock {page_ms:.0f} ms); main-thread CPU "
          f"{perf.get('TaskDuration', 0) * 1e3:.0f} ms (script {perf.get('ScriptDuration', 0) * 1e3:.0f}"
          f" ms, of which compiling {perf.get('V8CompileDuration', 0) * 1e3:.0f} ms; layout "
          f"{perf.get('LayoutDuration', 0) * 1e3:.0f} ms); renderer process CPU "
          f"{perf.get('ProcessTime', 0) * 1e3:.0f} ms")
    print(f"   "
          f"{len(errors)} console errors, {len(requests)} network requests, "
          f"{len(warnings)} warnings; {total_bytes / 1e6:.2f} MB; hover: {hover[:60]!r}")
    for path in shots:
        print(f"   screenshot: {path}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--screenshot-dir", type=Path, default=Path("target/report-check"))
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="fail when the figures have not rendered after this many seconds")
    parser.add_argument("--max-seconds", type=float,
                        help="also fail when rendering took longer (default: only report it)")
    parser.add_argument("--top-height", type=int, help="also save the page's top this high (px)")
    parser.add_argument("--top-scale", type=float, default=0.75)
    parser.add_argument("--expect", action="append", default=[],
                        help="FIGURE:KIND=N, e.g. fig-data:markers=50 (KIND: markers, lines, bars)")
    parser.add_argument("--chromium", help="the browser binary (default: found on PATH)")
    args = parser.parse_args()
    args.screenshot_dir.mkdir(parents=True, exist_ok=True)
    binary = find_chromium(args.chromium)
    failed = False
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(binary, profile)
        try:
            print(f"check_report: {binary}, "
                  + ("in its own network namespace" if browser.isolated else "network emulated offline")
                  + f"; {browser.send('Browser.getVersion')['product']}")
            for report in args.reports:
                if not report.is_file():
                    print(f"FAIL {report}: no such file")
                    failed = True
                    continue
                for failure in check(browser, report, args, args.screenshot_dir):
                    print(f"FAIL {report}: {failure}")
                    failed = True
        finally:
            browser.close()
    print("check_report: " + ("FAILED" if failed else "all reports passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
