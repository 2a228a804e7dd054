"""What people use, built on `assistant`'s and `ingest`'s public API.

commands/      the `enclave` command line: everyday commands, users, audit, conversations, db, eval, the launcher
web/           the Streamlit app: its server, the entry point and pages, who is asking, sign-in, uploads
audit_csv      the audit trail as CSV, the same from `enclave audit export` and from the app's Audit page
settings, errors: the app's and the command line's settings, loaded at start-up, and their error tree

The command line does not import the app's modules (they load Streamlit), and the app does not import the commands.
"""
