"""The dashboard on real data: one real pipeline run (scale 0.01) per module, read by Streamlit's AppTest
and by a headless Chromium against `streamlit run`, started exactly as `cofre dashboard` starts it.

Screenshots land in test-artifacts/dashboard/ (git-ignored, removed by `make clean`).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard import queries
from dashboard.data import driver_sql
from dashboard.formatting import number, stamp
from dashboard.i18n import LABELS, Language, label, value_label
from dashboard.navigation import APP_DIR, APP_SCRIPT, PAGES, PageSpec
from dashboard.page import filter_key
from orchestration.cli.commands.dashboard import (
    settings_environment,
    streamlit_command,
    streamlit_environment,
)
from orchestration.settings import Settings
from tests.dashboard.browser import Browser, chromium, free_port, missing_browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
PERIOD = (date(2017, 4, 1), date(2017, 12, 31))
"""A period inside the generated data whose previous period of equal length (2016-06-30..2017-03-31) has
orders in every state the test filters on."""


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory built by the real pipeline: published marts, gold and ops files."""
    home = tmp_path_factory.mktemp("dashboard-state")
    env = {**os.environ, "COFRE_HOME": str(home)}
    cofre = str(Path(sys.executable).with_name("cofre"))
    run = subprocess.run(
        [cofre, "run", "--scale", "0.01", "--seed", "7"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, f"cofre run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return home


def app_test(home: Path, monkeypatch: pytest.MonkeyPatch, language: str = "pt") -> AppTest:
    """The app as a user first opens it, on the state directory `home`."""
    monkeypatch.setenv("COFRE_HOME", str(home))
    at = AppTest.from_file(str(APP_SCRIPT), default_timeout=120)
    at.run()
    if language != "pt":
        at.sidebar.selectbox(key="cofre_language").set_value(language).run()
    return at


def assert_clean(at: AppTest, page: str) -> None:
    assert not at.exception, f"{page}: {[e.value for e in at.exception]}"
    assert not at.error, f"{page}: {[e.value for e in at.error]}"


@pytest.mark.integration
def test_every_page_renders_on_real_data(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_test(state_dir, monkeypatch)
    for page in PAGES:
        at.switch_page(page.script).run()
        assert_clean(at, page.url_path)
        assert [t.value for t in at.title] == [label(page.title_key, "pt")]
        infos = " ".join(i.value for i in at.info)
        assert "cofre run" not in infos, f"{page.url_path} shows an empty state on a built state dir: {infos}"
        if page.url_path == "weather":  # the latest observation of each of the 27 capitals
            assert len(at.dataframe[0].value) == 27
        elif page.url_path != "operations":
            assert at.dataframe or at.metric, f"{page.url_path} shows no table or figure"


@pytest.mark.integration
def test_operations_page_shows_the_run_and_the_audit_check(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = next(state_dir.joinpath("runs").glob("*.json")).stem
    at = app_test(state_dir, monkeypatch, language="en")
    at.switch_page("views/operations.py").run()
    assert_clean(at, "operations")
    runs = at.dataframe[0].value
    assert run_id in set(runs["run_id"]) and set(runs["status_shown"]) == {"succeeded"}
    assert [s.value for s in at.success] == [
        f"Intact: {number(events, 'en')} events verified at {stamp(checked_at, 'en')}."
        for events, checked_at in audit_check(state_dir)
    ]
    gates = at.dataframe[-1].value
    assert value_label("status", "success", "en") in set(gates["outcome"])
    assert "Privacy: k-anonymity (DuckDB)" in set(gates["gate"])
    # The privacy gate of the run, as published in ops.privacy_checks: k per quasi-identifier set.
    privacy = at.dataframe[-2].value
    assert sorted(zip(privacy["table"], privacy["k"], strict=True)) == sorted(
        (name, number(k, "en")) for name, k in privacy_checks(state_dir)
    )
    assert "Orders + Customers" in set(privacy["table"])
    assert set(privacy["outcome"]) == {value_label("status", "success", "en")}


def privacy_checks(home: Path) -> list[tuple[str, int]]:
    """The privacy gate's k per published table, read directly from the published ops file."""
    names = {"dim_customer": "Customers", "dim_seller": "Sellers", "fct_orders": "Orders"}
    names |= {"fct_order_items": "Order items", "fct_payments": "Payments", "fct_reviews": "Reviews"}
    with duckdb.connect(str(Settings(home=home).published_ops_path), read_only=True) as con:
        rows = con.execute("select table_name, k from privacy_checks").fetchall()
    return [(" + ".join(names[p.strip()] for p in str(t).split("⋈")), int(k)) for t, k in rows]


def audit_check(home: Path) -> list[tuple[int, str]]:
    """The audit verification the run published, read directly from the published ops file."""
    with duckdb.connect(str(Settings(home=home).published_ops_path), read_only=True) as con:
        row = con.execute("select events, checked_at from audit_checks").fetchone()
    assert row is not None
    return [(int(row[0]), str(row[1]))]


def warehouse_kpis(
    home: Path, start: date, end: date, state: str | None, category: str | None
) -> dict[str, float]:
    """The overview's figures computed independently (pandas over two plain reads of the pipeline's own
    warehouse file), by their definitions: GMV is price + freight of the items (of the category) of the
    orders placed in the period (in the state, with an item of the category)."""
    with duckdb.connect(str(Settings(home=home).warehouse_path), read_only=True) as con:
        orders = con.execute(
            "select o.order_id, o.purchase_date, o.is_late, o.review_score, c.customer_unique_token, "
            "c.state_code from marts.fct_orders o left join marts.dim_customer c using (customer_key)"
        ).df()
        items = con.execute(
            "select i.order_id, i.price + i.freight_value as value, p.category_name_en "
            "from marts.fct_order_items i left join marts.dim_product p using (product_key)"
        ).df()
    placed = pd.to_datetime(orders["purchase_date"])
    orders = orders[(placed >= pd.Timestamp(start)) & (placed <= pd.Timestamp(end))]
    if state is not None:
        orders = orders[orders["state_code"] == state]
    if category is not None:
        items = items[items["category_name_en"] == category]
        orders = orders[orders["order_id"].isin(items["order_id"])]
    items = items[items["order_id"].isin(orders["order_id"])]
    delivered = orders["is_late"].dropna().astype(bool)
    gmv = float(items["value"].sum())
    return {
        "GMV": gmv,
        "Orders": float(len(orders)),
        "Average ticket": gmv / items["order_id"].nunique(),
        "Customers": float(orders["customer_unique_token"].nunique()),
        "On-time delivery": float((~delivered).mean() * 100),
        "Average review": float(orders["review_score"].dropna().mean()),
    }


def shown_number(text: str) -> float:
    """A figure as the English overview prints it: 'R$ 1,234.56', '92.3 %', '4.05'."""
    return float(re.sub(r"[^0-9.\-]", "", text))


@pytest.mark.integration
@pytest.mark.parametrize(("state", "category"), [(None, None), ("SP", None), (None, "health_beauty")])
def test_overview_kpis_equal_the_warehouse(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, state: str | None, category: str | None
) -> None:
    at = app_test(state_dir, monkeypatch, language="en")
    at.sidebar.date_input(key=filter_key("period", "en")).set_value(PERIOD).run()
    for name, choice in (("state", state), ("category", category)):
        if choice is not None:  # the options are stable values (a state code, an English category key)
            at.sidebar.selectbox(key=filter_key(name, "en")).set_value(choice).run()
    assert_clean(at, "overview")
    shown = {m.label: m for m in at.metric}
    now = warehouse_kpis(state_dir, *PERIOD, state, category)
    length = PERIOD[1] - PERIOD[0] + timedelta(days=1)
    before = warehouse_kpis(state_dir, PERIOD[0] - length, PERIOD[0] - timedelta(days=1), state, category)
    decimals = {"GMV": 2, "Average ticket": 2, "On-time delivery": 1, "Average review": 2}
    assert set(shown) == set(now)
    for name, expected in now.items():
        places = decimals.get(name, 0)
        assert shown_number(shown[name].value) == pytest.approx(round(expected, places), abs=10**-places), (
            name
        )
        change = (expected - before[name]) / before[name] * 100
        assert shown_number(shown[name].delta) == pytest.approx(round(change, 1), abs=0.1), name


@pytest.mark.integration
def test_the_overview_opens_on_the_last_12_months_with_a_comparison(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_test(state_dir, monkeypatch, language="en")
    with duckdb.connect(str(Settings(home=state_dir).warehouse_path), read_only=True) as con:
        row = con.execute("select max(purchase_date) from marts.fct_orders").fetchone()
    assert row is not None
    newest = row[0]
    assert at.sidebar.date_input(key=filter_key("period", "en")).value == (
        newest - timedelta(days=364),
        newest,
    )
    assert at.metric and all(m.delta for m in at.metric), [(m.label, m.delta) for m in at.metric]


def test_every_page_shows_an_empty_state_before_the_first_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_test(tmp_path, monkeypatch)
    for page in PAGES:
        at.switch_page(page.script).run()
        assert_clean(at, page.url_path)
        infos = " ".join(i.value for i in at.info)
        assert "cofre run" in infos, f"{page.url_path}: {infos!r}"
    assert not any(tmp_path.iterdir()), "the dashboard wrote into the state directory"


def test_a_failing_page_shows_a_short_message_not_a_stack_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = Settings(home=tmp_path).published_path
    published.parent.mkdir(parents=True)
    published.write_bytes(b"not a DuckDB file: a damaged copy")
    at = app_test(tmp_path, monkeypatch)
    for page in PAGES:
        at.switch_page(page.script).run()
        assert not at.exception, page.url_path
        (message,) = [e.value for e in at.error]
        assert message.startswith("Não foi possível carregar esta página (") and "Traceback" not in message


def test_every_label_exists_in_both_languages_with_the_same_placeholders() -> None:
    for key, (pt, en) in LABELS.items():
        assert pt and en, key
        assert set(re.findall(r"{(\w+)}", pt)) == set(re.findall(r"{(\w+)}", en)), key
    assert {page.title_key for page in PAGES} <= set(LABELS)


def test_queries_bind_parameters_in_each_drivers_style() -> None:
    sql = "select cast(x as date) from t where a = :start and (:state is null or s = :state) and u = '10:30'"
    assert driver_sql(sql, "duckdb").count("$state") == 2
    assert driver_sql(sql, "postgres") == (
        "select cast(x as date) from t where a = %(start)s and (%(state)s is null or s = %(state)s) "
        "and u = '10:30'"
    )


def test_the_app_receives_the_commands_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(home=tmp_path, target="postgres", pg_port=5433, scale=0.5)
    for name, value in settings_environment(settings).items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings


# ---- headless Chromium against `streamlit run` -----------------------------------------------------------


@pytest.fixture(scope="module")
def served_app(state_dir: Path) -> Iterator[str]:
    """`streamlit run dashboard/app.py` as `cofre dashboard` starts it, on a free port; its base URL."""
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "streamlit.log").open("w")
    server = subprocess.Popen(
        streamlit_command(port),
        env=streamlit_environment(Settings(home=state_dir)),
        cwd=state_dir,  # the app's config must not depend on where it is started from
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"streamlit exited; see {ARTIFACTS / 'streamlit.log'}"
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "streamlit did not answer /_stcore/health in 60 s"
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    problem = missing_browser()
    if problem:
        pytest.fail(problem)
    with chromium() as session:
        yield session


SIDEBAR_PX = 320
"""The sidebar's width in the 1400 px wide window: the non-blank check looks at the page, right of it."""


def non_blank(png: Path) -> tuple[int, float]:
    """Distinct colours and the share of pixels that are not (near) white, in the main area."""
    pixels = np.asarray(Image.open(png).convert("RGB"))[:, SIDEBAR_PX:].reshape(-1, 3)
    return len(np.unique(pixels, axis=0)), float((pixels.min(axis=1) < 235).mean())


@pytest.mark.integration
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.url_path)
def test_chromium_renders_every_page(served_app: str, browser: Browser, page: PageSpec) -> None:
    browser.open(served_app + page.browser_path)
    browser.wait_for_heading(label(page.title_key, "pt"))
    assert label("page_error", "pt", kind="").split("(")[0] not in browser.text()
    shot = ARTIFACTS / f"{page.url_path}.png"
    shot.write_bytes(browser.screenshot())
    colours, inked = non_blank(shot)
    # Measured: a page showing only its title is ~0.4 % inked; the emptiest real page
    # ~1.5 %; a solid colour has 1 colour.
    assert colours > 100 and inked > 0.01, f"{shot} looks blank: {colours} colours, {inked:.1%} inked"


@pytest.mark.integration
def test_the_screenshots_cover_every_page_of_the_apps_navigation(served_app: str, browser: Browser) -> None:
    """The navigation as the running app draws it (its menu links) is exactly the list the screenshot
    test walks, and every page script of the app is in it."""
    browser.open(served_app + "/")
    browser.wait_for_heading(label(PAGES[0].title_key, "pt"))
    hrefs = browser.script(
        "return Array.from(document.querySelectorAll('[data-testid=\"stSidebarNavLink\"]'))"
        ".map(a => new URL(a.href).pathname)"
    )
    assert sorted(hrefs) == sorted(page.browser_path for page in PAGES)
    scripts = {str(p.relative_to(APP_DIR)) for p in APP_DIR.glob("views/*.py") if p.name != "__init__.py"}
    assert scripts == {page.script for page in PAGES}


# ---- both languages, as rendered ---------------------------------------------------------------------------

SLUG = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
"""A raw code (cama_mesa_banho, at_risk, ingest_olist): never shown to a user."""
MONEY = {
    "pt": re.compile(r"R\$\u00a0\d{1,3}(?:\.\d{3})*,\d{2}\b"),
    "en": re.compile(r"R\$\d{1,3}(?:,\d{3})*\.\d{2}\b"),
}
WRONG_NUMBER = {
    # grouping or decimals of the other language, or a long number without grouping ("34611.37")
    "pt": re.compile(r"\b\d{1,3}(?:,\d{3})+(?:\.\d+)?\b|\b\d{4,}[.,]\d{1,2}\b|\d\.\d{1,2}\s?%"),
    "en": re.compile(r"\b\d{1,3}(?:\.\d{3})+(?:,\d+)?\b|\b\d{4,}[.,]\d{1,2}\b|\d,\d{1,2}\s?%"),
}
MONEY_PAGES = {"overview", "sales", "categories", "geography", "sellers", "customers"}


def other_language_labels(language: Language) -> set[str]:
    """Texts that exist only in the other language (a label, a category, a segment, a status...)."""
    from dashboard.category_names import CATEGORY_NAMES
    from dashboard.i18n import VALUES

    pairs = [*LABELS.values(), *CATEGORY_NAMES.values(), *(p for d in VALUES.values() for p in d.values())]
    mine = {pair[0 if language == "pt" else 1] for pair in pairs}
    theirs = {pair[1 if language == "pt" else 0] for pair in pairs}
    return {text for text in theirs - mine if "{" not in text and len(text) >= 4}


def assert_rendered_in(language: Language, page: str, text: str, cells: list[str]) -> None:
    """What a user reads on one page, in one language: no raw code, no None, no text of the other
    language, numbers written the language's way."""
    lines = {line.strip() for line in text.splitlines()} | {cell.strip() for cell in cells}
    everything = text + "\n" + "\n".join(cells)
    assert not SLUG.findall(everything), f"{language} {page}: raw codes {set(SLUG.findall(everything))}"
    assert not {"None", "nan", "NaN", "null"} & lines, f"{language} {page}: a missing value shown raw"
    foreign = lines & other_language_labels(language)
    assert not foreign, f"{language} {page}: text of the other language {foreign}"
    wrong = WRONG_NUMBER[language].findall(everything)
    assert not wrong, f"{language} {page}: numbers not written the {language} way: {wrong[:5]}"
    if page in MONEY_PAGES:
        assert MONEY[language].search(everything), (
            f"{language} {page}: no amount in reais formatted for {language}"
        )


def dataframe_cells(at: AppTest) -> list[str]:
    return [str(v) for frame in at.dataframe for v in frame.value.to_numpy().ravel().tolist()]


@pytest.mark.integration
@pytest.mark.parametrize("language", ["pt", "en"])
def test_every_page_speaks_one_language_with_its_number_formats(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, language: Language
) -> None:
    """Every cell of every table, every metric and caption (what AppTest sees is what the browser gets)."""
    at = app_test(state_dir, monkeypatch, language=language)
    for page in PAGES:
        at.switch_page(page.script).run()
        assert_clean(at, page.url_path)
        texts = [m.label for m in at.metric] + [m.value for m in at.metric] + [c.value for c in at.caption]
        texts += [h.value for h in at.subheader] + [i.value for i in at.info]
        assert_rendered_in(language, page.url_path, "\n".join(texts), dataframe_cells(at))


@pytest.mark.integration
def test_filters_survive_a_language_switch_and_a_page_change(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_test(state_dir, monkeypatch)
    at.sidebar.selectbox(key=filter_key("state", "pt")).set_value("SP").run()
    at.sidebar.selectbox(key=filter_key("category", "pt")).set_value("health_beauty").run()
    at.sidebar.selectbox(key="cofre_language").set_value("en").run()
    for script in ("views/overview.py", "views/categories.py", "views/geography.py"):
        at.switch_page(script).run()
        assert at.sidebar.selectbox(key=filter_key("state", "en")).value == "SP", script
        assert at.sidebar.selectbox(key=filter_key("category", "en")).value == "health_beauty", script
    at.switch_page("views/customers.py").run()  # a page without these filters: the choice waits
    at.sidebar.selectbox(key="cofre_language").set_value("pt").run()
    at.switch_page("views/overview.py").run()
    assert at.sidebar.selectbox(key=filter_key("state", "pt")).value == "SP"
    assert at.sidebar.selectbox(key=filter_key("category", "pt")).value == "health_beauty"


@pytest.mark.integration
def test_bought_together_lists_only_pairs_above_chance_with_minimum_support(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard.queries import MIN_PAIR_ORDERS

    at = app_test(state_dir, monkeypatch, language="en")
    at.switch_page("views/categories.py").run()
    assert_clean(at, "categories")
    with duckdb.connect(str(Settings(home=state_dir).published_path), read_only=True) as con:
        row = con.execute(
            "select count(*) from gold.category_cooccurrence where lift > 1 and orders_together >= ?",
            [MIN_PAIR_ORDERS],
        ).fetchone()
    assert row is not None
    if row[0] == 0:
        assert label("no_pairs", "en") in [i.value for i in at.info]
        return
    pairs = at.dataframe[-1].value
    lifts = [float(v) for v in pairs["lift"]]
    assert lifts == sorted(lifts, reverse=True) and min(lifts) > 1
    assert min(int(v.replace(",", "")) for v in pairs["orders_together"]) >= MIN_PAIR_ORDERS


def test_the_map_has_the_27_states_where_they_are() -> None:
    """The shipped boundaries (Natural Earth, simplified): one feature per state, keyed by the codes the
    marts use, closed rings inside Brazil's extent, and states where they are (their rings' mean point
    within 2.5 degrees of the capital for the states compact enough for that to hold)."""
    import json

    from dashboard.charts import BRAZIL_STATES_FILE, BRAZIL_STATES_URL
    from ingestion.olist_schema import BRAZILIAN_STATES

    collection = json.loads(BRAZIL_STATES_FILE.read_text(encoding="utf-8"))
    features = {f["id"]: f for f in collection["features"]}
    assert sorted(features) == sorted(BRAZILIAN_STATES)
    capitals = {
        "SP": (-46.6, -23.5), "RJ": (-43.2, -22.9), "SC": (-48.5, -27.6), "SE": (-37.1, -10.9),
        "AL": (-35.7, -9.7), "DF": (-47.9, -15.8), "ES": (-40.3, -20.3), "RN": (-35.2, -5.8),
    }  # fmt: skip
    for code, feature in features.items():
        assert feature["geometry"]["type"] == "MultiPolygon", code
        points = [p for polygon in feature["geometry"]["coordinates"] for ring in polygon for p in ring]
        for polygon in feature["geometry"]["coordinates"]:
            for ring in polygon:
                assert ring[0] == ring[-1] and len(ring) >= 4, code
        assert all(-74.5 <= x <= -28.5 and -34 <= y <= 5.5 for x, y in points), code
        if code in capitals:
            mean = (sum(x for x, _ in points) / len(points), sum(y for _, y in points) / len(points))
            assert abs(mean[0] - capitals[code][0]) < 2.5 and abs(mean[1] - capitals[code][1]) < 2.5, code
    assert BRAZIL_STATES_FILE.stat().st_size < 100_000
    assert "app/static/" + BRAZIL_STATES_FILE.name == BRAZIL_STATES_URL  # served by the app itself


def test_incomplete_months_and_gaps() -> None:
    """A month cut by the period or the data, or with a handful of orders, is incomplete; a month with no
    order keeps its place as a gap (a null value that starts a new line segment)."""
    from dashboard.periods import complete_months, month_starts, monthly_series

    history = pd.DataFrame(
        {
            "month": [date(2018, m, 1) for m in (5, 6, 7, 8, 10)],
            "orders": [600, 650, 620, 640, 1],  # 2018-09: none; 2018-10: one order
        }
    )
    start, end = date(2018, 5, 15), date(2018, 10, 17)
    complete = complete_months(start, end, date(2016, 9, 4), date(2018, 10, 17), history)
    assert complete == {
        date(2018, 5, 1): False,  # the period starts mid-month
        date(2018, 6, 1): True,
        date(2018, 7, 1): True,
        date(2018, 8, 1): True,
        date(2018, 9, 1): False,  # no order
        date(2018, 10, 1): False,  # one order, and the data ends mid-month
    }
    series = monthly_series(history, month_starts(start, end), complete, "orders")
    assert len(series) == 6 and series["value"].isna().tolist() == [False, False, False, False, True, False]
    assert series["segment"].iloc[5] != series["segment"].iloc[3]  # the line does not jump the gap


def _published_kpis(home: Path, start: date, end: date) -> dict[str, float]:
    """The overview's six figures by plain SQL on the published marts file (no state, no category)."""
    sql = """
        with o as (
            select o.order_id, o.is_late, o.review_score, c.customer_unique_token
            from marts.fct_orders o left join marts.dim_customer c on c.customer_key = o.customer_key
            where o.purchase_date between ? and ?
        ),
        i as (select i.order_id, i.price + i.freight_value as value from marts.fct_order_items i
              where i.order_id in (select order_id from o))
        select
            (select sum(value) from i),
            (select count(*) from o),
            (select sum(value) / count(distinct order_id) from i),
            (select count(distinct customer_unique_token) from o),
            (select 100.0 * avg(case when is_late then 0 else 1 end) from o where is_late is not null),
            (select avg(review_score) from o)
    """
    with duckdb.connect(str(Settings(home=home).published_path), read_only=True) as con:
        row = con.execute(sql, [start, end]).fetchone()
    assert row is not None
    names = ("GMV", "Orders", "Average ticket", "Customers", "On-time delivery", "Average review")
    return dict(zip(names, (float(v) for v in row), strict=True))


def metric_texts(browser: Browser) -> dict[str, str]:
    """The overview's cards as the browser shows them: label -> value."""
    found = browser.script(
        "return Array.from(document.querySelectorAll('[data-testid=\"stMetric\"]')).map(m => ["
        "m.querySelector('[data-testid=\"stMetricLabel\"]').innerText.trim(),"
        "m.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim()])"
    )
    return {label: value for label, value in found}


def table_cells(browser: Browser) -> list[str]:
    """The cells the tables draw (the grid keeps an accessible copy of its visible rows in the page)."""
    return list(
        browser.script(
            'return Array.from(document.querySelectorAll(\'[data-testid="stDataFrame"] td, '
            '[data-testid="stDataFrame"] th\')).map(e => e.innerText)'
        )
    )


@pytest.mark.integration
@pytest.mark.parametrize("language", ["pt", "en"])
def test_chromium_every_page_in_each_language(
    served_app: str, browser: Browser, state_dir: Path, language: Language
) -> None:
    """Each page opened through the menu as a user does, in one language: the rendered text (headings,
    cards, captions, chart axes, table cells) holds no raw code, no None, no text of the other language,
    and numbers written that language's way; the overview's cards equal SQL on the published file."""
    browser.open(served_app + "/")
    browser.wait_for_heading(label("page_overview", "pt"))
    if language == "en":
        browser.choose("Idioma · Language", "English")
        browser.wait_for_heading(label("page_overview", "en"))
    for page in PAGES:
        title = label(page.title_key, language)
        browser.go_to(title)
        browser.wait_for_heading(title)
        browser.fit_to_content()  # every table row and chart drawn, so all of it can be read
        text = browser.main_text()
        assert label("page_error", language, kind="").split("(")[0] not in text
        assert_rendered_in(language, page.url_path, text, table_cells(browser))
        (ARTIFACTS / language).mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / language / f"{page.url_path}.png").write_bytes(browser.screenshot())
        browser.reset_window()
    browser.go_to(label("page_overview", language))
    browser.wait_for_heading(label("page_overview", language))
    # Nothing from the internet: no map tiles, fonts or icons; the map's shapes come from the app itself.
    requested = browser.requested_urls()
    assert any(url.endswith("/app/static/brazil_states.geojson") for url in requested)
    outside = {url for url in requested if not url.startswith((served_app, "data:", "blob:"))}
    assert not outside, f"requests that leave the dashboard: {sorted(outside)[:5]}"
    if language == "en":
        with duckdb.connect(str(Settings(home=state_dir).published_path), read_only=True) as con:
            row = con.execute("select max(purchase_date) from marts.fct_orders").fetchone()
        assert row is not None
        expected = _published_kpis(state_dir, row[0] - timedelta(days=364), row[0])
        shown = metric_texts(browser)
        decimals = {"GMV": 2, "Average ticket": 2, "On-time delivery": 1, "Average review": 2}
        assert set(shown) == set(expected)
        for name, value in expected.items():
            places = decimals.get(name, 0)
            assert shown_number(shown[name]) == pytest.approx(round(value, places), abs=10**-places), name


@pytest.mark.integration
def test_chromium_keeps_the_filters_across_a_language_switch(served_app: str, browser: Browser) -> None:
    browser.open(served_app + "/")
    browser.wait_for_heading(label("page_overview", "pt"))
    browser.choose(label("state", "pt"), "SP · São Paulo")
    browser.wait_for_heading(label("page_overview", "pt"))
    browser.choose(label("category", "pt"), "Beleza e saúde")
    browser.wait_for_heading(label("page_overview", "pt"))
    browser.choose("Idioma · Language", "English")
    browser.wait_for_heading(label("page_overview", "en"))
    assert browser.selected(label("state", "en")) == "SP · São Paulo"
    assert browser.selected(label("category", "en")) == "Health and beauty"
    for page in ("page_categories", "page_geography"):
        browser.go_to(label(page, "en"))
        browser.wait_for_heading(label(page, "en"))
        assert browser.selected(label("state", "en")) == "SP · São Paulo", page
        assert browser.selected(label("category", "en")) == "Health and beauty", page
    browser.choose("Idioma · Language", "Português")
    browser.wait_for_heading(label("page_geography", "pt"))
    assert browser.selected(label("category", "pt")) == "Beleza e saúde"


# ---- the same app on PostgreSQL, through the read-only role ----------------------------------------------

PG_TYPES = {"VARCHAR": "text", "DOUBLE": "double precision", "JSON": "jsonb"}


def copy_published_to_postgres(settings: Settings, database: str) -> None:
    """Load the run's published marts, gold and ops tables into `database` (schemas of the same names),
    as a PostgreSQL run publishes them, so both engines hold the same rows."""
    import psycopg2
    from psycopg2.extras import execute_values

    with (
        duckdb.connect(str(settings.published_path), read_only=True) as con,
        closing(psycopg2.connect(host="127.0.0.1", user="postgres", dbname=database)) as pg,
        pg,
        pg.cursor() as cursor,
    ):
        con.execute(f"attach '{settings.published_ops_path}' as ops (read_only)")
        tables = con.execute(queries.TABLES_DUCKDB).fetchall()
        for schema, table in tables:
            source = f'ops.main."{table}"' if schema == "ops" else f'"{schema}"."{table}"'
            described = con.execute(f"describe select * from {source}").fetchall()
            columns = ", ".join(f'"{name}" {PG_TYPES.get(kind, kind)}' for name, kind, *_ in described)
            cursor.execute(f'create schema if not exists "{schema}"')
            cursor.execute(f'create table "{schema}"."{table}" ({columns})')
            rows = con.execute(f"select * from {source}").fetchall()
            execute_values(cursor, f'insert into "{schema}"."{table}" values %s', rows)


@pytest.mark.integration
def test_postgres_through_the_reader_role_shows_the_same_pages(
    state_dir: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import psycopg2

    from orchestration.services import open_vault
    from security.audit import read_events
    from security.reader_access import ensure_reader_role, grant_schema_read
    from security.secret_names import PG_READER_PASSWORD

    duck = app_test(state_dir, monkeypatch, language="en")
    expected = [(m.label, m.value) for m in duck.metric]
    settings = Settings(home=state_dir)
    copy_published_to_postgres(settings, pg_database)
    role = f"cofre_reader_{pg_database[-10:]}"
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=pg_database)
    try:
        with admin, admin.cursor() as cursor:
            ensure_reader_role(cursor, role, open_vault(settings, actor="test").get(PG_READER_PASSWORD))
            for schema in ("marts", "gold", "ops"):
                grant_schema_read(cursor, role, schema)
        for name, value in {"TARGET": "postgres", "PG_DATABASE": pg_database, "PG_READER_USER": role}.items():
            monkeypatch.setenv(f"COFRE_{name}", value)
        at = app_test(state_dir, monkeypatch, language="en")
        assert [(m.label, m.value) for m in at.metric] == expected
        for page in PAGES:
            at.switch_page(page.script).run()
            assert_clean(at, page.url_path)
            assert "cofre run" not in " ".join(i.value for i in at.info), page.url_path
        reads = [
            e
            for e in read_events(settings.audit_path)
            if e["action"] == "secret.read" and e["target"] == PG_READER_PASSWORD
        ]
        # The dashboard read it once for its process, audited (the test's own setup reads are "test").
        assert [e["actor"].split(":")[0] for e in reads if not e["actor"].startswith("test:")] == [
            "dashboard"
        ]
        # As in the stack: no state directory and no vault, only the password in a (Docker secret) file.
        bare = tmp_path / "bare"
        bare.mkdir()
        secret = tmp_path / "pg_reader_password"
        secret.write_text(open_vault(settings, actor="test").get(PG_READER_PASSWORD) + "\n", encoding="utf-8")
        monkeypatch.setenv("COFRE_PG_READER_PASSWORD_FILE", str(secret))
        at = app_test(bare, monkeypatch, language="en")
        assert [(m.label, m.value) for m in at.metric] == expected
        assert not any(bare.iterdir()), "the dashboard wrote into the state directory"
    finally:
        with admin, admin.cursor() as cursor:
            cursor.execute(f'drop owned by "{role}"')
            cursor.execute(f'drop role "{role}"')
        admin.close()
