"""What people use: the `enclave` command line and the Streamlit app, built on `assistant`'s and `ingest`'s public API.

cli            the `enclave` commands (eval_commands: `enclave eval`; terminal: exit codes, one-line errors, opening)
progress       progress bars for ingestion on the terminal
launcher       `enclave app` and `enclave up`: the app and the LLM server as child processes, until healthy
app            the Streamlit entry point: the user and the pages they may open (app_pages/: Ask, Documents)
session        what every page needs: the one Enclave of the server process, the signed-in user, the conversation
uploads        uploaded files saved under safe names, ingested in the background
page_images    a PDF page rendered for a user allowed to see it
settings, errors: the app's settings, loaded at start-up, and its error tree
"""
