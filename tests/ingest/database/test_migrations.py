"""Migration trees run from code: to the newest revision once, in one transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from ingest import MigrationTree, upgrade_tree
from ingest.database import current_revision, head_revision

ENV = "from ingest.database.migrations import run_env\n\nrun_env()\n"
REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}
'''


def write_tree(folder: Path, *bodies: str) -> MigrationTree:
    (folder / "versions").mkdir(parents=True)
    (folder / "env.py").write_text(ENV)
    down = None
    for n, body in enumerate(bodies, start=1):
        revision = f"{n:04d}"
        (folder / "versions" / f"{revision}.py").write_text(
            REVISION.format(revision=revision, down=repr(down), body=body)
        )
        down = revision
    return MigrationTree("sample", folder, "sample_schema_version")


CREATE_NOTES = '    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True), sa.Column("text", sa.Text))'
ADD_COLUMN = '    op.add_column("notes", sa.Column("author", sa.Text))'
FAIL_HALFWAY = '    op.create_table("half", sa.Column("id", sa.Integer, primary_key=True))\n    raise RuntimeError("boom")'


def test_upgrade_brings_a_new_database_to_the_newest_revision_once(database, tmp_path):
    tree = write_tree(tmp_path / "tree", CREATE_NOTES, ADD_COLUMN)

    first = upgrade_tree(database, tree)
    again = upgrade_tree(database, tree)

    assert first == (None, "0002") and again == ("0002", "0002")
    assert head_revision(tree) == current_revision(database, tree) == "0002"
    assert {c["name"] for c in inspect(database.engine).get_columns("notes")} == {"id", "text", "author"}


def test_a_failing_migration_leaves_the_database_as_it_was(database, tmp_path):
    upgrade_tree(database, write_tree(tmp_path / "v1", CREATE_NOTES))
    broken = write_tree(tmp_path / "v2", CREATE_NOTES, FAIL_HALFWAY)

    with pytest.raises(RuntimeError, match="boom"):
        upgrade_tree(database, broken)

    assert current_revision(database, broken) == "0001"
    assert not inspect(database.engine).has_table("half")


def test_each_tree_keeps_its_own_version(database, tmp_path):
    first = write_tree(tmp_path / "a", CREATE_NOTES)
    second = MigrationTree("other", write_tree(tmp_path / "b", '    op.create_table("other", sa.Column("id", sa.Integer, primary_key=True))').scripts, "other_schema_version")

    upgrade_tree(database, first)
    assert current_revision(database, second) is None
    upgrade_tree(database, second)
    assert current_revision(database, first) == current_revision(database, second) == "0001"

