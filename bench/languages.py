"""Questions across languages over the shared documents: where does a right document rank, and does it reach the
model, without and with the question translated into the library's other languages by the configured LLM?

    .venv/bin/python bench/languages.py [--data-dir DIR] [--k 10] [--llm-url URL] [--answers]

Ingests ../shared/data/docs into DIR (reused when it is already there; default: a folder under /tmp). Without
--llm-url it starts the packaged chat model (Qwen2.5-Coder-1.5B, `make model`) with llama.cpp on a free loopback port.
Each question is asked as an admin: the rank of the first passage from a right document in the first stage (hybrid,
top k), before and after translation, and whether one reaches the model (the assistant's retrieval, after the
relevance gate: at most ENCLAVE_TOP_K passages). Prints a table per question, the totals for the cross-language
pairs and for the same-language ones (which translation must not break), and what translating cost per question.
--answers then asks each cross-language question end to end (ENCLAVE_TRANSLATE_QUESTIONS on): is it answered, with a
citation of a right document, once the answer is checked against its passages in their language?
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import enforce_offline  # noqa: E402

enforce_offline()

from assistant.answering.assistant import Assistant  # noqa: E402
from assistant.llm import LLMClient, LlamaCppServer, find_free_port, load_llm_server_settings  # noqa: E402
from assistant.models import Passage, User  # noqa: E402
from assistant.retrieval.search import Retriever  # noqa: E402
from assistant.settings import load_assistant_settings  # noqa: E402
from ingest.pipeline.ingestor import open_ingestor  # noqa: E402
from ingest.settings import load_settings  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "docs"
RGPD = ("rgpd-reglamento-ue-2016-679-es.md", "rgpd-capitulos-1-3-es.pdf", "rgpd-capitulos-1-3-es.docx")
BDSG = ("bdsg-2018-bundesdatenschutzgesetz-de.md",)
MEMO = ("memo-supply-delivery.pdf",)
SEC = ("sec-10k-galaxy-gaming-excerpt.html",)

# (language of the question → language of the document, question, documents that answer it). The cross-language
# questions are those of bench/answers.jsonl (written against these documents) in another language.
CROSS = [
    ("es→en", "¿Cuántas botellas de agua se entregaron?", MEMO),
    ("es→en", "¿Cuándo nació Iwan Roberts?", ("norwich-city-iwan-roberts.txt",)),
    ("es→en", "¿Cuántas Copas Stanley han ganado los Maple Leafs?", ("stanley-cups.xlsx",)),
    ("es→en", "¿Quién hizo las ilustraciones en color de Winter Sports in Switzerland?",
     ("winter-sports-in-switzerland-benson.epub",)),
    ("es→en", "¿Qué actividades están previstas para el día de la familia?", ("family-day.eml",)),
    ("es→en", "¿Con qué frecuencia deben cambiarse las contraseñas del sistema informático del fideicomisario?",
     ("doj-chapter13-trustee-handbook.docx",)),
    ("de→en", "Wie viele Stammaktien hatte Galaxy Gaming im März 2022 ausstehend?", SEC),
    ("de→en", "Welche Netzwerke verwendet DPR als Encoder für Fragen und Passagen?",
     ("dense-passage-retrieval-paper.pdf",)),
    ("de→en", "Wie lange müssen die Hauptbücher für den Jahresbericht aufbewahrt werden?",
     ("doj-chapter13-trustee-handbook.docx",)),
    ("de→en", "Welcher Adsorptionsisotherme folgt der Eierschalen-Inhibitor auf Edelstahl?",
     ("corrosion-inhibitor-data-tables.pdf",)),
    ("de→en", "Wer ist die Gastgeberin, die zu Beginn von Krieg und Frieden spricht?", ("war-and-peace-tolstoy.txt",)),
    ("fr→en", "Combien de couvertures et d'ordinateurs portables ont été livrés ?", MEMO),
    ("fr→en", "Quel est le code de la division des sciences héliophysiques de Goddard ?",
     ("nasa-gsfc-science-directorate.pptx",)),
    ("fr→en", "Dans quelle ville se trouvent les bureaux principaux de Galaxy Gaming ?", SEC),
    ("fr→en", "Quelle commande pip installe unstructured avec la prise en charge de tous les types de documents ?",
     ("unstructured-readme.md",)),
    ("fr→en", "Pour quelle année fiscale est le formulaire 1040 prérempli ?", ("irs-form-1040-prefilled.pdf",)),
    ("en→es", "From what age may a child consent to the processing of their own personal data?", RGPD),
    ("en→es", "Within what time must the controller respond to a request from a data subject?", RGPD),
    ("en→es", "What other name is the right to erasure known by?", RGPD),
    ("en→de", "How long is the term of office of the Federal Commissioner for Data Protection?", BDSG),
    ("en→de", "What is the highest fine under the administrative fine provisions of the BDSG?", BDSG),
    ("de→es", "Ab welchem Alter darf ein Kind selbst in die Verarbeitung seiner personenbezogenen Daten einwilligen?",
     RGPD),
    ("fr→de", "Où se trouve le siège du commissaire fédéral à la protection des données ?", BDSG),
    ("es→de", "¿Cuánto dura el mandato del Comisionado Federal de Protección de Datos?", BDSG),
]
SAME = [
    ("es→es", "¿Qué derechos tiene el interesado para acceder a sus datos personales?", RGPD),
    ("es→es", "¿Cuándo debe notificarse una violación de la seguridad de los datos a la autoridad de control?", RGPD),
    ("de→de", "Welche Aufgaben hat die oder der Bundesbeauftragte für den Datenschutz?", BDSG),
    ("de→de", "Wann dürfen öffentliche Stellen Videoüberwachung einsetzen?", BDSG),
    ("fr→fr", "Quel formulaire envoyer à l'employeur en cas d'arrêt de travail ?",
     ("cerfa-14411-arret-de-travail-fr.pdf",)),
    ("en→en", "How many bottles of water were delivered?", MEMO),
    ("en→en", "When was Iwan Roberts born?", ("norwich-city-iwan-roberts.txt",)),
    ("en→en", "How many common shares did Galaxy Gaming have outstanding in March 2022?", SEC),
    ("en→en", "Which networks does DPR use as its question and passage encoders?",
     ("dense-passage-retrieval-paper.pdf",)),
    ("en→en", "How many Stanley Cups have the Maple Leafs won?", ("stanley-cups.xlsx",)),
]
ADMIN = User(name="bench", groups=(), is_admin=True)


def rank_of(passages: list[Passage], expected: tuple[str, ...]) -> int | None:
    for rank, passage in enumerate(passages, start=1):
        if passage.chunk.document_name in expected:
            return rank
    return None


def show(rank: int | None) -> str:
    return str(rank) if rank else "—"


def answer_all(assistant: Assistant) -> None:
    print("\n| languages | question | answer | cited | seconds |\n|---|---|---|---|---|")
    answered = cited = 0
    seconds: list[float] = []
    for pair, question, expected in CROSS:
        started = time.perf_counter()
        answer = assistant.ask(question, ADMIN).read()
        seconds.append(time.perf_counter() - started)
        right = any(c.document in expected for c in answer.citations)
        answered += not answer.not_found
        cited += right
        text = "(not found)" if answer.not_found else " ".join(answer.text.split())[:160]
        print(f"| {pair} | {question} | {text} | {'right' if right else '—'} | {seconds[-1]:.0f} |", flush=True)
    n = len(CROSS)
    print(f"\nanswers across languages: {answered}/{n} answered, {cited}/{n} citing a right document; "
          f"{statistics.median(seconds):.0f} s median per question (translation, retrieval, answer and its check)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "enclave-bench-languages")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--llm-url", default="", help="an OpenAI-compatible server; default: start the packaged model")
    parser.add_argument("--answers", action="store_true", help="also answer each cross-language question end to end")
    args = parser.parse_args()

    with ExitStack() as stack:
        ingestor = open_ingestor(load_settings(data_dir=args.data_dir, _env_file=None))
        stack.callback(ingestor.close)
        files = [p for p in sorted(DOCS.iterdir()) if p.suffix not in (".tsv",) and p.name != "README.md"]
        results = ingestor.ingest(files)
        stored = sum(r.status in ("added", "updated", "unchanged") for r in results)
        languages = sorted({r.language or "?" for r in ingestor.registry.all()})
        print(f"{stored}/{len(files)} shared documents in {args.data_dir}; their languages: {', '.join(languages)}")
        url = args.llm_url
        if not url:
            server = stack.enter_context(LlamaCppServer(load_llm_server_settings(llm_port=find_free_port())))
            url = server.base_url
        settings = load_assistant_settings(llm_base_url=url, _env_file=None)
        llm = LLMClient(url, timeout=settings.llm_timeout)
        retriever = Retriever(ingestor.embedder, ingestor.sparse, ingestor.store)
        assistant = Assistant(settings, retriever, llm, documents=ingestor.registry.all)
        print(f"LLM {url} ({llm.model}); first stage: hybrid top {args.k}; the model gets at most {settings.top_k}")

        totals: dict[str, dict[str, int]] = {}
        costs: list[float] = []
        searches: dict[str, list[float]] = {"before": [], "after": []}
        print("\n| languages | question | rank before | rank after | reaches the model before | after | translations |")
        print("|---|---|---|---|---|---|---|")
        for kind, cases in (("cross-language", CROSS), ("same language", SAME)):
            total = totals.setdefault(kind, dict.fromkeys(("cases", "top1_before", "top1_after", "found_before",
                                                           "found_after", "model_before", "model_after"), 0))
            for pair, question, expected in cases:
                started = time.perf_counter()
                translations = assistant.translations(question, ADMIN)
                costs.append(time.perf_counter() - started)
                started = time.perf_counter()
                before = rank_of(retriever.search(question, ADMIN, k=args.k), expected)
                searches["before"].append(time.perf_counter() - started)
                started = time.perf_counter()
                after = rank_of(retriever.search(question, ADMIN, k=args.k, translations=translations), expected)
                searches["after"].append(time.perf_counter() - started)
                model_before = rank_of(assistant.retrieve(question, ADMIN), expected)
                model_after = rank_of(assistant.retrieve(question, ADMIN, translations), expected)
                total["cases"] += 1
                total["top1_before"] += before == 1
                total["top1_after"] += after == 1
                total["found_before"] += before is not None
                total["found_after"] += after is not None
                total["model_before"] += model_before is not None
                total["model_after"] += model_after is not None
                said = "; ".join(f"{code}: {text}" for code, text in translations.items())
                print(f"| {pair} | {question} | {show(before)} | {show(after)} | {'yes' if model_before else 'no'} "
                      f"| {'yes' if model_after else 'no'} | {said} |", flush=True)
        for kind, total in totals.items():
            n = total["cases"]
            print(f"\n{kind}, {n} questions: first passage from a right document {total['top1_before']}/{n} → "
                  f"{total['top1_after']}/{n}; one in the top {args.k} {total['found_before']}/{n} → "
                  f"{total['found_after']}/{n}; one reaches the model {total['model_before']}/{n} → "
                  f"{total['model_after']}/{n}")
        if args.answers:
            answer_all(assistant)
        print(f"\ncost per question: translating {statistics.median(costs):.2f} s median, {max(costs):.2f} s max "
              f"(one LLM call); the search {1000 * statistics.median(searches['before']):.0f} ms → "
              f"{1000 * statistics.median(searches['after']):.0f} ms median; per chunk: nothing")


if __name__ == "__main__":
    main()
