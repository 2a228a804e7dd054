"""Answer-quality evaluation: the answer set's checks, the scoring, and one real run of `enclave eval answers`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import LLMUnavailable, User, evaluate_answers, load_answer_set
from assistant.evaluation import EvaluationError
from assistant.evaluation.answers import AnswerQuestion, contains_fact, judge_answer, score_results
from assistant.models import Answer, Citation
from enclave_cli import invoke

CI_SET = Path(__file__).with_name("answers_ci.jsonl")
FIGURES = ("citation_precision", "fact_recall", "not_found_accuracy")

MEMO = {"id": "memo", "question": "How many bottles of water?", "document": "memo-supply-delivery.pdf", "fact": "20"}


def write_set(folder: Path, *lines: str) -> Path:
    path = folder / "answers.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- the answer set ---------------------------------------------------------------------------------------------


def test_a_valid_set_loads_with_its_history_and_document_lists(tmp_path):
    path = write_set(
        tmp_path,
        json.dumps(MEMO),
        "",  # blank lines are skipped
        json.dumps({"id": "copies", "question": "Article 1?", "document": ["a.docx", "a.pdf"], "fact": None,
                    "history": [["What is the memo about?", "Supplies."]]}),
        json.dumps({"id": "none", "question": "What is our leave policy?", "document": None, "fact": None}),
    )
    questions = load_answer_set(path)
    assert [q.id for q in questions] == ["memo", "copies", "none"]
    assert questions[0].documents == ("memo-supply-delivery.pdf",) and questions[0].history == ()
    assert questions[1].documents == ("a.docx", "a.pdf")
    assert questions[1].history == (("What is the memo about?", "Supplies."),)
    assert questions[2].answerable is False


@pytest.mark.parametrize(("line", "fault"), [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"id": "a", "question": "q?", "document": None}), "missing fact"),
    (json.dumps(MEMO | {"documents": "x.pdf"}), "unknown field documents"),
    (json.dumps(MEMO | {"id": ""}), "id must be a non-empty string"),
    (json.dumps(MEMO | {"question": 3}), "question must be a non-empty string"),
    (json.dumps(MEMO | {"document": []}), "document must be a file name"),
    (json.dumps(MEMO | {"document": None}), "a fact needs a document"),
    (json.dumps(MEMO | {"fact": " "}), "fact must be a non-empty string"),
    (json.dumps(MEMO | {"history": [["only a question"]]}), "is not a [question, answer] pair"),
    (json.dumps(MEMO | {"history": "earlier"}), "history must be a list"),
])
def test_a_bad_line_names_the_file_the_line_and_the_fault(tmp_path, line, fault):
    path = write_set(tmp_path, json.dumps(MEMO | {"id": "first"}), line)
    with pytest.raises(EvaluationError) as caught:
        load_answer_set(path)
    assert str(caught.value).startswith(f"{path}, line 2: ")
    assert fault in str(caught.value)


def test_a_repeated_id_names_both_lines(tmp_path):
    path = write_set(tmp_path, json.dumps(MEMO), json.dumps(MEMO))
    with pytest.raises(EvaluationError, match=r"line 2: id 'memo' is already used on line 1"):
        load_answer_set(path)


def test_an_empty_or_missing_set_is_an_evaluation_error(tmp_path):
    with pytest.raises(EvaluationError, match="holds no question"):
        load_answer_set(write_set(tmp_path, "", "  "))
    with pytest.raises(EvaluationError, match="cannot read the answer set"):
        load_answer_set(tmp_path / "missing.jsonl")


def test_the_ci_set_is_valid_and_covers_each_kind_of_question():
    questions = load_answer_set(CI_SET)
    assert len(questions) == 6
    assert sum(not q.answerable for q in questions) == 2
    assert any(q.history for q in questions)


# -- scoring ----------------------------------------------------------------------------------------------------


def cite(*documents: str) -> list[Citation]:
    return [Citation(n=i, document=name, page=None, chunk_id=f"c{i}", text="…") for i, name in enumerate(documents, 1)]


ANSWERABLE = AnswerQuestion("a", "How many bottles of water?", ("memo.pdf",), "20 bottles")
COPIES = AnswerQuestion("b", "Article 1?", ("rgpd.docx", "rgpd.pdf"), "Objeto")
UNANSWERABLE = AnswerQuestion("c", "What is the leave policy?", (), None)


def test_the_fact_is_found_ignoring_case_and_line_breaks():
    assert contains_fact("They delivered 20\n  Bottles of water [1].", "20 bottles")
    assert not contains_fact("They delivered 2 bottles.", "20 bottles")


def test_a_correct_answer_scores_full_marks():
    result = judge_answer(ANSWERABLE, Answer("20 bottles of water [1].", cite("memo.pdf")), seconds=2.0)
    report = score_results([result])
    assert (report.citation_precision, report.fact_recall, report.not_found_accuracy) == (1.0, 1.0, 1.0)
    assert report.questions == 1 and report.seconds_per_question == 2.0


def test_citing_any_copy_of_the_text_counts_and_each_citation_counts_once():
    result = judge_answer(COPIES, Answer("Objeto [1][2][3].", cite("rgpd.pdf", "rgpd.docx", "other.md")), 1.0)
    assert result.correct_citations == 2
    assert score_results([result]).citation_precision == pytest.approx(2 / 3)


def test_a_citation_on_an_unanswerable_question_is_wrong_and_so_is_answering_it():
    result = judge_answer(UNANSWERABLE, Answer("20 days [1].", cite("memo.pdf")), 1.0)
    report = score_results([result])
    assert report.citation_precision == 0.0 and report.not_found_accuracy == 0.0
    assert result.fact_found is None


def test_not_found_is_right_on_an_unanswerable_question_and_wrong_on_an_answerable_one():
    nothing = Answer("I found nothing.", [], grounded=False, not_found=True)
    results = [judge_answer(UNANSWERABLE, nothing, 1.0), judge_answer(ANSWERABLE, nothing, 3.0)]
    report = score_results(results)
    assert report.not_found_accuracy == 0.5
    assert report.fact_recall == 0.0
    assert report.citation_precision == 0.0  # nothing cited: no precision earned
    assert report.seconds_per_question == 2.0


class FailingOnce:
    """Stands in for the assistant to inject an LLM failure on one question; answers the others from a table."""

    def __init__(self, answers: dict[str, Answer], failing: str) -> None:
        self.answers, self.failing, self.histories = answers, failing, []

    def ask(self, question: str, user: User, history=()):
        self.histories.append(list(history))
        if question == self.failing:
            raise LLMUnavailable("the LLM server at http://127.0.0.1:9/v1 is not answering")
        return FixedStream(self.answers[question])


class FixedStream:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer

    def read(self) -> Answer:
        return self.answer


def test_a_failed_question_is_recorded_as_a_wrong_answer_and_the_run_goes_on():
    follow_up = AnswerQuestion("d", "And how many blankets?", ("memo.pdf",), "10,000",
                               history=(("How many bottles of water?", "20,000 [1]."),))
    assistant = FailingOnce({ANSWERABLE.question: Answer("20 bottles [1].", cite("memo.pdf")),
                             follow_up.question: Answer("10,000 blankets [1].", cite("memo.pdf"))},
                            failing=UNANSWERABLE.question)
    events = []
    report = evaluate_answers(assistant, [ANSWERABLE, UNANSWERABLE, follow_up], User("eval", is_admin=True),
                              progress=events.append)
    assert [r.error != "" for r in report.results] == [False, True, False]
    assert "not answering" in report.results[1].error and report.errors == 1
    assert report.not_found_accuracy == pytest.approx(2 / 3)  # the failure did not say "not found"
    assert report.fact_recall == 1.0 and report.citation_precision == 1.0
    assert assistant.histories[2] == [("How many bottles of water?", "20,000 [1].")]
    assert [(e.done, e.total, e.result.id) for e in events] == [(1, 3, "a"), (2, 3, "c"), (3, 3, "d")]


# -- end to end -------------------------------------------------------------------------------------------------


def test_cli_prints_the_figures_as_one_json_line_and_writes_details(enclave_env, tmp_path):
    """In this process (tests/enclave_cli.py), with the tiny SmolLM2 server and short answers, over the first three
    questions of the CI set (one answerable, a follow-up with its history, one in German): what is tested is the
    command (each question asked in order, the figures, the details file, --limit), not the answers' quality."""
    details = tmp_path / "details.jsonl"
    env = dict(enclave_env, ENCLAVE_LLM_MAX_TOKENS="64")
    done = invoke("eval", "answers", str(CI_SET), "--limit", "3", "--json", "--details", str(details), env=env)
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert set(figures) == {*FIGURES, "questions", "seconds_per_question"}
    assert figures["questions"] == 3
    for name in FIGURES:
        assert isinstance(figures[name], float) and 0.0 <= figures[name] <= 1.0, (name, figures[name])
    assert figures["seconds_per_question"] > 0
    rows = [json.loads(line) for line in details.read_text().splitlines()]
    assert [row["id"] for row in rows] == [q.id for q in load_answer_set(CI_SET)[:3]]
    assert all(row["error"] == "" for row in rows), rows


def test_cli_bad_answer_set_exits_2_with_one_line(tmp_path):
    path = write_set(tmp_path, json.dumps(MEMO), "{oops")
    done = invoke("eval", "answers", str(path))
    assert done.exit_code == 2
    assert done.stderr.strip().count("\n") == 0
    assert f"{path}, line 2: not valid JSON" in " ".join(done.stderr.split())
