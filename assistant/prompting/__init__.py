"""Prompting: what the model is given, and the [n] markers it is asked to cite with.

prompt              the chat prompt: numbered passages as quoted data, the turns, the question, fitted to the window
conversation        follow-ups: the turns that fit, the question rewritten to stand alone
overview            questions about a whole document: its opening and outline
injection           sentences of a passage that address the assistant, cut before the prompt
injection_patterns  those sentences' patterns, by language
citations           the model's [n] markers: read, checked against the passages, stripped
translation         questions across languages: the query in the library's other languages, an answer in its sources'
"""

from assistant.prompting.citations import cited_numbers, remove_invalid_markers, strip_markers
from assistant.prompting.conversation import condense_question, recent_turns, stands_alone
from assistant.prompting.injection import REMOVED, Instruction, find_instructions, neutralize
from assistant.prompting.overview import asks_for_overview, build_outline, choose_document
from assistant.prompting.prompt import build_messages, estimate_tokens, format_passage, max_question_tokens
from assistant.prompting.translation import library_languages, other_languages, translate_query, translate_sentences

__all__ = [
    "REMOVED",
    "Instruction",
    "asks_for_overview",
    "build_messages",
    "build_outline",
    "choose_document",
    "cited_numbers",
    "condense_question",
    "estimate_tokens",
    "find_instructions",
    "format_passage",
    "library_languages",
    "max_question_tokens",
    "neutralize",
    "other_languages",
    "recent_turns",
    "remove_invalid_markers",
    "stands_alone",
    "strip_markers",
    "translate_query",
    "translate_sentences",
]
