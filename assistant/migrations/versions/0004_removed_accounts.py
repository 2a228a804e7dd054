"""Removed accounts: the names an admin removed, so that single sign-on does not bring them back.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "removed_accounts",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_by", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("removed_accounts")
