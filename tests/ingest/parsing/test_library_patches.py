"""ingest.parsing.library_patches: what it replaces in unstructured is checked before anything is replaced.

How each patch compares with the library's own output: test_sentences.py (the light spaCy pipeline) and
test_plain_text.py (the body-text shortcuts)."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest

from ingest.errors import IngestError
from ingest.parsing.library_patches import PATCHED, install_patches


def library_names() -> dict[tuple[str, str], object]:
    return {(module, name): getattr(importlib.import_module(module), name, None) for module, name in PATCHED}


def test_every_name_the_patches_replace_is_patched_and_installing_again_changes_nothing(unstructured_restored):
    install_patches()
    installed = library_names()
    install_patches()

    assert library_names() == installed
    assert all(getattr(patch, "enclave_patch", False) for (module, name), patch in installed.items()
               if name != "_get_nlp")  # the loader is the light pipeline's own


def test_a_name_gone_from_the_library_is_named_with_its_version_and_nothing_is_patched(
    monkeypatch, unstructured_restored
):
    from unstructured.partition import text

    monkeypatch.delattr(text, "is_possible_narrative_text")  # as a new unstructured might
    before = library_names()

    with pytest.raises(IngestError) as raised:
        install_patches()

    assert f"unstructured {version('unstructured')}" in str(raised.value)
    assert "unstructured.partition.text.is_possible_narrative_text" in str(raised.value)
    assert library_names() == before
