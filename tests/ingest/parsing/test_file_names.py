"""Names from outside (uploads, attachments) made safe to write."""

from __future__ import annotations

from ingest.parsing.file_names import MAX_NAME_BYTES, clean_file_name


def test_paths_and_control_characters_are_removed_and_scripts_kept():
    assert clean_file_name("C:\\Users\\ana\\..\\informe anual (2024).pdf") == "informe anual (2024).pdf"
    assert clean_file_name("../../etc/passwd") == "passwd"
    assert clean_file_name("report\u202efdp.exe") == "reportfdp.exe"
    assert clean_file_name("Jahresbericht\x00.docx") == "Jahresbericht.docx"
    assert clean_file_name("..") == "" and clean_file_name("  ") == ""


def test_long_names_keep_their_extension():
    name = clean_file_name("é" * 300 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= MAX_NAME_BYTES
