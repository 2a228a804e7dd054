"""What Enclave says itself, in the question's language: "not found", and noticing when the model said so."""

from __future__ import annotations

import re

NOT_FOUND = {
    "en": "I could not find this in the documents you can access, so I won't guess. "
          "Try other words, or ask an admin whether the document has been added.",
    "es": "No he encontrado esto en los documentos a los que tienes acceso, así que no voy a adivinar. "
          "Prueba con otras palabras o pregunta a un administrador si el documento se ha añadido.",
    "de": "Ich habe dazu nichts in den Dokumenten gefunden, auf die Sie Zugriff haben, und rate deshalb nicht. "
          "Versuchen Sie es mit anderen Worten, oder fragen Sie einen Administrator, ob das Dokument hinzugefügt wurde.",
    "fr": "Je n'ai rien trouvé à ce sujet dans les documents auxquels vous avez accès, je ne vais donc pas deviner. "
          "Essayez d'autres mots, ou demandez à un administrateur si le document a été ajouté.",
}
NOTHING_FOUND = NOT_FOUND["en"]

# The model telling us the passages do not answer. Matched on the opening sentence of its reply: an answer that
# says later that one detail is missing is still an answer.
_DECLINES = re.compile(
    r"""
    \b(?:sources?|passages?|documents?|context|texts?|information\s+provided)\b[^.]{0,60}?
        \b(?:do(?:es)?\s+not|don't|doesn't|did\s+not)\s+(?:contain|say|mention|specify|provide|include|state|address|
        answer|give|describe|cover)
    | \b(?:is|are)\s+not\s+(?:mentioned|specified|provided|stated|included|given|available|described|covered)\b
    | \bno\s+(?:information|mention|details?|data)\s+(?:about|on|regarding|is|are|was|were|in|of)\b
    | \bnot\s+(?:able|possible)\s+to\s+(?:find|determine|answer)\b | \bcannot\s+(?:find|determine|answer)\b
    | \bcan't\s+(?:find|determine|answer)\b | \bI\s+(?:do\s+not|don't)\s+know\b | \bthere\s+is\s+no\s+information\b
    | \bno\s+(?:contienen?|mencionan?|se\s+menciona|especifica|hay\s+información|dice)\b
    | \bno\s+(?:encontr|pued)\w*\b
    | \b(?:enthalten|enthält|nennen|nennt|erwähnen|erwähnt)\s+(?:keine|nicht)\b | \bkeine\s+(?:Informationen|Angaben)\b
    | \bnicht\s+(?:erwähnt|angegeben|enthalten|genannt)\b
    | \bne\s+(?:contiennent|contient|mentionnent|mentionne|précisent|précise|disent|dit)\s+pas\b
    | \baucune\s+information\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
OPENING_CHARS = 240


def not_found_text(language: str | None) -> str:
    return NOT_FOUND.get(language or "en", NOTHING_FOUND)


def model_declined(answer: str) -> bool:
    """True when the model's reply opens by saying the passages do not answer the question."""
    opening = re.split(r"(?<=[.!?])\s", answer.strip(), maxsplit=1)[0]
    return bool(_DECLINES.search(opening[:OPENING_CHARS]))
