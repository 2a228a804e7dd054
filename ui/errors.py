"""Errors of the user-facing layer: one root, a few precise children whose messages say what to do next."""

from __future__ import annotations


class UIError(Exception):
    """Root of every error the ui package raises."""


class UnsafeSettings(UIError):
    """The settings would let anyone who can reach the app in: refused at start-up (the message says which to change)."""
