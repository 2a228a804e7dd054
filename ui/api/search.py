"""`/v1/search`: retrieval only, no LLM: the passages the caller's account may see (the filter runs inside the vector
search), recorded in the audit trail as a search."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from assistant import Enclave, KeyHolder
from ui.api.auth import caller
from ui.api.schemas import SearchHit, SearchRequest, SearchResults

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", summary="The passages that best match a query, among the documents the caller may see")
def search(body: SearchRequest, request: Request, holder: KeyHolder = Depends(caller)) -> SearchResults:
    enclave: Enclave = request.app.state.enclave
    passages = enclave.assistant.search(body.query, holder.user, k=body.k, method=body.method,
                                        translate=body.translate)
    return SearchResults(data=[
        SearchHit(n=p.n, document=p.chunk.document_name, page=p.chunk.page, chunk_id=p.chunk.chunk_id,
                  text=p.chunk.text, score=p.score)
        for p in passages
    ])  # fmt: skip
