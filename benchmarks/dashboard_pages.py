"""Screenshots of every dashboard page in both languages, and the time each page takes on a warm server.

Builds the state with `cofre run --scale S` in a temporary directory (or reuses `--home DIR`), starts
`streamlit run` exactly as `cofre dashboard` does, and drives one headless Chromium session as a user does:
the overview first, then every page through the sidebar menu, in Portuguese, then again after switching to
English. Each language is walked twice: the first walk fills the server's result cache (cold queries), the
second is the warm figure. A page's time runs from the click on its menu link until its title is drawn, the
app has stopped running (Streamlit's status widget and element skeletons gone, no element of the previous
page left stale) and the number of drawn elements has held for four polls 50 ms apart (the time of the
first of those polls is reported).
Screenshots are taken on the warm walk, after the page has settled.

Usage:  .venv/bin/python benchmarks/dashboard_pages.py [--scale 1] [--home DIR] [--out docs/dashboard]
Prints a Markdown table for docs/benchmarks.md; writes OUT/<language>/<page>.png.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the browser helper lives with the dashboard's tests

from benchmarks.pipeline import cofre_run  # noqa: E402
from dashboard.i18n import LANGUAGE_NAMES, Language, label  # noqa: E402
from dashboard.navigation import PAGES  # noqa: E402
from orchestration.cli.commands.dashboard import streamlit_command, streamlit_environment  # noqa: E402
from orchestration.settings import Settings  # noqa: E402
from tests.dashboard.browser import _BUSY_SCRIPT, Browser, chromium, free_port  # noqa: E402

LANGUAGE_BOX = "Idioma · Language"


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310 (localhost)
            return bool(response.status == 200)
    except OSError:
        return False


# The page is done when its title is there, Streamlit shows no running status or skeleton, no element of
# the previous run is still marked stale, and the number of elements has held for STABLE_POLLS polls.
_STATE = (
    "return [document.querySelectorAll('[data-testid=\"stElementContainer\"]').length,"
    " document.querySelectorAll('[data-stale=\"true\"]').length]"
)
STABLE_POLLS = 4
POLL_S = 0.05


def page_seconds(browser: Browser, title: str, timeout_s: float = 120.0) -> float:
    """Click the menu link of `title`; seconds until the page is drawn and settled (the first poll of the
    final stable streak, so the streak's own length is not counted)."""
    started = time.perf_counter()
    browser.go_to(title)
    streak: list[tuple[float, int]] = []
    while time.perf_counter() - started < timeout_s:
        now = time.perf_counter() - started
        elements, stale = browser.script(_STATE)
        done = title in browser.headings() and not browser.script(_BUSY_SCRIPT) and not stale
        if done and streak and streak[-1][1] == elements:
            streak.append((now, elements))
        else:
            streak = [(now, elements)] if done else []
        if len(streak) >= STABLE_POLLS:
            return streak[0][0]
        time.sleep(POLL_S)
    raise TimeoutError(f"{title!r} not drawn within {timeout_s:.0f} s")


def walk(browser: Browser, language: Language, out: Path | None) -> dict[str, float]:
    """Every page once through the menu; with `out`, a screenshot of each after it settled."""
    seconds = {}
    for page in PAGES:
        title = label(page.title_key, language)
        seconds[page.url_path] = page_seconds(browser, title)
        if out is not None:
            browser.wait_for_heading(title)
            (out / language).mkdir(parents=True, exist_ok=True)
            (out / language / f"{page.url_path}.png").write_bytes(browser.full_page_screenshot())
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--home", type=Path, help="reuse a state directory built by `cofre run`")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cofre-dashboard-pages-"))
    home = options.home
    if home is None:
        home = work / "home"
        print(
            f"cofre run --scale {options.scale:g}: {cofre_run(options.scale, home, work / 'airflow'):.0f} s"
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        streamlit_command(port),
        env=streamlit_environment(Settings(home=home)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not healthy(url):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("streamlit did not start")
            time.sleep(0.2)
        results: dict[Language, tuple[dict[str, float], dict[str, float]]] = {}
        with chromium() as browser:
            browser.open(url + "/")
            browser.wait_for_heading(label(PAGES[0].title_key, "pt"))
            for language in ("pt", "en"):
                if language != "pt":
                    browser.choose(LANGUAGE_BOX, LANGUAGE_NAMES[language])
                    browser.wait_for_heading(label(PAGES[-1].title_key, language))  # the walk's last page
                first = walk(browser, language, None)
                results[language] = (first, walk(browser, language, options.out))
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"\n{platform.platform()}, Python {platform.python_version()}, state {home}\n")
    print("| page | pt first visit (s) | pt warm (s) | en first visit (s) | en warm (s) |")
    print("|---|---:|---:|---:|---:|")
    for page in PAGES:
        pt_first, pt_warm = results["pt"][0][page.url_path], results["pt"][1][page.url_path]
        en_first, en_warm = results["en"][0][page.url_path], results["en"][1][page.url_path]
        figures = " | ".join(f"{v:.2f}" for v in (pt_first, pt_warm, en_first, en_warm))
        print(f"| {label(page.title_key, 'en')} | {figures} |")
    print(f"\nScreenshots: {options.out}/<pt|en>/<page>.png")


if __name__ == "__main__":
    main()
