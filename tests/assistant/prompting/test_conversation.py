"""Follow-ups: which questions need the conversation, which turns fit, how the model's rewrite is read."""

import pytest

from assistant.prompting.conversation import clean_rewrite, recent_turns, stands_alone


@pytest.mark.parametrize("question", [
    "How many bottles of water were delivered to the shelter?",
    "What is the reimbursement limit for a hotel night abroad?",
    "¿Cuándo debe notificarse una violación de la seguridad de los datos?",
])
def test_a_question_naming_its_subject_stands_alone(question):
    assert stands_alone(question)


@pytest.mark.parametrize("question", [
    "And how many water bottles?",
    "What about contractors?",
    "Who signed it?",
    "¿Y para los contratistas?",
    "Und wer hat das unterschrieben?",
    "Et pour les stagiaires ?",
    "When was that sent to the staff of the company?",
])
def test_a_question_pointing_back_into_the_conversation_needs_it(question):
    assert not stands_alone(question)


def test_recent_turns_keep_the_newest_whole_turns_that_fit():
    history = [(f"question {i}", "answer " * 40 + f"[{i}]") for i in range(10)]
    turns = recent_turns(history, token_budget=200)
    assert 0 < len(turns) < 10
    assert turns[-1][0] == "question 9"
    assert all("[" not in answer for _, answer in turns)  # citation markers point at old sources: removed


def test_no_budget_keeps_no_turns():
    assert recent_turns([("q", "a")], token_budget=0) == []


@pytest.mark.parametrize(("reply", "expected"), [
    ("How many water bottles were delivered?", "How many water bottles were delivered?"),
    ("Standalone question: How many water bottles were delivered?", "How many water bottles were delivered?"),
    ('"How many water bottles were delivered?"\nThe memo says…', "How many water bottles were delivered?"),
    ("", ""),
    ("  \n ", ""),
])
def test_the_rewrite_is_the_first_line_without_labels_or_quotes(reply, expected):
    assert clean_rewrite(reply) == expected
