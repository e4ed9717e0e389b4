"""A headless Chromium driven through Debian's chromedriver with the W3C WebDriver protocol (JSON over
HTTP, standard library only: no selenium in the lock).

Why not `chromium --screenshot --virtual-time-budget`: Streamlit renders in the browser from messages on a
websocket, and virtual time does not wait for them, so the CLI captures the empty app skeleton. Through
WebDriver the test waits for the page's own title to be in the document, then for the app to stop running.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
)
INSTALL_HINT = (
    "Debian's chromium and chromium-driver are needed: "
    "apt-get install -y chromium chromium-driver (.ci/run installs them)"
)
# True while Streamlit is still running the script or drawing: its status widget, or element skeletons.
_BUSY_SCRIPT = (
    'return document.querySelector(\'[data-testid="stStatusWidget"], [data-testid="stSkeleton"], '
    '[data-testid="stAppSkeleton"]\') !== null'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing_browser() -> str | None:
    """Why the browser cannot run here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            return f"{path} not found. {INSTALL_HINT}"
    return None


@dataclass
class Browser:
    """One WebDriver session of headless Chromium."""

    endpoint: str
    session: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return _request(method, f"{self.endpoint}/session/{self.session}{path}", body)

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def script(self, source: str) -> Any:
        return self._call("POST", "/execute/sync", {"script": source, "args": []})

    def text(self) -> str:
        return str(self.script("return document.body ? document.body.innerText : ''"))

    def screenshot(self) -> bytes:
        return base64.b64decode(self._call("GET", "/screenshot"))

    def fit_to_content(self, width: int = 1400, settle_s: float = 1.0) -> None:
        """Grow the window to the height of the app's content, so the whole page is drawn: Streamlit
        scrolls inside its main area, and tables draw (and expose to the page) only their visible rows."""
        measure = (
            "const b = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
            "return b ? b.scrollHeight + 120 : 1000;"
        )
        height = 0
        for _ in range(3):  # a taller window can draw more (lazy tables): measure again until it holds
            needed = max(1000, int(self.script(measure)))
            if needed <= height:
                break
            height = needed
            self._call("POST", "/window/rect", {"width": width, "height": height})
            time.sleep(settle_s)  # the charts and tables redraw at the new size

    def reset_window(self, width: int = 1400) -> None:
        self._call("POST", "/window/rect", {"width": width, "height": 1000})

    def full_page_screenshot(self, width: int = 1400, settle_s: float = 1.0) -> bytes:
        """The whole page, not only the window (see `fit_to_content`)."""
        self.fit_to_content(width, settle_s)
        try:
            return self.screenshot()
        finally:
            self.reset_window(width)

    def element(self, script: str) -> str:
        """The WebDriver id of the element a script returns (`return document.querySelector(...)`)."""
        found = self.script(script)
        if not found:
            raise LookupError(f"no element for {script!r}")
        return str(next(iter(found.values())))

    def click(self, element: str) -> None:
        self._call("POST", f"/element/{element}/click", {})

    def type(self, element: str, text: str) -> None:
        self._call("POST", f"/element/{element}/value", {"text": text})

    def _selectbox_input(self, widget_label: str) -> str:
        """JavaScript that evaluates to the input of the selectbox labelled `widget_label` (or null)."""
        return (
            "(Array.from(document.querySelectorAll('[data-testid=\"stSelectbox\"]'))"
            f".find(b => b.querySelector('label')?.innerText.trim() === {json.dumps(widget_label)})"
            "?.querySelector('input') || null)"
        )

    def choose(self, widget_label: str, option: str) -> None:
        """Pick `option` (its shown text) in the selectbox labelled `widget_label`, as a user does: click
        the box, type the option's text, click the option in the list."""
        box = self.element(f"return {self._selectbox_input(widget_label)}")
        self.click(box)
        self.type(box, option)
        item = self.element(
            "return Array.from(document.querySelectorAll('[role=\"option\"]'))"
            f".find(o => o.innerText.trim() === {json.dumps(option)}) || null"
        )
        self.click(item)

    def selected(self, widget_label: str) -> str:
        """The text a selectbox shows as its current choice ('' when the box is not on the page)."""
        return str(self.script(f"const i = {self._selectbox_input(widget_label)}; return i ? i.value : '';"))

    def go_to(self, title: str) -> None:
        """Open a page through the sidebar menu (same session, so the choices made stay)."""
        link = self.element(
            "return Array.from(document.querySelectorAll('[data-testid=\"stSidebarNavLink\"]'))"
            f".find(a => a.innerText.trim().split('\\n').pop().trim() === {json.dumps(title)}) || null"
        )
        self.click(link)

    def main_text(self) -> str:
        """The text of the main area (the page, without the sidebar)."""
        return str(
            self.script(
                "const m = document.querySelector('[data-testid=\"stMain\"]'); return m ? m.innerText : '';"
            )
        )

    def requested_urls(self) -> list[str]:
        """The URLs the browser requested since the last call (Chromium's performance log)."""
        entries = _request("POST", f"{self.endpoint}/session/{self.session}/se/log", {"type": "performance"})
        urls = []
        for entry in entries or []:
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                urls.append(str(message["params"]["request"]["url"]))
        return urls

    def headings(self) -> str:
        """The text of the main area's h1 headings (the page title; the menu holds every title too)."""
        return str(
            self.script(
                "return Array.from(document.querySelectorAll('[data-testid=\"stMain\"] h1'))"
                ".map(e => e.innerText).join('\\n')"
            )
        )

    def wait_for_heading(self, expected: str, timeout_s: float = 60.0) -> float:
        """Wait until the page's heading says `expected` and the app has stopped running; return the
        seconds waited."""
        started = time.monotonic()
        settled = 0
        while time.monotonic() - started < timeout_s:
            if expected in self.headings() and not self.script(_BUSY_SCRIPT):
                settled += 1
                if settled >= 2:  # two quiet polls in a row: charts drawn, no rerun pending
                    return time.monotonic() - started
            else:
                settled = 0
            time.sleep(0.25)
        raise TimeoutError(
            f"heading {expected!r} not rendered within {timeout_s:.0f} s; page text: {self.text()[:500]!r}"
        )


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start chromedriver and a headless Chromium session; stop both afterwards."""
    port = free_port()
    driver = subprocess.Popen(
        [CHROMEDRIVER, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(endpoint)
        created = _request(
            "POST",
            f"{endpoint}/session",
            {
                "capabilities": {
                    "alwaysMatch": {
                        "browserName": "chrome",
                        "goog:chromeOptions": {"binary": CHROMIUM, "args": list(CHROME_ARGS)},
                        "goog:loggingPrefs": {"performance": "ALL"},  # the requests the page makes
                    }
                }
            },
        )
        browser = Browser(endpoint, created["sessionId"])
        try:
            yield browser
        finally:
            _request("DELETE", f"{endpoint}/session/{browser.session}")
    finally:
        driver.terminate()
        driver.wait(timeout=10)


def _wait_ready(endpoint: str, timeout_s: float = 20.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if _request("GET", f"{endpoint}/status").get("ready"):
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"chromedriver did not start within {timeout_s:.0f} s")


def _request(method: str, url: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 (http to the local chromedriver only)
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (local chromedriver)
            return json.loads(response.read() or b"{}").get("value")
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"WebDriver {method} {url}: {error.read()[:500]!r}") from None
