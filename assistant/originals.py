"""The kept file behind a citation, handed out only to users who may see its document."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import AssistantError, NotAllowed
from assistant.models import User
from assistant.retrieval.search import may_see
from ingest import RECORD_SOURCE, DocumentRecord


@dataclass(frozen=True)
class OriginalFile:
    """A document's kept file, ready to be served: where it is, what to call it, how to serve it."""

    path: Path
    name: str
    media_type: str
    pages: int | None  # the page count recorded at ingestion; None for formats without pages


def original_file(record: DocumentRecord | None, user: User, document_id: str) -> OriginalFile:
    """The kept file of the stored document `document_id` (its registry record, None when there is none), if the user
    may see the document.

    Raises NotAllowed, with one message, for an unknown id and for a document the user may not see, so the answer
    does not tell which ids exist; AssistantError when the document has no file to open (any more)."""
    if record is None or not may_see(user, record.groups):
        raise NotAllowed(
            f"there is no document {document_id!r} you may open: if you need it, ask an admin to share it with "
            "one of your groups"
        )
    if record.source.startswith(RECORD_SOURCE):
        raise AssistantError(
            f"{record.name!r} was stored from text, not from a file, so there is no original to open: "
            "its passages are all there is"
        )
    path = Path(record.source)
    if not path.is_file():
        where = f" (it was at {record.source})" if user.is_admin else ""  # only an admin can put it back
        raise AssistantError(
            f"the original file of {record.name!r} is gone{where}: upload it again to open it "
            "(its passages can still be searched and cited)"
        )
    media_type, _ = mimetypes.guess_type(record.name, strict=False)
    return OriginalFile(path=path, name=record.name, media_type=media_type or "application/octet-stream",
                        pages=record.pages)
