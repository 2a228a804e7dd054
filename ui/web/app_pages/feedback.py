"""Feedback (admins only): the thumbs up and down people gave answers on the Ask page, newest first, each with its
comment and a copy of the question, the answer, its cited chunks and the model; downloadable as CSV (as `enclave
feedback --csv`). Kept ENCLAVE_CONVERSATION_RETENTION_DAYS."""

from __future__ import annotations

import streamlit as st

from assistant import AssistantError, feedback_csv
from ui.web.identity import require_admin
from ui.web.session import get_enclave

admin = require_admin("read the feedback on answers")
st.title("Feedback")
try:
    ratings = get_enclave().conversations.list_feedback(admin)
except AssistantError as exc:
    st.error(f"The feedback cannot be read right now: {exc}", icon=":material/error:")
    st.stop()
up = sum(r.rating == "up" for r in ratings)
st.caption(f"{len(ratings)} ratings: {up} up, {len(ratings) - up} down.")
if ratings:
    st.download_button("Download as CSV", feedback_csv(ratings), file_name="enclave-feedback.csv", mime="text/csv",
                       key="download-feedback", icon=":material/download:")
    st.dataframe(
        [{"Given (UTC)": r.given_at.strftime("%Y-%m-%d %H:%M"), "Rating": "👍" if r.rating == "up" else "👎",
          "Comment": r.comment, "Question": r.question, "Answer": r.answer, "User": r.user,
          "Cited chunks": " ".join(r.chunk_ids), "Model": r.model} for r in ratings],
        hide_index=True, width="stretch",
    )
