"""Alembic's entry point for the assistant's tree: run by `upgrade_tree`, never imported."""

from ingest import run_env

run_env()
