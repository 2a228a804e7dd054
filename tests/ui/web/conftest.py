"""The real browser the app's tests drive (tests/browsers.py): Debian's Chromium for each module, and a page of its
own for each test. A module whose pages need a browser context's options (a viewport) overrides `page_options`; one
that launches Chromium differently overrides `browser`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from browsers import launched_chromium, own_page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, quiet (tests/browsers.py), for the module's tests; closed after them."""
    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def page_options() -> dict[str, Any]:
    """The options of the browser context each test's page opens in: the defaults."""
    return {}


@pytest.fixture
def page(browser: Any, page_options: dict[str, Any]) -> Iterator[Any]:
    """A page in a browser context of the test's own (no cookie from another test), with `page_options`."""
    with own_page(browser, **page_options) as page:
        yield page
