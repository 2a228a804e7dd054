"""The relevance gate: whether a passage holds evidence of answering the question. When no passage passes, the
assistant says nothing was found instead of calling the model."""

from __future__ import annotations

from assistant.models import Passage

# A passage holding most of the question's words passes a little below min_relevance (0.3 with the defaults). Added
# after the answer set showed a short e-mail question refused (cosine 0.35, 75 % of its words); on SciFact it moves
# the calibrated figures by at most 0.003 (docs/relevance.md). Only for a question of four content words or more
# (a word counts as two terms, its form and its stem): two words of three ("What is our annual leave policy?" and a
# passage on the annual report's policy) are not evidence.
MOST_WORDS = 0.6
MOST_WORDS_MIN_TERMS = 8
LOOSER = 0.1


def is_relevant(passage: Passage, min_relevance: float, min_semantic_relevance: float,
                min_coverage: float = 0.0) -> bool:
    """Evidence from either signal: close in meaning on its own, or somewhat close and sharing enough of the
    question's words (`min_coverage` of its terms; at least one). Short passages (a date, a name) sit near every
    question in embedding space, and a passage that shares one word ("leave") with a question about something else
    is not an answer: the shared-words test keeps both from being passed off as one. Thresholds: docs/relevance.md."""
    if passage.relevance is None:
        return True
    if passage.relevance >= min_semantic_relevance:
        return True
    if (passage.coverage is not None and passage.coverage >= max(MOST_WORDS, min_coverage)
            and (passage.question_terms or 0) >= MOST_WORDS_MIN_TERMS and passage.relevance >= min_relevance - LOOSER):
        return True  # most of a short question's words ("What did Mallori say the attachment includes?")
    if passage.coverage is not None and passage.coverage < min_coverage:
        return False
    return passage.relevance >= min_relevance and bool(passage.shared_terms)
