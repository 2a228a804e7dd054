"""Checks on the shape of the code that reviews forget: layering, the public API, types and settings documentation."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_go_one_way_ui_assistant_ingest():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_type_checker_finds_nothing_in_ingest_assistant_and_ui():
    """mypy, configured in pyproject.toml ([tool.mypy]: every function typed)."""
    mypy = Path(sys.executable).with_name("mypy")
    result = subprocess.run([str(mypy)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_setting_is_documented_in_the_readme():
    from assistant.settings import AssistantSettings
    from ingest.settings import IngestSettings
    from ui.settings import UISettings

    readme = (ROOT / "README.md").read_text()
    names = {  # a setting read under another name (OpenTelemetry's OTEL_…) is documented under that name
        info.validation_alias if isinstance(info.validation_alias, str) else "ENCLAVE_" + field.upper()
        for cls in (IngestSettings, AssistantSettings, UISettings)
        for field, info in cls.model_fields.items()
    }
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"settings missing from README.md: {missing}"
