"""The groups chosen for an upload on the Documents page."""

from __future__ import annotations

from ui.web.uploads import chosen_groups, known_groups, parse_groups


def test_groups_are_parsed_and_default_to_everyone():
    assert parse_groups(" hr, legal ,hr,, ") == ("hr", "legal")
    assert parse_groups("  ") == ("everyone",)


def test_groups_picked_or_typed_are_trimmed_without_blanks_or_repeats_and_may_be_none():
    assert chosen_groups([" hr", "legal ", "hr", "  "]) == ("hr", "legal")
    assert chosen_groups([]) == ()


def test_the_groups_offered_start_with_the_default_then_the_others_sorted_once():
    assert known_groups("staff", ("everyone", "hr"), ("legal", "staff"), ("hr",)) == ["staff", "everyone", "hr", "legal"]
    assert known_groups("everyone") == ["everyone"]
