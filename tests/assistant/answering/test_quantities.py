"""A quantity question ("how many", "wie lange", "cuántos") is answered only by an answer that states a quantity."""

import pytest

from assistant.answering.quantities import answers_quantity, asks_for_quantity


@pytest.mark.parametrize("question", [
    "How many days of paid sick leave do employees get?",
    "How long must general ledgers be kept?",
    "How often must passwords be changed?",
    "¿Cuántos días de vacaciones tengo al año?",
    "Wie lange dauert die Amtszeit?",
    "Ab wie vielen Beschäftigten braucht man einen Datenschutzbeauftragten?",
    "Combien de jours de congé ai-je ?",
    "By what day of the month must I submit my travel expense report?",
    "On what date were the laptops delivered?",
])
def test_questions_that_ask_for_a_quantity(question):
    assert asks_for_quantity(question)


@pytest.mark.parametrize("question", [
    "What is our annual leave policy?",
    "Who sent the memo?",
    "¿En qué plazo debe responder el responsable?",
    "Wo ist der Dienstsitz?",
])
def test_questions_that_do_not(question):
    assert not asks_for_quantity(question)


@pytest.mark.parametrize(("question", "answer"), [
    ("How many league appearances did he make?", "647"),  # digits count, with no unit
    ("How long must ledgers be kept?", "For not less than seven years."),
    ("How long an absence does the vacation policy require?", "An uninterrupted period of not less than one week."),
    ("How often must passwords be changed?", "Twice a year."),
    ("How many weeks of parental leave?", "Parents get two weeks."),
    ("Wie lange dauert die Amtszeit?", "Die Amtszeit beträgt fünf Jahre."),
    ("Wie hoch kann die Geldbuße sein?", "Bis zu fünfzigtausend Euro."),  # German writes a number as one word
    ("Wie viele Urlaubstage habe ich?", "Sie haben dreißig Urlaubstage."),
    ("¿Cuántos días de vacaciones tengo?", "Tienes veintidós días."),
    ("Combien de jours de congé ?", "Vous avez vingt jours."),
    ("On what date were the laptops delivered?", "January 23, 2023."),
    ("By what day of the month is the report due?", "By the last day of the month."),
])
def test_answers_that_state_the_quantity(question, answer):
    assert answers_quantity(question, answer)


@pytest.mark.parametrize(("question", "answer"), [
    # measured with the packaged model over the trustee handbook: true, supported, and no answer
    ("How many days of paid sick leave do employees get?",
     "The standing trustee must limit the amount of leave or paid days off that an employee can carry over from "
     "one year to the next. Without such a limit, large unfunded liabilities may accrue."),
    ("How many weeks of parental leave?", "Parents can take leave once a year."),  # counts years, not weeks
    ("How much does the company match on 401(k) contributions?", "The company matches contributions."),
    ("Wie viele Urlaubstage habe ich?", "Der Urlaub richtet sich nach dem Tarifvertrag."),
    # measured: the handbook's monthly report and its travel line item, blended into a deadline it never sets
    ("By what day of the month must I submit my travel expense report?",
     "The standing trustee must submit a travel expense report by the end of each month."),
])
def test_answers_that_do_not(question, answer):
    assert not answers_quantity(question, answer)
