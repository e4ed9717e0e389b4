"""The cofre dashboard: a multi-page Streamlit app over the published marts, gold and ops tables.

Start it with `cofre dashboard` (or `streamlit run dashboard/app.py` with the COFRE_* environment). This
script is the app's edge: it reads the settings once per run, sets the page configuration, draws the
language selector and hands every page its context through session state.
"""

from __future__ import annotations

import streamlit as st

from dashboard.i18n import LANGUAGE_NAMES, LANGUAGES, label
from dashboard.navigation import PAGES
from dashboard.page import LANGUAGE_KEY, SETTINGS_KEY
from orchestration.settings import Settings

# An emoji icon: Streamlit draws it as a local SVG, where a ":material/…:" icon is fetched from Google's font
# servers (the dashboard asks nothing of the internet).
st.set_page_config(page_title="cofre", page_icon="🔒", layout="wide")

st.session_state[SETTINGS_KEY] = Settings()
language = st.sidebar.selectbox(
    "Idioma · Language", LANGUAGES, format_func=LANGUAGE_NAMES.__getitem__, key=LANGUAGE_KEY
)
navigation = st.navigation(
    [
        st.Page(
            page.script,
            title=label(page.title_key, language),
            icon=page.icon,
            url_path=page.url_path,
            default=page.default,
        )
        for page in PAGES
    ]
)
st.sidebar.caption(label("app_title", language))
navigation.run()
