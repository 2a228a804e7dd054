"""The revisions of the assistant tree, oldest first (Alembic reads them; a package so that they ship with it)."""
