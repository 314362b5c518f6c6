"""The hub's HTTP API as seen by the client: one method per call, answers parsed with `wire`.

Network errors, timeouts and 5xx answers are retried with exponential backoff (every call here is
safe to repeat: reads, decisions carrying their UUID, claims that are leases), within a total
deadline per call so a hub that accepts connections but never answers costs tens of seconds, not
minutes; then they become `HubUnreachable`. A 4xx becomes `HubRefused`; an answer that is not the
wire format becomes `HubAnswerInvalid`. All three are `UserError`s with one sentence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from moderation_hub import wire
from moderator_app import __version__
from moderator_app.core.errors import UserError

DEFAULT_CONNECT_SECONDS = 5.0
# The hub's largest answer (a page of 1,000 proposals) takes well under a second; 15 s of silence
# means it is not answering.
DEFAULT_READ_SECONDS = 15.0
DEFAULT_TIMEOUT = httpx.Timeout(DEFAULT_READ_SECONDS, connect=DEFAULT_CONNECT_SECONDS)
DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF_SECONDS = 0.5
# Tries and pauses of one call stop here, however many attempts are left.
DEFAULT_DEADLINE_SECONDS = 35.0

# Besides 5xx: request timeout and rate limiting are worth another try too.
_RETRY_LATER = frozenset({408, 429})

ModelT = TypeVar("ModelT", bound=BaseModel)
_QUESTIONS = TypeAdapter(list[wire.Question])


@dataclass(frozen=True)
class HubTimeouts:
    """How long one call may wait: per connection, per read, and in total over its retries."""

    connect: float = DEFAULT_CONNECT_SECONDS
    read: float = DEFAULT_READ_SECONDS
    deadline: float = DEFAULT_DEADLINE_SECONDS
    attempts: int = DEFAULT_ATTEMPTS

    def httpx_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read, connect=self.connect)


# Called before each new try: (the try about to start, the tries allowed, why the last failed).
RetryCallback = Callable[[int, int, str], None]


class HubUnreachable(UserError):
    """The hub could not be reached or kept failing (network, timeout, 5xx): offline."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class HubRefused(UserError):
    """The hub understood the request and refused it (4xx)."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class HubAnswerInvalid(UserError):
    """The hub answered something that is not the wire format (wrong URL, proxy page, bug)."""


def normalise_hub_url(url: str) -> str:
    """The form the client keys everything on: scheme://host[:port][/path] without trailing '/'."""
    text = url.strip()
    parsed = httpx.URL(text)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UserError(f"not a hub address: {text!r} (expected e.g. https://hub.example.org)")
    return text.rstrip("/")


def _capped(timeout: httpx.Timeout, seconds: float) -> httpx.Timeout:
    """`timeout` with no part longer than `seconds` (what is left of a call's deadline)."""

    def cap(value: float | None) -> float:
        return seconds if value is None else min(value, seconds)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class HubClient:
    """Calls to one hub with one token. The `httpx.Client` is owned (and closed) by the caller."""

    def __init__(
        self,
        http: httpx.Client,
        hub_url: str,
        token: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        on_retry: RetryCallback | None = None,
    ) -> None:
        self.http = http
        self.hub_url = normalise_hub_url(hub_url)
        self._headers = {
            "Authorization": f"Bearer {token}",
            "User-Agent": f"moderator-app/{__version__}",
        }
        self._sleep = sleep
        self._attempts = max(1, attempts)
        self._backoff = backoff_seconds
        self._deadline = deadline_seconds
        self._clock = clock
        self._on_retry = on_retry

    # -- calls -------------------------------------------------------------------------------

    def me(self) -> wire.Me:
        return self._parse(wire.Me, self._request("GET", "/me", what="who you are"), "GET /me")

    def questions(self) -> list[wire.Question]:
        response = self._request("GET", "/questions", what="the questions")
        try:
            return _QUESTIONS.validate_json(response.content)
        except ValidationError as error:
            raise self._invalid("GET /questions", error) from error

    def proposals(self, since: int, limit: int) -> wire.ProposalPage:
        response = self._request(
            "GET", "/proposals", params={"since": since, "limit": limit}, what="proposals"
        )
        return self._parse(wire.ProposalPage, response, "GET /proposals")

    def claim(self, count: int, question: str | None, ttl_seconds: int) -> list[wire.ProposalItem]:
        body = wire.ClaimRequest(count=count, question=question, ttl_seconds=ttl_seconds)
        response = self._request("POST", "/claims", json=body.model_dump(mode="json"), what="claim")
        return list(self._parse(wire.ClaimResponse, response, "POST /claims").items)

    def renew(
        self, proposal_ids: Sequence[int] | None, ttl_seconds: int
    ) -> list[wire.ProposalItem]:
        body = wire.RenewRequest(
            proposal_ids=None if proposal_ids is None else list(proposal_ids),
            ttl_seconds=ttl_seconds,
        )
        response = self._request(
            "POST", "/claims/renew", json=body.model_dump(mode="json"), what="renew claims"
        )
        return list(self._parse(wire.ClaimResponse, response, "POST /claims/renew").items)

    def release(self, proposal_id: int) -> wire.ProposalItem:
        response = self._request("DELETE", f"/claims/{proposal_id}", what="release a claim")
        return self._parse(wire.ProposalItem, response, "DELETE /claims")

    def push(self, decisions: Sequence[wire.DecisionIn]) -> list[wire.DecisionResult]:
        body = {"decisions": [decision.model_dump(mode="json") for decision in decisions]}
        response = self._request("POST", "/decisions", json=body, what="decisions")
        return list(self._parse(wire.DecisionResults, response, "POST /decisions").results)

    # -- plumbing ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, what: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.hub_url}{wire.API_PREFIX}{path}"
        reason = ""
        started = self._clock()
        tried = 0
        for attempt in range(self._attempts):
            if attempt:
                pause = self._backoff * 2 ** (attempt - 1)
                if self._clock() - started + pause >= self._deadline:
                    break  # no time left for another try
                if self._on_retry is not None:
                    self._on_retry(attempt + 1, self._attempts, reason)
                self._sleep(pause)
            remaining = self._deadline - (self._clock() - started)
            if remaining <= 0:
                break
            tried += 1
            try:
                response = self.http.request(
                    method,
                    url,
                    headers=self._headers,
                    timeout=_capped(self.http.timeout, remaining),
                    **kwargs,
                )
            except httpx.TimeoutException:
                reason = "no answer in time"
                continue
            except httpx.TransportError as error:
                reason = _one_line(str(error) or type(error).__name__)
                continue
            if response.status_code >= 500 or response.status_code in _RETRY_LATER:
                reason = f"server error {response.status_code}"
                response.close()
                continue
            if response.status_code >= 400:
                raise self._refused(response, what)
            return response
        attempts = f"{tried} attempt" + ("s" if tried != 1 else "")
        raise HubUnreachable(
            f"hub {self.hub_url} unreachable after {attempts} ({reason}); work continues offline",
            reason,
        )

    def _refused(self, response: httpx.Response, what: str) -> HubRefused:
        status = response.status_code
        if status == 401:
            return HubRefused(
                f"hub {self.hub_url} rejected the token; run `moderator-app login` again", status
            )
        if status == 403:
            return HubRefused(f"your hub account may not do this ({what})", status)
        try:
            body = wire.ErrorBody.model_validate_json(response.content)
            detail = body.detail + (f" (field {body.field})" if body.field else "")
        except ValidationError:
            detail = f"HTTP {status}"
        return HubRefused(f"hub refused {what}: {_one_line(detail)}", status)

    def _parse(self, model: type[ModelT], response: httpx.Response, call: str) -> ModelT:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            raise self._invalid(call, error) from error

    def _invalid(self, call: str, error: ValidationError) -> HubAnswerInvalid:
        first = error.errors()[0] if error.errors() else {"msg": "unreadable"}
        return HubAnswerInvalid(
            f"hub {self.hub_url} sent an unreadable answer to {call} ({_one_line(first['msg'])}); "
            "check the server address"
        )
