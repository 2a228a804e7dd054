"""Who is calling: the API key in `Authorization: Bearer`, checked at every call against the accounts (a revoked key,
or one whose account was removed, is refused at once; a changed role or group applies at once), then its rate limit."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant import ApiKeys, KeyHolder
from ui.api.errors import ApiError
from ui.api.limits import RateLimiter

bearer = HTTPBearer(auto_error=False, description="An API key from `enclave keys create USER`.")

NO_KEY = ("no API key: send one as `Authorization: Bearer KEY` (an admin makes one with `enclave keys create USER`; "
          "with the openai package, OpenAI(api_key=KEY, base_url=...))")
BAD_KEY = ("the API key is not valid: it is unknown, was revoked, or its account was removed. Ask an admin for a new "
           "one (`enclave keys create USER`)")


def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> KeyHolder:
    """The key's holder as the account is now; 401 without a valid key, 429 past the key's rate limit."""
    if credentials is None:
        raise ApiError(401, NO_KEY, code="missing_api_key", headers={"WWW-Authenticate": "Bearer"})
    keys: ApiKeys = request.app.state.keys
    holder = keys.holder(credentials.credentials)
    if holder is None:
        raise ApiError(401, BAD_KEY, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.take(holder.key_id)
    if wait:
        raise ApiError(429, f"this API key made more than {limiter.per_minute} calls in a minute "
                            f"(ENCLAVE_API_REQUESTS_PER_MINUTE): try again in {wait} s",
                       "requests", "rate_limit_exceeded", headers={"Retry-After": str(wait)})
    return holder


def admin(holder: KeyHolder = Depends(caller)) -> KeyHolder:
    """The caller, if their account is an admin's now; 403 otherwise (before anything sent is saved)."""
    if not holder.user.is_admin:
        raise ApiError(403, f"{holder.user.name} may not add or delete documents: only admins can",
                       "permission_error", "not_allowed")
    return holder
