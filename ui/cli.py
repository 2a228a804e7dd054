"""The `enclave` command line: ingest, reindex, search, ask, remove, documents, llm serve, app, up."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, NoReturn

import click
from rich.console import Console

from ingest import IngestError, StoreUnavailable, enforce_offline

if TYPE_CHECKING:
    from assistant import AnswerProgress, Enclave, User

# Exit codes are part of the public contract: scripts rely on them.
EXIT_OK = 0
EXIT_FAILED_FILES = 1
EXIT_UNAVAILABLE = 2

stderr = Console(stderr=True, soft_wrap=True)  # one error, one line: scripts read it


def fail(message: str, code: int = EXIT_UNAVAILABLE) -> NoReturn:
    stderr.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    sys.exit(code)


@contextmanager
def opened_enclave(*, read_only: bool, warm_parsers: bool = False) -> Iterator[Enclave]:
    """Load settings and open the store and models, turning start-up problems into one clear line.
    read_only: a command that changes no document (no parse workers, no repair).
    warm_parsers: start the parse workers while the models load (commands that ingest)."""
    from assistant import AssistantError, load_assistant_settings, open_enclave
    from ingest import load_settings

    try:
        ingest_settings = load_settings()
        assistant_settings = load_assistant_settings()
        with stderr.status("loading the embedding model and the document store…"):
            enclave = open_enclave(ingest_settings, assistant_settings, read_only=read_only,
                                   warm_parsers=warm_parsers)
    except (IngestError, AssistantError) as exc:
        fail(str(exc))
    try:
        yield enclave
    finally:
        enclave.close()


def cli_user() -> User:
    """Whoever runs the command line: an admin, named by their login (they can read the data folder anyway)."""
    import getpass

    from assistant import User

    return User(name=getpass.getuser(), groups=("everyone",), is_admin=True)


@click.group()
@click.version_option(package_name="enclave")
def main() -> None:
    """Enclave: a private assistant that answers from your documents, with citations."""
    enforce_offline()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--sync", is_flag=True, help="Also remove stored documents whose files are gone from these folders.")
@click.option("--group", "groups", multiple=True, default=("everyone",), show_default=True,
              help="Group allowed to see these documents (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print per-file results as a JSON list.")
def ingest(paths: tuple[str, ...], sync: bool, groups: tuple[str, ...], as_json: bool) -> None:
    """Parse, chunk, embed and store files or folders (recursively)."""
    from ingest import summarize

    with opened_enclave(read_only=False, warm_parsers=True) as enclave:
        results = run_batch(lambda progress: enclave.ingest(
            paths, cli_user(), groups=groups, sync=sync, progress=progress
        ))
    report_batch(results, as_json, summarize(results))


@main.command()
@click.argument("documents", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Re-index every stored document.")
@click.option("--json", "as_json", is_flag=True, help="Print per-document results as a JSON list.")
def reindex(documents: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Parse, chunk and embed stored documents again from their kept files, by id, file name or path (or --all).

    For after a change of the chunking or embedding settings, or a parser fix: unchanged files are read again
    too. Each document gets a new version; one whose file is gone is kept as it is, and reported.
    """
    if bool(documents) == everything:
        raise click.UsageError("name the documents to re-index, or give --all (not both)")
    with opened_enclave(read_only=False, warm_parsers=True) as enclave:
        user = cli_user()
        if everything:
            results = run_batch(lambda progress: enclave.reindex_all(user, progress=progress))
        else:
            results = run_batch(lambda progress: enclave.reindex(documents, user, progress=progress))
    failed = sum(r.status == "failed" for r in results)
    report_batch(results, as_json, f"{len(results)} documents: {len(results) - failed} re-indexed, {failed} failed")


def run_batch(work: Callable[[Callable], list]) -> list:
    """Run an ingest or re-index with progress bars on stderr; exit 2 with one line when the store is unreachable."""
    from ui.progress import IngestProgress

    try:
        with IngestProgress(stderr) as progress:
            return work(progress)
    except StoreUnavailable as exc:
        fail(str(exc))


def report_batch(results: list, as_json: bool, summary: str) -> NoReturn:
    """Print per-file results (JSON) or the summary line; exit 1 when any file failed, else 0."""
    if as_json:
        click.echo(json.dumps([r.to_json() for r in results], ensure_ascii=False, indent=2))
    else:
        click.echo(summary)
    sys.exit(EXIT_FAILED_FILES if any(r.status == "failed" for r in results) else EXIT_OK)


@main.command()
@click.argument("query")
@click.option("-k", "k", default=10, show_default=True, help="How many passages to show.")
@click.option("--method", type=click.Choice(["dense", "sparse", "hybrid"]), default=None,
              help="Retrieval method (default: ENCLAVE_SEARCH_METHOD, hybrid).")
@click.option("--json", "as_json", is_flag=True, help="Print the passages as JSON.")
def search(query: str, k: int, method: str | None, as_json: bool) -> None:
    """Retrieval only, no LLM: the top passages for QUERY."""
    from assistant import AssistantError

    with opened_enclave(read_only=True) as enclave:
        try:
            passages = enclave.assistant.search(query, cli_user(), k=k, method=method)
        except AssistantError as exc:
            fail(str(exc))
    if as_json:
        rows = [
            {"document": p.chunk.document_name, "page": p.chunk.page, "chunk_id": p.chunk.chunk_id,
             "score": p.score, "text": p.chunk.text}
            for p in passages
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not passages:
        click.echo("No matching passages.")
    for p in passages:
        page = f", page {p.chunk.page}" if p.chunk.page is not None else ""
        click.echo(f"{p.n}. {p.chunk.document_name}{page}  (score {p.score:.4f})")
        text = " ".join(p.chunk.text.split())
        click.echo(f"   {text[:400]}{'…' if len(text) > 400 else ''}\n")


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True,
              help="Print {answer, citations, sentences, also_retrieved, not_found, ...} as JSON.")
def ask(question: str, as_json: bool) -> None:
    """Answer QUESTION from the stored documents, with numbered sources.

    The answer streams as the model writes it, then is checked against its sources: citations are corrected,
    a sentence no source supports is listed as unsupported, and "not found" is said plainly.
    """
    from assistant import AssistantError

    with opened_enclave(read_only=True) as enclave:
        try:
            stream = enclave.assistant.ask(question, cli_user())
            if as_json:
                answer = stream.read()
            else:
                for text in stream:
                    click.echo(text, nl=False)
                click.echo()
                answer = stream.read()  # the stream has ended: the checked answer
        except AssistantError as exc:
            if not as_json:
                click.echo()
            fail(str(exc))
    if as_json:
        click.echo(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return
    if answer.text.strip() != stream.partial_text.strip():
        click.echo("\nChecked against the sources:\n" + answer.text)
    for sentence in answer.unsupported:
        click.echo(f"\nNot supported by the sources: {sentence.text}")
    for warning in answer.warnings:
        click.echo(f"\nWarning: {warning}")
    if answer.citations:
        click.echo("\nSources:")
        for c in answer.citations:
            page = f", page {c.page}" if c.page is not None else ""
            click.echo(f"  [{c.n}] {c.document}{page}")
    if answer.retrieved:
        click.echo("\nAlso retrieved (not cited):")
        for c in answer.retrieved:
            page = f", page {c.page}" if c.page is not None else ""
            click.echo(f"  [{c.n}] {c.document}{page}")


@main.command()
@click.argument("documents", nargs=-1, required=True)
def remove(documents: tuple[str, ...]) -> None:
    """Delete stored documents by id, file name or path."""
    with opened_enclave(read_only=False) as enclave:
        results = enclave.remove(documents, cli_user())
    for r in results:
        click.echo(f"{r.status} {r.path}" + (f": {r.reason}" if r.reason else ""))
    sys.exit(EXIT_FAILED_FILES if any(r.status == "failed" for r in results) else EXIT_OK)


@main.command()
@click.option("--json", "as_json", is_flag=True)
def documents(as_json: bool) -> None:
    """List stored documents."""
    with opened_enclave(read_only=True) as enclave:
        records = enclave.documents()
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in records], ensure_ascii=False, indent=2, default=list))
        return
    for r in records:
        click.echo(f"{r.document_id}  v{r.version}  {r.chunks:>5} chunks  {r.name}")
    click.echo(f"{len(records)} documents")


@main.group()
def llm() -> None:
    """The LLM server."""


@llm.command("serve")
@click.option("--engine", type=click.Choice(["llama.cpp", "vllm"]), default="llama.cpp", show_default=True)
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: ENCLAVE_LLM_PORT, 8088).")
def llm_serve(engine: str, port: int | None) -> None:
    """Start the LLM server (llama.cpp with the packaged model, or vLLM with gpt-oss on a GPU host)."""
    from assistant import AssistantError, run_llm_server
    from ui.settings import load_ui_settings

    try:
        sys.exit(run_llm_server(engine, load_ui_settings(), port))
    except (AssistantError, IngestError) as exc:
        fail(str(exc))


@main.group("eval")
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
    from ui.progress import IngestProgress

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


@main.command()
def app() -> None:
    """Start the Streamlit app."""
    from ui.launcher import run_app
    from ui.settings import load_ui_settings

    try:
        sys.exit(run_app(load_ui_settings()))
    except IngestError as exc:
        fail(str(exc))


@main.command()
@click.option("--llm/--no-llm", "with_llm", default=True, help="Also start the embedded LLM server.")
def up(with_llm: bool) -> None:
    """Start the embedded LLM server and the app, wait until both are healthy, print the URL."""
    from assistant import AssistantError
    from ui.errors import UIError
    from ui.launcher import run_stack
    from ui.settings import load_ui_settings

    try:
        sys.exit(run_stack(load_ui_settings(), with_llm=with_llm))
    except (UIError, AssistantError, IngestError) as exc:
        fail(str(exc))


if __name__ == "__main__":
    main()
