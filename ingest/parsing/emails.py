"""E-mails (.eml, .msg) as one document: the message body, then each attachment, parsed like a file of its own, under
an "Attachment: NAME" section. An attachment that cannot be read is left out and reported; the message is kept."""

from __future__ import annotations

import mimetypes
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from ingest.errors import DocumentError
from ingest.models import Element, ParsedDocument
from ingest.parsing.detection import FileType
from ingest.parsing.elements import NO_LANGUAGE_DETECTION
from ingest.parsing.file_names import clean_file_name

EMAIL_KINDS = frozenset({"eml", "msg"})
# An e-mail attached to an e-mail is read (a forwarded message), one attached to that one is not: nesting is how a
# small file unpacks into an unbounded amount of work.
_MAX_NESTING = 1

# Parses an attachment saved as a file, at the given nesting level (1 = attached to the top message).
ParseAttachment = Callable[[str, int], ParsedDocument]


@dataclass(frozen=True)
class Attachment:
    """A file carried by a message, as the message holds it."""

    name: str  # safe as a file name and to show: no path, no control characters
    data: bytes | None  # None when the message holds no bytes for it (a link, an embedded Outlook item)
    missing_reason: str = ""  # why there are no bytes


def partition_email_body(path: str, file_type: FileType) -> list:
    """The message's headers and body as unstructured elements; attachments are read by `read_attachments`."""
    from unstructured.partition.email import partition_email
    from unstructured.partition.msg import partition_msg

    partition = partition_msg if file_type.kind == "msg" else partition_email
    # unstructured's own attachment path sends images to hi_res layout models that would have to be downloaded:
    # not allowed offline. Enclave parses attachments itself, with its own offline strategies.
    return partition(filename=path, process_attachments=False, languages=NO_LANGUAGE_DETECTION)


def check_nesting(nesting: int) -> None:
    """Refuse an e-mail attached `nesting` levels deep when that is deeper than Enclave reads."""
    if nesting > _MAX_NESTING:
        raise DocumentError("an e-mail attached to an attached e-mail is not read (nested too deep); "
                            "save it as a file and ingest it on its own")


def read_attachments(
    path: str, kind: str, parse: ParseAttachment, *, nesting: int = 0, max_bytes: int | None = None
) -> tuple[list[Element], tuple[str, ...]]:
    """The elements of every attachment of the message at `path`, each under its own "Attachment: NAME" heading,
    and one warning per attachment left out. `nesting` is how deep this message itself is attached (0 = the file
    being ingested); `max_bytes` refuses larger attachments, as the file size limit refuses larger files."""
    try:
        attachments = list(_msg_attachments(path) if kind == "msg" else _eml_attachments(path))
    except Exception as exc:  # the boundary: the body was read, so a broken attachment table costs only attachments
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return [], (f"attachments could not be read (the message may be damaged): {reason}",)
    elements: list[Element] = []
    warnings: list[str] = []
    with tempfile.TemporaryDirectory(prefix="enclave-attachments-") as folder:
        for number, attachment in enumerate(attachments, start=1):
            try:
                document = _parse_attachment(attachment, Path(folder) / str(number), parse, nesting, max_bytes)
            except DocumentError as exc:
                warnings.append(f"attachment '{attachment.name}' skipped: {exc}")
                continue
            warnings.extend(f"in attachment '{attachment.name}': {w}" for w in document.warnings)
            if document.elements:
                elements.append(Element(text=f"Attachment: {attachment.name}", category="Title", level=0))
                elements.extend(_nest_under_heading(e) for e in document.elements)
    return elements, tuple(warnings)


def _parse_attachment(
    attachment: Attachment, folder: Path, parse: ParseAttachment, nesting: int, max_bytes: int | None
) -> ParsedDocument:
    if attachment.data is None:
        raise DocumentError(attachment.missing_reason)
    if max_bytes is not None and len(attachment.data) > max_bytes:
        raise DocumentError(
            f"it is {len(attachment.data) / 1048576:.1f} MB, over the {max_bytes / 1048576:g} MB file size limit "
            "(raise ENCLAVE_MAX_FILE_MB to allow it)"
        )
    target = folder / attachment.name
    try:
        folder.mkdir()
        target.write_bytes(attachment.data)
    except OSError as exc:
        raise DocumentError(f"cannot save it for parsing: {exc.strerror or exc}") from exc
    return parse(str(target), nesting + 1)


def _nest_under_heading(element: Element) -> Element:
    """The attachment's own headings go one level below its "Attachment: NAME" heading."""
    return replace(element, level=element.level + 1) if element.category == "Title" else element


# -- reading attachments out of messages --------------------------------------------------------------------------


def _eml_attachments(path: str) -> Iterator[Attachment]:
    import email
    import email.policy

    with open(path, "rb") as fh:
        message = email.message_from_binary_file(fh, policy=email.policy.default)
    for number, part in enumerate(_mime_attachment_parts(message), start=1):
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
            subject = str(inner.get("subject", "") or "").replace("/", "-").replace("\\", "-").strip()
            name = part.get_filename() or (subject or "forwarded message") + ".eml"
            yield Attachment(sanitize_attachment_name(name, number, "message/rfc822"), inner.as_bytes())
        else:
            name = sanitize_attachment_name(part.get_filename() or "", number, part.get_content_type())
            yield Attachment(name, part.get_payload(decode=True) or b"")


def _mime_attachment_parts(part: Any, in_related: bool = False) -> Iterator[Any]:  # email.message.EmailMessage
    """Parts that are attachments, not the body: marked as attachments or named files, and attached messages.
    Files inside multipart/related (the pictures an HTML body shows) belong to the body's layout."""
    for child in part.iter_parts():
        content_type = child.get_content_type()
        if content_type == "message/rfc822":
            yield child
        elif child.is_multipart():
            yield from _mime_attachment_parts(child, in_related or content_type == "multipart/related")
        elif child.get_content_disposition() == "attachment" or (child.get_filename() and not in_related):
            yield child


def _msg_attachments(path: str) -> Iterator[Attachment]:
    from oxmsg import Message

    for number, attachment in enumerate(Message.load(path).attachments, start=1):
        name = sanitize_attachment_name(attachment.file_name or "", number, attachment.mime_type)
        data = attachment.file_bytes
        if data is None:
            yield Attachment(name, None, "an Outlook item or a link, not a file: save it as a file and ingest it")
        else:
            yield Attachment(name, data)


def sanitize_attachment_name(name: str, number: int, content_type: str | None = None) -> str:
    """The attachment's own name made safe (ingest.parsing.file_names: no path, no control characters, shortened, the
    extension kept: it tells the parser the file type); `attachment-N.EXT` when nothing usable is left."""
    return clean_file_name(name) or f"attachment-{number}{mimetypes.guess_extension(content_type or '') or ''}"
