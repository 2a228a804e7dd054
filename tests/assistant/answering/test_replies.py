"""Enclave's own not-found reply, and noticing the model's "the sources do not say"."""

import pytest

from assistant.answering.replies import NOT_FOUND, model_declined, not_found_text


@pytest.mark.parametrize("reply", [
    "The sources do not contain information about the parental leave policy.",
    "The documents don't say when the event takes place.",
    "The provided documents do not mention a VPN.",
    "I don't know.",
    "There is no information about the CEO's salary in the sources.",
    "Las fuentes no contienen información sobre la política de vacaciones.",
    "Die Quellen enthalten keine Informationen zum Gehalt.",
    "Les sources ne mentionnent pas la date de l'événement.",
])
def test_a_reply_opening_with_not_in_the_sources_is_recognised(reply):
    assert model_declined(reply)


@pytest.mark.parametrize("reply", [
    "20,000 bottles of water were delivered [1].",
    "Hotel nights are reimbursed up to 150 euros [1].",
    "The memo covers the delivery of supplies to the shelter [1]. The date of the second delivery is not mentioned.",
])
def test_an_answer_is_not_taken_for_a_refusal(reply):
    assert not model_declined(reply)


def test_not_found_is_said_in_the_question_language_and_english_otherwise():
    assert not_found_text("de") == NOT_FOUND["de"]
    assert not_found_text("es").startswith("No he encontrado")
    assert not_found_text(None) == NOT_FOUND["en"]
    assert not_found_text("pt") == NOT_FOUND["en"]
