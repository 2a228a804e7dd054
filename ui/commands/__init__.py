"""The `enclave` command line.

cli            the root command and the everyday ones: ingest, reindex, remove, documents (grant, revoke), app, up, …
questions      `enclave search` and `enclave ask`
users          `enclave users`: accounts, roles, groups, passwords
keys           `enclave keys`: API keys, made, listed and revoked
backup         `enclave backup` and `enclave restore`
audit          `enclave audit`: list, verify and export the audit trail
conversations  `enclave conversations` and `enclave feedback`
database       `enclave db`: migrations and their state
evaluation     `enclave eval`: retrieval quality on a BEIR folder
launcher       `enclave app` and `enclave up`: the app (with the API beside it) and the LLM server as child processes,
               until they answer
remote         the everyday commands through a running app's API, when it holds the embedded store
terminal       what every command shares: exit codes, one-line errors, opening the Enclave, acting --as a user
progress       progress bars for ingestion on the terminal
"""
