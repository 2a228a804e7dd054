"""Questions in Spanish, German and French (and across languages) against the shared documents: where does the
matching document rank, for dense, sparse and hybrid retrieval?

    .venv/bin/python bench/languages.py [--data-dir DIR] [--k 10]

Ingests ../shared/data/docs into DIR (reused when it is already there; default: a folder under /tmp), then asks each
question as an admin through the assistant's Retriever and prints the rank of the first passage from an expected
document (— when none is in the top k), per method.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import enforce_offline  # noqa: E402

enforce_offline()

from assistant.models import User  # noqa: E402
from assistant.retrieval.search import Retriever  # noqa: E402
from ingest.pipeline.ingestor import open_ingestor  # noqa: E402
from ingest.settings import load_settings  # noqa: E402

DOCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "docs"
RGPD = ("rgpd-reglamento-ue-2016-679-es.md", "rgpd-capitulos-1-3-es.pdf", "rgpd-capitulos-1-3-es.docx")
BDSG = ("bdsg-2018-bundesdatenschutzgesetz-de.md",)

# (language of the question → language of the document, question, documents that answer it)
CASES = [
    ("es→es", "¿Qué derechos tiene el interesado para acceder a sus datos personales?", RGPD),
    ("es→es", "¿Cuándo debe notificarse una violación de la seguridad de los datos a la autoridad de control?", RGPD),
    ("es→es", "¿Qué es el consentimiento del interesado?", RGPD),
    ("de→de", "Welche Aufgaben hat die oder der Bundesbeauftragte für den Datenschutz?", BDSG),
    ("de→de", "Wann dürfen öffentliche Stellen Videoüberwachung einsetzen?", BDSG),
    ("fr→fr", "Quel formulaire envoyer à l'employeur en cas d'arrêt de travail ?", ("cerfa-14411-arret-de-travail-fr.pdf",)),
    ("es→en", "¿Cuántos portátiles se entregaron y en qué fecha?", ("memo-supply-delivery.pdf",)),
    ("es→en", "¿Cuántas Copas Stanley ha ganado cada equipo?", ("stanley-cups.xlsx",)),
    ("de→es", "Welche Rechte hat die betroffene Person auf Auskunft über ihre personenbezogenen Daten?", RGPD + BDSG),
    ("en→es", "What rights does the data subject have to access their personal data?", RGPD + BDSG),
    ("en→de", "What are the tasks of the Federal Commissioner for Data Protection?", BDSG),
]
METHODS = ("dense", "sparse", "hybrid")
ADMIN = User(name="bench", groups=(), is_admin=True)


def rank_of(retriever: Retriever, question: str, expected: tuple[str, ...], method: str, k: int) -> int | None:
    passages = retriever.search(question, ADMIN, k=k, method=method)
    for rank, passage in enumerate(passages, start=1):
        if passage.chunk.document_name in expected:
            return rank
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "enclave-bench-languages")
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    ingestor = open_ingestor(load_settings(data_dir=args.data_dir, _env_file=None))
    try:
        files = [p for p in sorted(DOCS.iterdir()) if p.suffix not in (".tsv",) and p.name != "README.md"]
        results = ingestor.ingest(files)
        stored = sum(r.status in ("added", "updated", "unchanged") for r in results)
        print(f"{stored}/{len(files)} shared documents in {args.data_dir}")
        retriever = Retriever(ingestor.embedder, ingestor.sparse, ingestor.store)
        found = {m: 0 for m in METHODS}
        print(f"\n| languages | question | {' | '.join(METHODS)} |\n|---|---|{'---|' * len(METHODS)}")
        for languages, question, expected in CASES:
            ranks = {m: rank_of(retriever, question, expected, m, args.k) for m in METHODS}
            for m, r in ranks.items():
                found[m] += r == 1
            cells = " | ".join(str(ranks[m]) if ranks[m] else "—" for m in METHODS)
            print(f"| {languages} | {question} | {cells} |")
        print("\nfirst passage from a right document: "
              + ", ".join(f"{m} {found[m]}/{len(CASES)}" for m in METHODS))
    finally:
        ingestor.close()


if __name__ == "__main__":
    main()
