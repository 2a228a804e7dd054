"""The ingestion queue's tables and functions (procrastinate's schema, ENCLAVE_INGEST_QUEUE=postgres): on PostgreSQL
only, where the queue lives; a SQLite database has no queue. Created whether the queue is on or not, so turning it
on later needs no migration."""

from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager  # the version pinned in pyproject.toml

    # The driver's own cursor, without parameters: the schema is many statements, with % and : in its functions.
    driver = connection.connection.dbapi_connection
    assert driver is not None  # a live connection: alembic runs on one
    driver.cursor().execute(SchemaManager.get_schema())


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
                   "procrastinate_workers CASCADE")
