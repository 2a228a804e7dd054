"""The ingest package's error tree: every library error is wrapped into one of these at the boundary."""

from __future__ import annotations


class IngestError(Exception):
    """Root of every error raised by `ingest`. The message says what happened and what to do next."""


class SettingsError(IngestError):
    """A setting has a value that cannot work; the message names the setting."""


class DocumentError(IngestError):
    """One file could not be ingested. The rest of its batch goes on."""


class UnsupportedFileType(DocumentError):
    pass


class EncryptedDocument(DocumentError):
    pass


class EmptyDocument(DocumentError):
    pass


class CorruptDocument(DocumentError):
    pass


class FileTooLarge(DocumentError):
    pass


class MissingSystemTool(DocumentError):
    """Parsing needs a program that is not installed (the message names it and how to install it)."""


class StoreUnavailable(IngestError):
    """The vector store (embedded Qdrant or a Qdrant server) cannot be reached or opened."""


class StoreBusy(StoreUnavailable):
    """The embedded store is held by another process (for example the running app)."""


class DatabaseUnavailable(IngestError):
    """The database cannot be opened, reached or migrated (the message names it, without its password, and what to
    check)."""


class DiskFull(IngestError):
    """Too little free space under the data folder to write safely; nothing was written (the message says how much
    is free and how much is needed)."""

    PREFIX = "disk full:"  # every message starts so: a file's failure reason shows what stopped its batch


class DocumentNotFound(IngestError):
    """No stored document has this id, file name or path; or, for a change that must name one document, several do
    (the message says how to name it)."""


class SharingRefused(IngestError):
    """A change of a document's groups refused as asked: a group name that cannot work, or a revoke of a group the
    document is not shared with. Nothing was changed."""


class DocumentBusy(SharingRefused):
    """Another writer is changing this document right now (an ingestion, a re-index, another change of its groups),
    or an interrupted one left it for repair. Nothing was changed: try again when that is done."""


class BackupRefused(IngestError):
    """A backup or restore refused as asked: the backup folder is not empty, or the Enclave to restore over is not
    (without --force), or the backup was made for another kind of database or store."""


class BackupDamaged(BackupRefused):
    """A backup is incomplete or damaged: its manifest is missing, or a file it lists is missing or does not match
    its SHA-256 (the message names the file). Nothing was restored."""
