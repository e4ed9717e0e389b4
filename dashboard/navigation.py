"""The pages of the app, in menu order: the one list the app, its tests and the screenshot test read.

Each page is a script under `views/` (Streamlit runs it as a page of `st.navigation`); `url_path` is where a
browser opens it (`/` for the default page).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
APP_SCRIPT = APP_DIR / "app.py"


@dataclass(frozen=True)
class PageSpec:
    """One page: its script (relative to app.py), URL path, title label and Material icon."""

    script: str
    url_path: str
    title_key: str
    icon: str
    default: bool = False

    @property
    def browser_path(self) -> str:
        """The path a browser opens: Streamlit serves the default page at the root."""
        return "/" if self.default else f"/{self.url_path}"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/overview.py", "overview", "page_overview", ":material/dashboard:", default=True),
    PageSpec("views/sales.py", "sales", "page_sales", ":material/trending_up:"),
    PageSpec("views/categories.py", "categories", "page_categories", ":material/category:"),
    PageSpec("views/geography.py", "geography", "page_geography", ":material/public:"),
    PageSpec("views/delivery.py", "delivery", "page_delivery", ":material/local_shipping:"),
    PageSpec("views/sellers.py", "sellers", "page_sellers", ":material/storefront:"),
    PageSpec("views/customers.py", "customers", "page_customers", ":material/groups:"),
    PageSpec("views/weather.py", "weather", "page_weather", ":material/partly_cloudy_day:"),
    PageSpec("views/operations.py", "operations", "page_operations", ":material/monitor_heart:"),
)
