"""The app's web server: Streamlit's own (st.App, on Starlette) serving ui/web/app.py, plus the two routes that set and
clear the sign-in cookie (ui/web/session_cookie.py), /healthz, /readyz and /metrics (ui/web/operations.py), and for
`enclave up` the REST API beside it (ui/web/api_beside.py). `enclave app` runs `streamlit run` on this file;
`streamlit run` finds the `app` below and serves it with the options it was given."""

from pathlib import Path

from ingest import enforce_offline

enforce_offline()  # before anything else can load a model or phone home

import streamlit as st  # noqa: E402

from ui.web.api_beside import serving_api_beside  # noqa: E402
from ui.web.operations import routes as operation_routes  # noqa: E402
from ui.web.session_cookie import app_base_path, routes  # noqa: E402

APP_FILE = Path(__file__).with_name("app.py")

# Read when `streamlit run` imports this file, after it has loaded the options it was started with.
app = st.App(APP_FILE, routes=routes(app_base_path()) + operation_routes(app_base_path()),
             lifespan=serving_api_beside)
