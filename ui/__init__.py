"""What people use, built on `assistant`'s and `ingest`'s public API.

commands/      the `enclave` command line: everyday commands, users, audit, conversations, db, eval, the launcher
web/           the Streamlit app: its server, the entry point and pages, who is asking, sign-in, uploads
api/           the REST API: OpenAI-compatible chat completions, search and documents for API keys; /v1/local for the
               command line on this machine
audit_csv      the audit trail as CSV, the same from `enclave audit export` and from the app's Audit page
run_file       where a running API is (the data folder's api.json), for the command line beside a running app
uploads        saving uploaded files under safe names (the app's Documents page and the API's /v1/documents)
settings, errors: the app's and the command line's settings, loaded at start-up, and their error tree

The command line does not import the app's modules (they load Streamlit), and the app does not import the commands.
The app may serve the API beside it (`enclave up`); the API never imports the app.
"""
