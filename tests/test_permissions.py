"""Members only ever see documents shared with one of their groups; admins see all. Checked as a property: Hypothesis
adds accounts with random groups, grants and revokes random groups on random documents and asks random questions as
random users, through the service (`Enclave`: search, ask, documents, original_file) and through the `enclave`
command line (`search`, `documents` and `ask` with `--as`), and no passage, prompt, citation, title, name or count
ever comes from a document the asker may not see. Every part is the real one: the embedded store with the permission
filter inside its vector search, the packaged embedding model, the registry and the accounts in the database.

The library is eight short documents, each one chunk, embedded once for the module: a search for ten passages
returns every chunk the user may see, so a search is checked for exactly the documents the user may see, not only
for none of the others. A grant or a revoke changes payloads, nothing is embedded again. The machine's questions
are answered without an LLM: what `ask` would put in front of the model (its passages and its messages) is checked,
and its citations are those `check_answer` gives a reply that quotes every passage; a question with nothing to read
takes the not-found path, which needs no model. A few real answers come from the test LLM server at the end."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from enclave_cli import invoke
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from small_disks import ram_folder

from assistant import Enclave, NotAllowed, User, find_free_port, load_assistant_settings
from ingest import SharingRefused, load_settings

ADMIN = User("root", groups=("everyone",), is_admin=True)  # who grants and revokes (an admin needs no account)
EVERYONE = "everyone"  # every account's group, without a row for it (assistant/accounts/directory.py)
# Groups the accounts and the documents are given: names that differ only in case, or only in Unicode normal form
# (café composed, and as c-a-f-e and a combining accent), are different groups.
GROUPS = (EVERYONE, "hr", "finance", "Finance", "legal", "café", unicodedata.normalize("NFD", "café"), "contractors")


@dataclass(frozen=True)
class Document:
    name: str
    title: str
    text: str
    groups: tuple[str, ...] | None  # shared with at ingestion; None: the default group (everyone)
    secret: str  # words of its text no question uses: in a prompt or an answer, they can only have come from it
    question: str  # a question it answers (and no other document does)

    @property
    def markdown(self) -> str:
        return f"# {self.title}\n\n{self.text}\n"


LIBRARY = (
    Document("zephyr-payroll.md", "Zephyr payroll", "The Zephyr bonus pool for this quarter is 412,000 euros, paid "
             "to staff on 30 March.", ("finance",), "412,000", "What is the Zephyr bonus pool this quarter?"),
    Document("heron-bonus.md", "Heron bonus scheme", "The Heron bonus scheme pays each nurse 1,750 euros after two "
             "years of service.", ("hr",), "1,750", "How much does the Heron bonus scheme pay a nurse?"),
    Document("marigold-lease.md", "Marigold office lease", "The Marigold lease on the harbour office runs until 2031 "
             "at 9,300 euros a month.", ("legal",), "9,300", "Until when does the Marigold lease run?"),
    Document("tangerine-roadmap.md", "Tangerine product roadmap", "The Tangerine app ships offline maps in May and a "
             "tablet version in October.", None, "tablet version", "When does the Tangerine app ship offline maps?"),
    Document("basilisk-incident.md", "Basilisk security incident", "During the Basilisk incident an intruder copied "
             "88 badge photos from the visitor server.", ("hr", "legal"), "visitor server",
             "How many badge photos were copied in the Basilisk incident?"),
    Document("obsidian-board.md", "Obsidian board minutes", "The Obsidian board approved selling the Rotterdam "
             "warehouse for 6.4 million euros.", (), "Rotterdam", "What did the Obsidian board approve?"),
    Document("pelican-merger.md", "Pelican merger", "The Pelican merger values the seed company at 27 million euros.",
             ("Finance",), "27 million", "What is the Pelican merger worth?"),
    Document("juniper-canteen.md", "Juniper canteen menu", "The Juniper canteen serves lentil soup on Mondays for 3.20 "
             "euros.", ("café",), "lentil soup", "What does the Juniper canteen serve on Mondays?"),
)
BY_NAME = {d.name: d for d in LIBRARY}
INITIAL = {d.name: (EVERYONE,) if d.groups is None else d.groups for d in LIBRARY}
TARGETS = {d.question: d.name for d in LIBRARY}  # the document each of these questions is about
QUESTIONS = (
    *TARGETS,
    "How large is the bonus pool?",  # two documents answer it, for different groups
    "What is this document about?",  # an overview of the latest document the user may see
    "Summarise the Marigold office lease",  # an overview of a document named
    "What is the capital of Mongolia?",  # no document answers it
)

FILES = "files"  # beside the data folder: the library's files, as ingested

# How many cases the machine checks (see test_no_member_ever_sees_a_document_outside_their_groups).
EXAMPLES, STEPS = 55, 25
MIN_STEPS = 1_000


# -- the library ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory, shared_models) -> Iterator[Path]:
    """The data folder holding LIBRARY, ingested once through `Enclave.ingest` with each document's groups; on a
    RAM filesystem where one can be mounted (tests/small_disks.py). Each test puts the groups back as it needs them."""
    with ram_folder(tmp_path_factory.mktemp("permissions") / "ram") as root:
        files = root / FILES
        files.mkdir()
        data_dir = root / "data"
        with opened(shared_models, data_dir) as enclave:
            for document in LIBRARY:
                (files / document.name).write_text(document.markdown)
                [result] = enclave.ingest([files / document.name], ADMIN, groups=document.groups)
                assert (result.status, result.chunks) == ("added", 1), result
            stored = {r.name: (r.title, r.groups) for r in enclave.documents()}
            enclave.accounts.add_user(ADMIN.name, "admin", by=ADMIN.name)  # stays: the last admin cannot be removed
        assert stored == {d.name: (d.title, INITIAL[d.name]) for d in LIBRARY}
        yield data_dir


@contextmanager
def opened(shared_models, data_dir: Path, llm_base_url: str | None = None) -> Iterator[Enclave]:
    """A writable Enclave on the data folder. Without an LLM's address it points at a port nothing listens on: any
    call to a model fails the test."""
    url = llm_base_url or f"http://127.0.0.1:{find_free_port()}/v1"
    enclave = shared_models.enclave(load_settings(data_dir=data_dir, parse_workers=1, _env_file=None),
                                    load_assistant_settings(llm_base_url=url, llm_max_tokens=64, _env_file=None))
    try:
        yield enclave
    finally:
        enclave.close()


def share_as(enclave: Enclave, wanted: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Grant and revoke until each document is shared with exactly its wanted groups; no account but ADMIN's.
    Returns each document's groups, in the order the store keeps them."""
    for account in enclave.accounts.list_users():
        if account.name != ADMIN.name:
            enclave.accounts.remove_user(account.name, by=ADMIN.name)
    for record in enclave.documents():
        for group in record.groups:
            if group not in wanted[record.name]:
                enclave.revoke(record.document_id, group, ADMIN)
        for group in wanted[record.name]:
            if group not in record.groups:
                enclave.grant(record.document_id, group, ADMIN)
    shared = {r.name: r.groups for r in enclave.documents()}
    assert {name: set(groups) for name, groups in shared.items()} == {n: set(g) for n, g in wanted.items()}
    return shared


# -- what a user may see: the rule, written out independently of the product ---------------------------------------


@dataclass(frozen=True)
class Person:
    is_admin: bool
    groups: frozenset[str]

    def may_see(self, shared_with: tuple[str, ...]) -> bool:
        return self.is_admin or bool(({EVERYONE} | self.groups) & set(shared_with))


def visible_to(person: Person, shared: dict[str, tuple[str, ...]]) -> set[str]:
    return {name for name, groups in shared.items() if person.may_see(groups)}


def secrets_in(text: str, hidden: set[str]) -> set[str]:
    """Names of the hidden documents whose file name or secret words are in the text."""
    return {name for name in hidden if name in text or BY_NAME[name].secret in text}


@dataclass
class Tally:
    """What the property test ran: steps (each followed by every account's listing), and checks by kind."""

    steps: int = 0
    checks: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.checks[kind] = self.checks.get(kind, 0) + 1


def check_search(enclave: Enclave, user: User, question: str, method: str | None, may_see: set[str]) -> None:
    passages = enclave.assistant.search(question, user, k=10, method=method)
    found = [p.chunk.document_name for p in passages]
    if method == "sparse":  # the lexical search finds only the chunks sharing a word with the question
        assert set(found) <= may_see, (user, question, found)
    else:  # dense and hybrid rank every chunk the filter lets through: one each, eight at most
        assert sorted(found) == sorted(may_see), (user, question, method, found)
    for p in passages:
        assert BY_NAME[p.chunk.document_name].secret in p.chunk.text  # the text is that document's


def check_ask(enclave: Enclave, user: User, question: str, may_see: set[str]) -> None:
    """What `ask` puts in front of the model, and the answer it makes of a reply quoting every passage; the not-found
    answer when there is nothing to read (no model asked then)."""
    hidden = set(BY_NAME) - may_see
    stream = enclave.assistant.ask(question, user)
    read = {p.chunk.document_name for p in stream.passages}
    assert read <= may_see, (user, question, read)
    prompt = " ".join(str(m["content"]) for m in stream.messages)
    assert not secrets_in(prompt, hidden), (user, question, secrets_in(prompt, hidden))
    target = TARGETS.get(question)
    if target in may_see:
        assert target in read, (user, question, read)  # the check is not passed by finding nothing
    if not stream.passages:
        assert stream.messages == []
        answer = stream.read()  # Enclave's own reply: the model is not asked
        assert answer.not_found and answer.citations == [] and answer.retrieved == []
    else:
        reply = " ".join(f"{p.chunk.text.strip()} [{p.n}]" for p in stream.passages)
        answer = enclave.assistant.check_answer(reply, stream.passages, question, query=stream.query)
        cited = {c.document for c in answer.citations} | {c.document for c in answer.retrieved}
        assert cited <= may_see, (user, question, cited)
        assert answer.not_found or answer.citations
    assert not secrets_in(answer.text, hidden), (user, question, answer.text)


def check_listing(enclave: Enclave, user: User, may_see: set[str]) -> None:
    listed = enclave.documents(user)
    assert {(r.name, r.title) for r in listed} == {(n, BY_NAME[n].title) for n in may_see}, user
    assert len(listed) == len(may_see)


def check_original(enclave: Enclave, user: User, name: str, may_see: set[str]) -> None:
    [record] = [r for r in enclave.documents() if r.name == name]
    if name in may_see:
        assert enclave.original_file(user, record.document_id).name == name
    else:
        with pytest.raises(NotAllowed):
            enclave.original_file(user, record.document_id)


# -- the property, through the service -----------------------------------------------------------------------------


class SharingMachine(RuleBasedStateMachine):
    """Accounts and their groups, grants, revokes and ingesting a file again as rules; after every step, every account
    lists exactly what it may see, and a question step checks search, ask or opening an original as one account. Each
    example starts from INITIAL, with no account but ADMIN's."""

    enclave: Enclave  # given by the test (a subclass per run)
    files: Path  # where the library's files are
    tally: Tally
    accounts = Bundle("accounts")

    def __init__(self) -> None:
        super().__init__()
        self.shared = share_as(self.enclave, INITIAL)  # the model: each document's groups
        self.people: dict[str, Person] = {}

    def step(self) -> None:
        self.tally.steps += 1

    def user(self, name: str) -> User:
        """The account as it is now, as the app and `--as` take it."""
        return self.enclave.accounts.get(name).user()

    # -- changes --

    @initialize(target=accounts)
    def add_first_member(self) -> str:
        return self.add(is_admin=False, groups=frozenset({"finance"}))

    @rule(target=accounts, is_admin=st.sampled_from([False, False, False, True]),
          groups=st.frozensets(st.sampled_from(GROUPS), max_size=3))
    def add_account(self, is_admin: bool, groups: frozenset[str]) -> str:
        return self.add(is_admin, groups)

    def add(self, is_admin: bool, groups: frozenset[str]) -> str:
        self.step()
        name = f"user{len(self.people)}"
        self.enclave.accounts.add_user(name, "admin" if is_admin else "member", sorted(groups), by=ADMIN.name)
        self.people[name] = Person(is_admin, groups - {EVERYONE})
        assert set(self.user(name).groups) == {EVERYONE} | groups
        return name

    @rule(name=accounts, groups=st.frozensets(st.sampled_from(GROUPS), max_size=3))
    def set_groups(self, name: str, groups: frozenset[str]) -> None:
        self.step()
        self.enclave.accounts.set_groups(name, sorted(groups), by=ADMIN.name)
        self.people[name] = Person(self.people[name].is_admin, groups - {EVERYONE})

    @rule(document=st.sampled_from(sorted(BY_NAME)), group=st.sampled_from(GROUPS))
    def grant(self, document: str, group: str) -> None:
        self.step()
        after = self.enclave.grant(document, group, ADMIN)
        self.shared[document] = tuple(dict.fromkeys((*self.shared[document], group)))
        assert after == self.shared[document]

    @rule(document=st.sampled_from(sorted(BY_NAME)), group=st.sampled_from(GROUPS))
    def revoke(self, document: str, group: str) -> None:
        self.step()
        if group not in self.shared[document]:
            with pytest.raises(SharingRefused):
                self.enclave.revoke(document, group, ADMIN)
            return
        after = self.enclave.revoke(document, group, ADMIN)
        self.shared[document] = tuple(g for g in self.shared[document] if g != group)
        assert after == self.shared[document]

    @rule(document=st.sampled_from(sorted(BY_NAME)),
          groups=st.none() | st.frozensets(st.sampled_from(GROUPS), max_size=2))
    def ingest_again(self, document: str, groups: frozenset[str] | None) -> None:
        """The same file ingested again: without groups it keeps its own (a revoke stays made); with groups it is
        shared with exactly those, without being embedded again."""
        self.step()
        wanted = None if groups is None else tuple(sorted(groups))
        [result] = self.enclave.ingest([self.files / document], ADMIN, groups=wanted)
        changed = wanted is not None and wanted != self.shared[document]
        assert result.status == ("updated" if changed else "unchanged"), result
        if changed:
            self.shared[document] = wanted

    # -- questions --

    @rule(name=accounts, question=st.sampled_from(QUESTIONS), method=st.sampled_from([None, "dense", "sparse"]))
    def search(self, name: str, question: str, method: str | None) -> None:
        self.step()
        check_search(self.enclave, self.user(name), question, method, visible_to(self.people[name], self.shared))
        self.tally.count("search")

    @rule(name=accounts, question=st.sampled_from(QUESTIONS))
    def ask(self, name: str, question: str) -> None:
        self.step()
        check_ask(self.enclave, self.user(name), question, visible_to(self.people[name], self.shared))
        self.tally.count("ask")

    @rule(name=accounts, document=st.sampled_from(sorted(BY_NAME)))
    def open_original(self, name: str, document: str) -> None:
        self.step()
        check_original(self.enclave, self.user(name), document, visible_to(self.people[name], self.shared))
        self.tally.count("original")

    @invariant()
    def everyone_lists_what_they_may_see(self) -> None:
        for name, person in self.people.items():
            check_listing(self.enclave, self.user(name), visible_to(person, self.shared))
            self.tally.count("listing")
        check_listing(self.enclave, ADMIN, set(BY_NAME))  # admins see all

    def teardown(self) -> None:
        for name in self.people:
            self.enclave.accounts.remove_user(name, by=ADMIN.name)


def test_no_member_ever_sees_a_document_outside_their_groups(library, shared_models):
    """EXAMPLES runs of up to STEPS steps (Hypothesis ends some runs sooner, to keep their choices small): the tally
    counts the steps run, each one followed by the listing of every account, and must reach MIN_STEPS (1,203 steps
    with these settings). derandomize and no example database: the same cases on every run and machine. The fixtures
    are module- and session-scoped, so the function-scoped fixture health check has nothing to warn of; each run of
    the machine puts the library's groups back itself."""
    tally = Tally()
    with opened(shared_models, library) as enclave:
        machine = type("SharingMachineOnLibrary", (SharingMachine,),
                       {"enclave": enclave, "files": library.parent / FILES, "tally": tally})
        run_state_machine_as_test(machine, settings=settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=True, database=None, deadline=None,
        ))  # fmt: skip
    assert tally.steps >= MIN_STEPS, tally
    assert min(tally.checks.get(kind, 0) for kind in ("search", "ask", "original", "listing")) > 0, tally


# -- the property, through the command line -------------------------------------------------------------------------

# Each case runs 3-6 commands in this process (tests/enclave_cli.py), a second or so each with the model lent: a few
# cases, since the command line takes its accounts and permissions from the same service the machine checks.
CLI_EXAMPLES = 8


def run(env: dict[str, str], *args: str) -> str:
    result = invoke(*args, env=env)
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


@settings(max_examples=CLI_EXAMPLES, derandomize=True, database=None, deadline=None)
@given(shares=st.fixed_dictionaries({d.name: st.frozensets(st.sampled_from(GROUPS), max_size=2) for d in LIBRARY}),
       members=st.lists(st.frozensets(st.sampled_from(GROUPS), max_size=2), min_size=1, max_size=2),
       question=st.sampled_from(tuple(TARGETS)))
def test_the_command_line_acting_as_a_member_shows_only_what_they_may_see(library, shared_models, llm_server,
                                                                        shares, members, question):
    with opened(shared_models, library) as enclave:
        shared = share_as(enclave, {name: tuple(sorted(groups)) for name, groups in shares.items()})
        for i, groups in enumerate(members):
            enclave.accounts.add_user(f"member{i}", "member", sorted(groups), by=ADMIN.name)
    env = {"ENCLAVE_DATA_DIR": str(library), "ENCLAVE_LLM_BASE_URL": llm_server.base_url,
           "ENCLAVE_LLM_MAX_TOKENS": "32"}
    with shared_models.lent():
        for i, groups in enumerate(members):
            who = ("--as", f"member{i}")
            may_see = visible_to(Person(False, groups - {EVERYONE}), shared)
            *rows, count = run(env, "documents", *who).strip().splitlines()
            assert {row.split()[-1] for row in rows} == may_see and count == f"{len(may_see)} documents"
            hits = json.loads(run(env, "search", question, "-k", "10", "--json", *who))
            assert sorted(hit["document"] for hit in hits) == sorted(may_see)
            if TARGETS[question] not in may_see:  # would the command line give away what the filter keeps out?
                answer = json.loads(run(env, "ask", question, "--json", *who))
                cited = {c["document"] for c in answer["citations"] + answer["also_retrieved"]}
                assert cited <= may_see and not secrets_in(answer["answer"], set(BY_NAME) - may_see), answer
        listed = json.loads(run(env, "documents", "--json"))  # whoever runs the command line is an admin
        assert {row["name"] for row in listed} == set(BY_NAME)


# -- a few real answers ----------------------------------------------------------------------------------------------


def test_real_answers_cite_only_documents_the_asker_may_see(library, shared_models, llm_server):
    """The test LLM server answers: alice in hr asks about the finance payroll and gets the not-found answer without
    the model being asked; bob in finance gets it from the payroll; an admin, from the board minutes no group has."""
    payroll, board = BY_NAME["zephyr-payroll.md"], BY_NAME["obsidian-board.md"]
    with opened(shared_models, library, llm_server.base_url) as enclave:
        shared = share_as(enclave, INITIAL)
        enclave.accounts.add_user("alice", "member", ["hr"], by=ADMIN.name)
        enclave.accounts.add_user("bob", "member", ["finance"], by=ADMIN.name)
        alice, bob = enclave.accounts.get("alice").user(), enclave.accounts.get("bob").user()

        stream = enclave.assistant.ask(payroll.question, alice)
        answer = stream.read()
        assert stream.messages == [] and answer.not_found
        assert answer.citations == [] and answer.retrieved == [] and payroll.secret not in answer.text

        for user, document, person in ((bob, payroll, Person(False, frozenset({"finance"}))),
                                        (ADMIN, board, Person(True, frozenset()))):
            stream = enclave.assistant.ask(document.question, user)
            answer = stream.read()
            may_see = visible_to(person, shared)
            sources = {c.document for c in answer.citations} | {c.document for c in answer.retrieved}
            assert stream.messages and document.name in sources and sources <= may_see, answer
            assert not secrets_in(answer.text, set(BY_NAME) - may_see), answer.text
