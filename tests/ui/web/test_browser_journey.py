"""The app as people use it, in a real browser (Debian's Chromium under Playwright) against `enclave app` on loopback,
answering with the small test model: an admin's journey from signing in, through an upload and a cited answer with
a follow-up, to signing out; a member who is offered no admin page and is refused one opened by its address; and a
file that fails to ingest, whose whole reason the Documents page prints. Each step's screenshot is saved in the
test's temporary folder (screenshots/01-signed-in.png, …)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browsers import Screenshots, served_app, shown, sidebar_links, sign_in, switched_on
from shared_data import BAD, DOCS
from streamlit_apps import PASSWORD, data_dir_accounts, member

from ui.web.session_cookie import DROP_PATH

MEMO = DOCS / "memo-supply-delivery.pdf"  # one page: 20,000 bottles of water delivered
QUESTION = "How many bottles of water were delivered?"
FOLLOW_UP = "Who delivered them?"
NOT_A_PDF = BAD / "quarterly-report.pdf"  # a PNG named .pdf: "reject: not a PDF; message names the detected type"
ADMIN_PAGES = ("documents", "users", "audit", "feedback")  # their addresses: the page files' names
VIEWPORT = {"width": 1280, "height": 1000}  # wide enough for the Documents page's table and the sidebar


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder without documents, whose first admin is root, where mia is a member (added by the accounts, as
    the Users page or `enclave users add` would)."""
    data = tmp_path_factory.mktemp("journey") / "data"
    with data_dir_accounts(data) as accounts:
        accounts.create_first_admin("root", PASSWORD)
        member(accounts, "mia")
    return data


@pytest.fixture(scope="module")
def app_url(data_dir: Path, llm_server: Any) -> Iterator[str]:
    """`enclave app` on a free loopback port, answering with the test LLM server (briefly: enough for an answer)."""
    with served_app(data_dir, ENCLAVE_LLM_BASE_URL=llm_server.base_url, ENCLAVE_LLM_MAX_TOKENS="96") as url:
        yield url


@pytest.fixture
def page_options() -> dict[str, Any]:
    """Each test's page (tests/ui/web/conftest.py) is VIEWPORT wide and high."""
    return {"viewport": VIEWPORT}


@pytest.fixture
def screenshots(page: Any, tmp_path: Path) -> Screenshots:
    return Screenshots(page, tmp_path / "screenshots")


def upload(page: Any, path: Path) -> None:
    """Choose the file in the Documents page's form and send it, once the browser has handed it to the app."""
    from playwright.sync_api import expect

    page.locator("input[type=file]").set_input_files(str(path))
    shown(page.get_by_role("button", name=f"Remove {path.name}"))  # its chip (which may shorten the name)
    expect(page.get_by_test_id("stFileChipIconSpinner")).to_have_count(0, timeout=60_000)  # sent: the form may go
    page.get_by_role("button", name="Add to the library").click()


def ask(page: Any, question: str) -> None:
    page.get_by_placeholder("Ask a question about your documents").fill(question)
    page.keyboard.press("Enter")


def answers_done(page: Any, count: int) -> None:
    """Wait until `count` answers are checked and kept: each then offers its thumbs (the stream only shows text)."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stFeedback")).to_have_count(count, timeout=240_000)


def test_an_admin_uploads_a_document_asks_about_it_opens_the_cited_page_follows_up_and_signs_out(
        page, app_url, screenshots):
    from playwright.sync_api import expect

    sign_in(page, app_url, "root", PASSWORD)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in as root (admin)")
    assert sidebar_links(page) == ["Ask", "Documents", "Users", "Audit", "Feedback"]
    screenshots.take("signed-in")

    page.get_by_role("link", name="Documents").click()
    shown(page.get_by_role("heading", name="Documents", exact=True))
    upload(page, MEMO)
    screenshots.take("upload-sent")
    shown(page.get_by_text("1 files: 1 added, 0 unchanged, 0 failed"))  # this batch's outcome, under its progress
    expect(page.get_by_test_id("stProgress")).to_contain_text("1 of 1 files done")
    shown(page.get_by_text("In the library (1)"))
    shown(page.get_by_test_id("stText").filter(has_text=MEMO.name))  # its row in the library
    screenshots.take("uploaded")

    page.get_by_role("link", name="Ask").click()
    shown(page.get_by_role("heading", name="Ask your documents"))
    ask(page, QUESTION)
    shown(page.get_by_test_id("stChatMessage").filter(has_text=QUESTION))
    answers_done(page, 1)
    answer = page.get_by_test_id("stChatMessage").nth(1)
    expect(answer.get_by_test_id("stMarkdown").first).not_to_be_empty()
    source = answer.get_by_test_id("stExpander").filter(has_text=f"[1] {MEMO.name} — page 1")
    shown(source)
    screenshots.take("answered")

    source.get_by_text(f"[1] {MEMO.name} — page 1").click()
    shown(source.get_by_text("20,000 bottles of water"))  # the cited passage
    switched_on(source.get_by_role("switch", name="Show page 1"), source.get_by_text("Show page 1"))
    shown(source.get_by_role("img"))  # the PDF page itself, rendered by the app
    expect(source).to_contain_text(f"{MEMO.name}, page 1")
    screenshots.take("source-opened")

    ask(page, FOLLOW_UP)
    shown(page.get_by_test_id("stChatMessage").filter(has_text=FOLLOW_UP))
    answers_done(page, 2)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(4)
    expect(page.get_by_test_id("stChatMessage").nth(3).get_by_test_id("stMarkdown").first).not_to_be_empty()
    screenshots.take("followed-up")

    with page.expect_response(lambda response: response.url.endswith(DROP_PATH)) as dropped:
        page.get_by_role("button", name="Sign out").click()
    assert dropped.value.status == 204
    shown(page.get_by_text("Sign in to Enclave"))
    screenshots.take("signed-out")


def test_a_member_is_offered_no_admin_page_and_is_refused_each_opened_by_its_address(page, app_url, screenshots):
    from playwright.sync_api import expect

    sign_in(page, app_url, "mia", PASSWORD)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in as mia")
    assert sidebar_links(page) == []  # one page, Ask: no navigation
    screenshots.take("signed-in")

    for name in ADMIN_PAGES:
        page.goto(f"{app_url}/{name}")
        shown(page.get_by_text("Page not found"))  # Streamlit's own notice: the member's navigation has no such page
        shown(page.get_by_role("heading", name="Ask your documents"))  # the page opened instead
        expect(page.get_by_role("heading", name=name.title(), exact=True)).to_have_count(0)
        expect(page.locator("input[type=file]")).to_have_count(0)
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Signed in as mia")  # still signed in, as herself
        screenshots.take(f"refused-{name}")


def test_a_file_that_cannot_be_ingested_shows_its_whole_reason_on_the_documents_page(page, app_url, screenshots):
    from playwright.sync_api import expect

    sign_in(page, app_url, "root", PASSWORD)
    page.get_by_role("link", name="Documents").click()
    shown(page.get_by_role("heading", name="Documents", exact=True))
    upload(page, NOT_A_PDF)
    shown(page.get_by_text("1 files: 0 added, 0 unchanged, 1 failed"))
    screenshots.take("failed")

    # The table cuts a long reason off (it is drawn on a canvas): the page prints each one whole below it.
    reason = page.get_by_test_id("stText").filter(has_text=f"{NOT_A_PDF.name}: not a PDF")
    shown(reason)
    expect(reason).to_contain_text("PNG image")  # the type found, as bad/README asks
    expect(reason).to_contain_text("save or export it again in the format its name says")  # the end, past the cut
    expect(page.get_by_test_id("stText").filter(has_text=NOT_A_PDF.name)).to_have_count(1)  # not in the library
