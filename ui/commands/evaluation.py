"""`enclave eval`: retrieval quality on a BEIR dataset, answer quality on an answer set."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from ingest import IngestError
from ui.commands.terminal import cli_user, fail, opened_enclave, stderr

if TYPE_CHECKING:
    from assistant import AnswerProgress


@click.group("eval")
def evaluate() -> None:
    """Measure retrieval and answer quality: BEIR datasets, and answer sets asked against the stored documents."""


@evaluate.command("beir")
@click.argument("dataset_dir", type=click.Path())
@click.option("--split", default="test", show_default=True, help="Which qrels/SPLIT.tsv judges the queries.")
@click.option("--method", type=click.Choice(["dense", "sparse", "hybrid", "rerank"]), default="hybrid",
              show_default=True, help="Retrieval method to measure.")
@click.option("--fusion", type=click.Choice(["rrf", "dbsf"]), default=None,
              help="How Qdrant fuses dense and lexical results in hybrid (default: as the assistant searches).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the first N judged queries (in queries.jsonl order).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def eval_beir(dataset_dir: str, split: str, method: str, fusion: str | None, limit: int | None,
              as_json: bool) -> None:
    """nDCG@10, Recall@100, MRR@10 and queries/s on a BEIR dataset folder, through the product's retrieval.

    The corpus is ingested once into its own collection under ENCLAVE_DATA_DIR/eval/ and reused while unchanged.
    --method rerank is hybrid search followed by the re-ranking stage ENCLAVE_RERANK configures (the embedded
    model when it is off), over ENCLAVE_RERANK_CANDIDATES passages.
    """
    from contextlib import ExitStack

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant import AssistantError, QueryProgress, evaluate_beir, load_assistant_settings
    from ingest import Progress as IngestEvent
    from ingest import load_settings
    from ui.commands.progress import IngestProgress

    ingest_bars = IngestProgress(stderr)
    query_bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                         console=stderr)
    shown = ExitStack()  # the bars on screen now: the ingest bars while ingesting, then the query bar
    phase = {"ingest": False, "queries": False}

    def show(event: QueryProgress | IngestEvent) -> None:
        if isinstance(event, QueryProgress):
            if not phase["queries"]:
                shown.close()
                shown.enter_context(query_bar)
                query_bar.add_task("queries", total=event.total)
                phase["queries"] = True
            query_bar.update(query_bar.task_ids[0], completed=event.done)
            return
        if not phase["ingest"]:
            shown.enter_context(ingest_bars)
            phase["ingest"] = True
        ingest_bars(event)

    error = ""
    try:
        report = evaluate_beir(dataset_dir, split=split, method=method, settings=load_settings(), progress=show,
                               fusion=fusion, limit=limit,
                               assistant_settings=load_assistant_settings() if method == "rerank" else None)
    except (AssistantError, IngestError) as exc:
        error = str(exc)
    finally:
        shown.close()  # before any message, so the error line is not drawn into a bar
    if error:
        fail(error)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    index = "reused" if report.index_reused else f"ingested in {report.index_s:.0f} s"
    click.echo(f"{report.dataset} {report.split}: {report.queries} queries, {report.documents} documents, "
               f"{report.chunks} chunks ({index}); method {report.method}"
               + (f", fusion {report.fusion}" if report.fusion else ""))
    if report.reranker:
        click.echo(f"  re-ranked: top {report.rerank_candidates} passages by {report.reranker}")
    for label, value in (("nDCG@10", report.ndcg_at_10), ("Recall@100", report.recall_at_100),
                         ("MRR@10", report.mrr_at_10)):
        click.echo(f"  {label:<11} {value:.4f}")
    click.echo(f"  {'queries/s':<11} {report.queries_per_s:.1f}")


@evaluate.command("answers")
@click.argument("answer_set", type=click.Path())
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N questions of the file.")
@click.option("--details", type=click.Path(dir_okay=False), default=None,
              help="Write each question's answer, citations and scores to this file as JSON lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON line.")
def eval_answers(answer_set: str, limit: int | None, details: str | None, as_json: bool) -> None:
    """Citation precision, fact recall and not-found accuracy of the answers to ANSWER_SET (JSON lines), asked
    as an admin against the stored documents (nothing is ingested) with the configured LLM.

    Each line: {"id", "question", "history": [[question, answer], ...], "document": FILE | [FILE, ...] | null,
    "fact": TEXT | null}; document null marks a question the documents cannot answer.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant import AssistantError, evaluate_answers, load_answer_set

    try:
        questions = load_answer_set(answer_set)[:limit]
    except AssistantError as exc:
        fail(str(exc))
    try:
        out = open(details, "w", encoding="utf-8") if details else None  # before the long run, so it cannot be lost
    except OSError as exc:
        fail(f"cannot write the details to {details} ({exc.strerror})")
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=stderr)

    def answered(event: AnswerProgress) -> None:
        bar.update(bar.task_ids[0], completed=event.done)
        if out is not None and event.result is not None:  # line by line: an interrupted run keeps what it asked
            out.write(json.dumps(event.result.to_json(), ensure_ascii=False) + "\n")
            out.flush()

    try:
        with opened_enclave(read_only=True) as enclave, bar:
            bar.add_task("questions", total=len(questions))
            report = evaluate_answers(enclave.assistant, questions, cli_user(), progress=answered)
    finally:
        if out is not None:
            out.close()
    if report.errors:
        first = next(r for r in report.results if r.error)
        stderr.print(f"[yellow]warning:[/yellow] {report.errors} of {report.questions} questions failed "
                     f"(first, {first.id}: {first.error})", highlight=False)
    if as_json:
        click.echo(json.dumps(report.to_json()))
        return
    click.echo(f"{answer_set}: {report.questions} questions")
    for label, value in (("citation precision", report.citation_precision), ("fact recall", report.fact_recall),
                         ("not-found accuracy", report.not_found_accuracy)):
        click.echo(f"  {label:<19} {value:.4f}")
    click.echo(f"  {'questions':<19} {report.questions}")
    click.echo(f"  {'s/question':<19} {report.seconds_per_question:.1f}")
