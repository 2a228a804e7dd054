"""What people use: the `enclave` command line and the Streamlit app, built on `assistant`'s and `ingest`'s public API.

cli            the `enclave` commands (eval_commands: `enclave eval`; terminal: exit codes, one-line errors, opening)
progress       progress bars for ingestion on the terminal
launcher       `enclave app` and `enclave up`: the app and the LLM server as child processes, until healthy
server         the app's web server: Streamlit's st.App serving app.py, with the routes of the sign-in cookie
app            the Streamlit entry point: who is asking and the pages they may open (app_pages/: Sign in, Create the
               first admin; Ask; Documents and Users for admins)
identity       who is asking, checked against their session on every run; signing in and out
session_cookie the HttpOnly cookie that keeps a sign-in across reloads: one-time codes, its two routes
session        what every page needs: the one Enclave of the server process, the app's settings, the conversation
uploads        uploaded files saved under safe names, ingested in the background
page_images    a PDF page rendered for a user allowed to see it
settings, errors: the app's settings, loaded at start-up, and its error tree
"""
