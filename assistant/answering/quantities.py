"""Does an answer give what a quantity question asks for?

Checking each sentence against the passages shows that what an answer states is there, not that it answers the
question. A small model asked "How many days of paid sick leave do employees get?" over a handbook that never says
answers with a true sentence about carrying leave over: supported, and no answer. One shape of question can be
checked without a model: a question asking how many, how much, how long, how often, or for a date or a day of the
month is answered with a quantity, a number in digits or in words. An answer to one that states none did not find
it, and Enclave says so. When the question names what it counts ("how many days"), a number in words must count
that ("one year to the next" does not answer it); digits always count, since a short answer ("647") names no unit.
"""

from __future__ import annotations

import re

# "How many …", "¿Cuántos …", "Wie viele …", "Combien …": in the languages the search stems (en, es, de, fr).
_ASKS = re.compile(
    r"\bhow (?:many|much|long|often|old|far|high|large|big|tall|heavy)\b"
    r"|\bwhat (?:percentage|proportion|share)\b|\b(?:what|which) (?:day of the month|date|year)\b"
    r"|\bqu[ée] (?:d[íi]a del mes|fecha|año)\b|\b(?:welche[sn]?|an welchem) (?:tag des monats|datum|jahr)\b"
    r"|\b(?:quel(?:le)?) (?:jour du mois|date|année)\b"
    r"|\bcu[áa]nt[oa]s?\b|\bqu[ée] (?:edad|porcentaje|cantidad)\b"
    r"|\bwie (?:viele?|lange|hoch|alt|oft|weit|gro(?:ß|ss)|schwer)\b|\bab wie vielen?\b"
    r"|\bcombien\b|\bquel (?:âge|pourcentage)\b",
    re.IGNORECASE,
)

# The word after "how many" / "cuántos" / "wie viele" / "combien de": what is counted.
_COUNTED = re.compile(
    r"\b(?:how (?:many|much)|cu[áa]nt[oa]s?|wie viele?n?|combien d(?:e |'|’))\s*(?:of\s+)?([^\W\d_]+)",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_WORDS = {
    "en": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
          "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion "
          "dozen dozens half quarter once twice first second third last fourth fifth sixth seventh eighth ninth tenth "
          "single double triple annual annually daily weekly monthly yearly",
    "es": "un una uno dos tres cuatro cinco seis siete ocho nueve diez once doce quince veinte treinta cuarenta "
          "cincuenta cien ciento cientos mil millón millones medio media primer primero primera segundo tercero "
          "anual mensual diario semanal",
    "de": "ein eine einen einem einer eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf halb halbe "
          "einmal zweimal dreimal erste ersten zweite zweiten dritte dritten jährlich monatlich täglich wöchentlich",
    "fr": "un une deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente quarante cinquante "
          "cent cents mille million millions demi demie premier première deuxième troisième annuel mensuel",
}
_NUMBER_WORD = re.compile(
    r"\b(?:" + "|".join(sorted({w for words in _WORDS.values() for w in words.split()}, key=len, reverse=True))
    + r")\b"
    # German writes numbers as one word ("fünfzigtausend", "dreihundert", "zwanzig"), Spanish some ("veintidós").
    r"|\b\w*(?:zehn|zig|ßig|hundert|tausend|million|milliard)\w*\b|\bveinti\w+|\b\w+cient[oa]s\b",
    re.IGNORECASE,
)


def asks_for_quantity(question: str) -> bool:
    return bool(_ASKS.search(question))


def answers_quantity(question: str, answer: str) -> bool:
    """The answer states a number in digits, or in words (cardinal, ordinal, or a frequency such as "twice" or
    "monthly") followed within three words by what the question counts, when it names it."""
    if _DIGIT.search(answer):
        return True
    counted = _COUNTED.search(question)
    unit = _unit_prefix(counted.group(1)) if counted else ""
    for match in _NUMBER_WORD.finditer(answer):
        if not unit:
            return True
        following = re.findall(r"[^\W\d_]+", answer[match.end():])[:3]
        if any(word.casefold().startswith(unit) for word in following):
            return True
    return False


def _unit_prefix(word: str) -> str:
    """Enough of the counted word to meet its plural or singular: "days" → "day", "appearances" → "appea"."""
    word = word.casefold()
    return word[: max(3, min(5, len(word) - 1))]
