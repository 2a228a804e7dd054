"""ingest's migration tree: it creates exactly the tables the code uses, with the columns the SQLite files before the
database had, on SQLite and PostgreSQL, and Alembic finds it in an installed wheel as in the source tree."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from ingest import INGEST_TABLES, current_revision, head_revision, upgrade_tree
from ingest.database import tables

ROOT = Path(__file__).resolve().parents[3]
LEGACY = ROOT / "tests" / "data" / "legacy-data-folder.tar.gz"


def test_the_tree_creates_exactly_the_tables_the_code_uses(database):
    assert upgrade_tree(database, INGEST_TABLES) == (None, head_revision(INGEST_TABLES))

    with database.engine.connect() as connection:
        # procrastinate's tables (the ingestion queue, PostgreSQL only) are its own: tests/ingest/queue checks them.
        ours = lambda name, kind, parent: not (kind == "table" and name.startswith("procrastinate_"))  # noqa: E731
        context = MigrationContext.configure(connection, opts={"version_table": INGEST_TABLES.version_table,
                                                               "include_name": ours})
        differences = compare_metadata(context, tables.metadata)
    assert differences == []
    assert current_revision(database, INGEST_TABLES) == head_revision(INGEST_TABLES)


def test_the_tables_keep_the_columns_of_the_files_before_the_database(ingest_database, tmp_path):
    """Same names, same NOT NULL, same keys; `batches.seq` is new (SQLite's rowid, which PostgreSQL has not)."""
    old = _legacy_columns(tmp_path)
    schema = inspect(ingest_database.engine)

    for table, columns in old.items():
        new = {c["name"]: (not c["nullable"]) for c in schema.get_columns(table)}
        new_keys = set(schema.get_pk_constraint(table)["constrained_columns"])
        assert {name: notnull for name, (notnull, _) in columns.items()} == {
            name: notnull for name, notnull in new.items() if (table, name) != ("batches", "seq")
        }, table
        assert {name for name, (_, key) in columns.items() if key} == new_keys, table
    assert [i["column_names"] for i in schema.get_indexes("documents")] == [["name"]]


def test_alembic_finds_the_tree_in_an_installed_wheel(tmp_path):
    """A folder of revisions is data to Alembic, not an import: it must be in the wheel, where the package is."""
    source = tmp_path / "source"
    for part in ("ingest", "assistant", "ui"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=source, capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr
    installed = tmp_path / "installed"
    with zipfile.ZipFile(next(tmp_path.glob("enclave-*.whl"))) as wheel:
        wheel.extractall(installed)  # a pure-Python wheel installs as it unpacks

    probe = subprocess.run(
        [sys.executable, "-c", "from ingest import INGEST_TABLES, head_revision; "
         "print(INGEST_TABLES.scripts); print(head_revision(INGEST_TABLES))"],
        cwd=tmp_path, env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
    )
    assert probe.returncode == 0, probe.stderr
    scripts, head = probe.stdout.split()
    assert Path(scripts).is_relative_to(installed) and head == head_revision(INGEST_TABLES)


def _legacy_columns(tmp_path: Path) -> dict[str, dict[str, tuple[bool, bool]]]:
    """{table: {column: (NOT NULL, part of the primary key)}} of the registry and log files the old code wrote."""
    with tarfile.open(LEGACY) as archive:
        archive.extractall(tmp_path / "legacy", filter="data")
    columns = {}
    for file, names in (("enclave.sqlite3", ("documents", "pending")), ("jobs.sqlite3", ("batches", "batch_files"))):
        db = sqlite3.connect(tmp_path / "legacy" / file)
        try:
            for table in names:
                rows = db.execute(f"PRAGMA table_info({table})").fetchall()  # cid, name, type, notnull, default, pk
                columns[table] = {r[1]: (bool(r[3]) or bool(r[5]), bool(r[5])) for r in rows}
        finally:
            db.close()
    return columns
