"""One Enclave: the components built once (models, store, registry, database), the assistant that answers with them,
the accounts kept in the same database and, unless opened read-only, the ingestor that writes with them. The command
line and the app call its methods; they never reach past it into the ingestor, its log or its settings.

Every document change, question and search is recorded in the audit trail (`enclave.audit`; assistant/audit): a
document change right after it is made (an error if it cannot be recorded), an answer once it is complete (logged if
it cannot be).

Each user's conversations are kept in the same database (`enclave.conversations`; assistant/conversations): an answer
is kept as its conversation's next turn (`keep_turn`), and a conversation reopened (`open_conversation`) gives the
history a follow-up reads, exactly as a live session would."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from assistant.answering.assistant import Assistant
from assistant.errors import AssistantError, NotAllowed
from assistant.llm import LLMClient
from assistant.models import Answer, Citation, Readiness, User
from assistant.originals import OriginalFile, original_file
from assistant.retrieval.reranking import open_reranker
from assistant.retrieval.search import Retriever
from assistant.settings import AssistantSettings
from ingest import IngestError, IngestSettings

if TYPE_CHECKING:  # these load the embedding stack (or the database's): too heavy for a type
    import threading

    from assistant.accounts import Accounts
    from assistant.audit import AuditTrail, Recorder
    from assistant.conversations import Conversation, Conversations, ConversationTurn
    from ingest import (BackupManifest, BackupProgress, BatchJob, BatchStatus, Components, DocumentRecord, FileResult,
                        IngestQueue, Ingestor, ProgressCallback)


@dataclass
class Enclave:
    components: "Components"
    assistant: Assistant
    accounts: "Accounts"  # in the components' database (closed with them)
    ingestor: "Ingestor | None" = None  # None when opened read-only
    queue: "IngestQueue | None" = None  # ENCLAVE_INGEST_QUEUE=postgres: ingest() queues for `enclave worker`

    @property
    def audit(self) -> "AuditTrail":
        """The audit trail: list and verify records, and `record(...)` a change made here (a document grant)."""
        return self.accounts.audit

    # -- reading: any user, within what they may see ---------------------------------------------------------------

    def documents(self, user: User | None = None) -> list["DocumentRecord"]:
        """The stored documents; with a user, only those the user may see."""
        from assistant.retrieval.search import may_see

        records = self.components.documents()
        return records if user is None else [r for r in records if may_see(user, r.groups)]

    def original_file(self, user: User, document_id: str) -> OriginalFile:
        """The kept file behind a citation, if the user may see its document (see `original_file`)."""
        return original_file(self.components.document(document_id), user, document_id)

    # -- conversations: each user's own ------------------------------------------------------------------------------

    @cached_property
    def conversations(self) -> "Conversations":
        """Each user's saved conversations and the feedback on their answers (list, rename, delete, rate; admins
        list the feedback)."""
        from assistant.conversations import Conversations

        return Conversations(self.components.database, self.assistant.settings, audit=self.audit)

    def open_conversation(self, user: User, conversation_id: str) -> "Conversation":
        """The user's conversation with its turns (`history` is what a follow-up reads); ConversationNotFound for an
        id that is not theirs. A cited passage whose document the user may no longer see (its group revoked, or the
        document removed) is kept out: its text and document id are withheld, its number and document name stay."""
        conversation = self.conversations.open(user, conversation_id)
        visible = {record.document_id for record in self.documents(user)}

        def shown(answer: Answer) -> Answer:
            cited = [c if c.document_id in visible else _withheld(c) for c in answer.citations]
            return replace(answer, citations=cited, retrieved=[c for c in answer.retrieved if c.document_id in visible])

        return replace(conversation, turns=tuple(replace(t, answer=shown(t.answer)) for t in conversation.turns))

    def keep_turn(self, user: User, conversation_id: str | None, question: str, answer: Answer) -> "ConversationTurn":
        """Keep a question and its checked answer as the next turn of the user's conversation, or of a new one
        (conversation_id None) titled with the question; the turn says which (`conversation_id`)."""
        if conversation_id is None:
            conversation_id = self.conversations.start(user, question).id
        return self.conversations.add_turn(user, conversation_id, question, answer, model=self._model_of(answer))

    def _model_of(self, answer: Answer) -> str:
        """The LLM that wrote an answer; "" when Enclave answered without asking it (nothing relevant was found)."""
        if not (answer.citations or answer.retrieved or answer.sentences):
            return ""
        try:
            return self.assistant.llm.model  # known once it answered: no request
        except AssistantError:
            return ""

    # -- writing: admins only ----------------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The data folder: the embedded store, the kept originals, the SQLite database."""
        return self.components.settings.data_dir

    @property
    def embedded_store(self) -> bool:
        """Whether the store runs inside this process (no ENCLAVE_QDRANT_URL): one process alone may hold it, so
        the command line works through this process's API (ui/run_file.py) while it runs."""
        return not self.components.settings.qdrant_url

    @property
    def originals_dir(self) -> Path:
        """Where uploaded files are kept, for ingestion and to open later."""
        return self.components.settings.originals_dir

    @property
    def default_group(self) -> str:
        """The group a new document is shared with when none is given (ENCLAVE_DEFAULT_GROUP)."""
        return self.components.settings.default_group

    def ingest(self, paths: Sequence[str | Path], user: User, *, groups: Sequence[str] | None = None,
               sync: bool = False, progress: "ProgressCallback | None" = None) -> list["FileResult"]:
        """Parse, chunk, embed and store files or folders, visible to `groups`; without groups, a new document is
        shared with `default_group` and one stored already keeps its own (see `Ingestor.ingest`).

        With the ingestion queue on, the batch is queued and followed until a worker has settled it: the same
        progress and results, the work (and its audit record) done by `enclave worker` (see `ingest_queued`)."""
        writer = self._writer(user)
        if self.queue is not None:
            return self.queue.ingest(paths, user=user.name, actor=_actor(user), groups=groups, sync=sync,
                                     progress=progress)
        results = writer.ingest(paths, groups=groups, user=user.name, sync=sync, progress=progress)
        self._recorder.documents(user, "document.ingest", results, groups)
        return results

    @property
    def queues_ingestion(self) -> bool:
        """Whether `ingest` queues its batches for `enclave worker` (ENCLAVE_INGEST_QUEUE=postgres) instead of
        ingesting in this process."""
        return self.queue is not None

    def submit(self, paths: Sequence[str | Path], user: User, *, groups: Sequence[str] | None = None,
               refused: Sequence["FileResult"] = ()) -> str:
        """Queue files for the workers without waiting (see `ingest`); the batch's id, to follow with `batch`.
        refused: files that failed before (an upload that could not be saved), logged in the batch too."""
        self._writer(user)
        if self.queue is None:
            raise AssistantError("there is no ingestion queue (ENCLAVE_INGEST_QUEUE=off): `ingest` ingests here")
        return self.queue.submit(paths, user=user.name, actor=_actor(user), groups=groups, failed=refused)

    def batch(self, batch_id: str, user: User) -> "tuple[BatchStatus, str] | None":
        """One ingestion batch from the log, and where it is: "queued" (no worker has it yet), "running" or
        "finished"; None when the log has no such batch. Admins only."""
        log = self._writer(user).jobs
        found = log.get(batch_id, running=True)
        if found is None:
            return None
        if found.finished_at is not None:
            return found, "finished"
        progress = self.queue.progress(batch_id) if self.queue is not None else "finished"
        return log.get(batch_id, running=progress != "finished") or found, progress

    def ingest_queued(self, job: "BatchJob") -> list["FileResult"]:
        """Ingest one queued batch here (a worker's job), carrying on from the log, and record it in the audit trail
        as done by whoever queued it. A batch that cannot be done (the store or the database away) ends with its
        unsettled files failed, each with the reason."""
        user = User(job.user, is_admin=True, impersonated_by=job.actor.get("impersonated_by", ""),
                    api_key=job.actor.get("api_key", ""))  # an admin: only admins can queue a batch
        writer = self._writer(None)
        try:
            results = writer.ingest(job.paths, groups=job.groups, user=job.user, sync=job.sync,
                                    batch_id=job.batch_id)
        except IngestError as exc:
            writer.jobs.abandon(job.batch_id, str(exc))
            raise
        self._recorder.documents(user, "document.ingest", results, job.groups)
        return results

    def work_queue(self, beat: "Callable[[], None] | None" = None, stop: "threading.Event | None" = None) -> None:
        """Be an ingestion worker: take queued batches (`ingest_queued`) until SIGTERM or SIGINT, or `stop` is set;
        beat: called every heartbeat while it works (see `ingest.queue.run_worker`)."""
        from ingest import IngestQueue, run_worker

        settings = self.components.settings
        shown = IngestQueue(settings, self.components.database)  # the queue's depth at this worker's /metrics too
        try:
            run_worker(settings, self.ingest_queued, self._writer(None).jobs, beat=beat, stop=stop)
        finally:
            shown.close()

    def reindex(self, keys: Sequence[str], user: User, *,
                progress: "ProgressCallback | None" = None) -> list["FileResult"]:
        """Ingest these stored documents (by id, file name or path) again from their kept files."""
        results = self._writer(user).reindex(keys, user=user.name, progress=progress)
        self._recorder.documents(user, "document.reindex", results)
        return results

    def reindex_all(self, user: User, *, progress: "ProgressCallback | None" = None) -> list["FileResult"]:
        results = self._writer(user).reindex_all(user=user.name, progress=progress)
        self._recorder.documents(user, "document.reindex", results)
        return results

    def remove(self, keys: Sequence[str], user: User) -> list["FileResult"]:
        """Delete stored documents by id, file name or path."""
        results = self._writer(user).remove(keys)
        self._recorder.documents(user, "document.remove", results)
        return results

    def grant(self, document: str, group: str, user: User) -> tuple[str, ...]:
        """Share one stored document (by id, file name or path) with one more group, without embedding it again;
        its groups after. From the next search on, members of the group find it, list it and open its original.

        Raises NotAllowed for a member; DocumentNotFound for no such document (or a name several documents share);
        SharingRefused for a group name that cannot work, DocumentBusy while another writer changes the document;
        StoreUnavailable or DatabaseUnavailable when either does not answer (nothing is changed then); AuditUnavailable
        when the change was made but its audit record could not be written."""
        record = self._writer(user).sharing.grant(document, group)
        self._recorder.sharing(user, "document.grant", record.document_id, group, record.groups)
        return record.groups

    def revoke(self, document: str, group: str, user: User) -> tuple[str, ...]:
        """Stop sharing one stored document with a group; its groups after. When this returns, no search, listing or
        original of it reaches a member through that group. Revoking its last group leaves it to admins alone (hidden
        from every member, not deleted: `remove` deletes it). Raises as `grant` does, and SharingRefused when the
        document is not shared with the group."""
        record = self._writer(user).sharing.revoke(document, group)
        self._recorder.sharing(user, "document.revoke", record.document_id, group, record.groups)
        return record.groups

    def back_up(self, folder: Path, user: User, *,
                progress: "BackupProgress | None" = None) -> "BackupManifest":
        """Back up this Enclave into `folder` while it runs (see `ingest.back_up`): the embedded store it holds is
        paused for the copy. The caller holds its own writers back meanwhile (the app's writing lock). Admins only."""
        from ingest import back_up

        if not user.is_admin:
            raise NotAllowed(f"{user.name} may not back up Enclave: only admins can")
        return back_up(self.components.settings, folder, progress, store=self.components.store)

    def latest_batch(self, running: bool) -> "BatchStatus | None":
        """The last ingestion batch from the log (running: it is still under way), or None before the first. A batch
        queued for the workers is under way until its job has ended."""
        log = self._writer(None).jobs
        if self.queue is not None and not running:
            latest = log.latest(running=True)
            running = latest is not None and self.queue.pending(latest.batch_id)
        return log.latest(running=running)

    @property
    def _recorder(self) -> "Recorder":
        from assistant.audit import Recorder

        return Recorder(self.audit)

    def _writer(self, user: User | None) -> "Ingestor":
        if user is not None and not user.is_admin:
            raise NotAllowed(f"{user.name} may not add, re-index, share or delete documents: only admins can")
        if self.ingestor is None:
            raise AssistantError("this Enclave was opened read-only: open it with read_only=False to change documents")
        return self.ingestor

    # -- operations ------------------------------------------------------------------------------------------------

    def readiness(self, llm_timeout: float = 3.0) -> Readiness:
        """Ask the store (a count), the database (SELECT 1) and the LLM server (its model list, within `llm_timeout`
        seconds) whether they answer: nothing loads, nothing is written."""
        checks: dict[str, Callable[[], object]] = {
            "store": self.components.store.count,
            "database": self.components.database.ping,
            "llm": lambda: self.assistant.llm.check(timeout=llm_timeout),
        }
        problems: dict[str, str] = {}
        for part, check in checks.items():
            try:
                check()
            except (IngestError, AssistantError) as exc:
                problems[part] = str(exc)
        return Readiness(problems)

    def close(self) -> None:
        try:
            self.assistant.retriever.close()
        finally:
            try:
                if self.queue is not None:
                    self.queue.close()
                if self.ingestor is not None:
                    self.ingestor.close()
            finally:
                self.components.close()


def open_enclave(ingest_settings: IngestSettings, assistant_settings: AssistantSettings, *,
                 read_only: bool = False, warm_parsers: bool = False, use_queue: bool = True) -> Enclave:
    """Build the components once and hand them to the retriever and (unless read_only) the ingestor; bring the
    assistant's tables up to date in their database, for the accounts.

    read_only: for a command that only reads (ask, search, list): no parse workers, no ingestion log, and no repair
    of what an interrupted ingestion left behind (that is a write, and another process may be ingesting right now).
    warm_parsers: start the parse workers while the models load (for a command about to ingest).
    use_queue: with ENCLAVE_INGEST_QUEUE=postgres, `ingest` queues its batches; a worker passes False (it ingests)."""
    from assistant.accounts import Accounts
    from assistant.audit import AuditTrail, Recorder
    from assistant.migrations import ASSISTANT_TABLES
    from ingest import Ingestor, ParsePool, open_components, upgrade_tree

    pool = None if read_only else ParsePool(ingest_settings.parse_workers)
    if pool is not None and warm_parsers:
        pool.start()
    components: Components | None = None
    ingestor: Ingestor | None = None
    try:
        components = open_components(ingest_settings)
        upgrade_tree(components.database, ASSISTANT_TABLES)  # a read-only command migrates too: sign-in needs them
        ingestor = None if pool is None else Ingestor(components, parse_pool=pool)
        reranker = open_reranker(assistant_settings)  # the model loads now, so a missing one fails at start-up
    except BaseException:
        if ingestor is not None:
            ingestor.close()  # its parse pool and log; the components are closed next
        elif pool is not None:
            pool.close()
        if components is not None:
            components.close()
        raise
    retriever = Retriever(
        components.embedder, components.sparse, components.store, method=assistant_settings.search_method,
        reranker=reranker, rerank_candidates=assistant_settings.rerank_candidates,
    )  # fmt: skip
    llm = LLMClient(
        assistant_settings.llm_base_url,
        model=assistant_settings.llm_model,
        api_key=assistant_settings.llm_api_key.get_secret_value(),
        timeout=assistant_settings.llm_timeout,
        reasoning_effort=assistant_settings.llm_reasoning_effort,
    )
    audit = AuditTrail(components.database, assistant_settings)
    assistant = Assistant(assistant_settings, retriever, llm, documents=components.documents, recorder=Recorder(audit))
    enclave = Enclave(components, assistant, Accounts(components.database, assistant_settings, audit=audit), ingestor)
    try:
        if ingestor is not None and use_queue and ingest_settings.ingest_queue == "postgres":
            from ingest import IngestQueue

            enclave.queue = IngestQueue(ingest_settings, components.database)
        enclave.conversations.purge()  # what is past the retention goes at start-up (and as conversations start)
    except BaseException:
        enclave.close()
        raise
    return enclave


def _actor(user: User) -> dict[str, str]:
    """What a queued batch carries of who asked, beyond the name, for the audit trail its worker writes (see
    `Enclave.ingest_queued`, which rebuilds the User from it)."""
    return {"impersonated_by": user.impersonated_by, "api_key": user.api_key}


WITHHELD = "(This passage is no longer available to you: its document was removed or is no longer shared with you.)"


def _withheld(citation: Citation) -> Citation:
    return replace(citation, text=WITHHELD, document_id="", section=())
