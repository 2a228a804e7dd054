"""The Streamlit app: what a person sees in the browser.

server          the app's web server: Streamlit's st.App serving app.py, with the routes of the sign-in cookie
api_beside      the REST API served from the app's process, on its Enclave (`enclave up`)
app             the entry point: who is asking and the pages they may open (app_pages/: Sign in, Create the first
                admin; Ask; Documents, Users, Audit and Feedback for admins)
identity        who is asking, checked against their session on every run; signing in and out
single_sign_on  signing in through the company's OpenID Connect provider (st.login)
session_cookie  the HttpOnly cookie that keeps a sign-in across reloads: one-time codes, its two routes
session         what every page needs: the one Enclave of the server process, the app's settings, the conversation
uploads         uploaded files saved under safe names, ingested in the background
page_images     a PDF page rendered for a user allowed to see it

Nothing here is imported by the command line but SERVER_FILE: importing a page module loads Streamlit.
"""

from pathlib import Path

SERVER_FILE = Path(__file__).with_name("server.py")  # what `streamlit run` serves: app.py with the cookie routes

__all__ = ["SERVER_FILE"]
