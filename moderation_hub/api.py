"""The HTTP API: translates requests into `HubStorage` calls and answers into JSON.

Build it with `create_app(storage)`; the storage lives on `app.state`, nothing is global.
Every 4xx carries a `wire.ErrorBody` naming the offending field when there is one.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moderation_hub import __version__, wire
from moderation_hub.errors import HubError
from moderation_hub.storage import (
    CAN_INGEST,
    CAN_MODERATE,
    CAN_READ_FEED,
    CAN_READ_PROPOSALS,
    CAN_REOPEN,
    HubStorage,
    Principal,
)

MAX_BODY_BYTES = 1_000_000

_log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid",
}


class ApiError(StarletteHTTPException):
    """An HTTP error with the field at fault."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.field = field


def _error(
    status: int, code: str, detail: str, field: str | None = None, **kw: Any
) -> JSONResponse:
    body = wire.ErrorBody(error=code, detail=detail, field=field)
    return JSONResponse(body.model_dump(), status_code=status, **kw)


def _json(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with a 413, whether or not they declare a length."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    await _send_error(send, 400, "bad_request", "invalid Content-Length header")
                    return
                if int(value) > self.max_bytes:
                    await _send_error(send, 413, "body_too_large", self._too_large())
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ApiError(413, self._too_large(), "body")
            return message

        await self.app(scope, limited_receive, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_bytes} bytes"


async def _send_error(send: Send, status: int, code: str, detail: str) -> None:
    body = wire.ErrorBody(error=code, detail=detail, field="body").model_dump_json().encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(storage: HubStorage) -> FastAPI:
    """The hub's ASGI application, serving `storage`."""
    app = FastAPI(
        title="Moderation hub",
        version=__version__,
        description="Queue, claims and decisions for moderating citizen proposals.",
    )
    app.state.storage = storage
    _install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.include_router(_routes(), prefix=wire.API_PREFIX)
    _document_decision_batch(app)
    return app


_bearer = HTTPBearer(
    auto_error=False, description="The API token `moderation-hub user add` printed"
)


def _storage(request: Request) -> HubStorage:
    storage: HubStorage = request.app.state.storage
    return storage


def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ApiError(
            401, "send an API token: Authorization: Bearer TOKEN", "Authorization", challenge
        )
    principal = _storage(request).authenticate(credentials.credentials)
    if principal is None:
        raise ApiError(401, "this API token is unknown or revoked", "Authorization", challenge)
    return principal


def _role(allowed: frozenset[str]) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in allowed:
            raise ApiError(
                403,
                f"the {principal.role} role may not do this "
                f"(allowed: {', '.join(sorted(allowed))})",
            )
        return principal

    return check


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": wire.ErrorBody} for code in (401, 403, 404, 409, 413, 422)
}


def _routes() -> APIRouter:
    # Parameter declarations are created per app: FastAPI fills in these objects when it first
    # analyses a route, so two apps (two embedded hubs) must never share them.
    ProposalIdPath = Annotated[int, Path(ge=1, le=wire.MAX_ID, description="the hub's proposal id")]
    Cursor = Annotated[
        int, Query(ge=0, le=wire.MAX_ID, description="the last change already seen (0: start)")
    ]
    PageSize = Annotated[int, Query(ge=1, le=wire.MAX_PAGE_SIZE)]
    StorageDep = Annotated[HubStorage, Depends(_storage)]
    AnyUser = Annotated[Principal, Depends(_principal)]
    Reader = Annotated[Principal, Depends(_role(CAN_READ_PROPOSALS))]
    Moderator = Annotated[Principal, Depends(_role(CAN_MODERATE))]
    Platform = Annotated[Principal, Depends(_role(CAN_INGEST))]
    Lead = Annotated[Principal, Depends(_role(CAN_REOPEN))]
    FeedReader = Annotated[Principal, Depends(_role(CAN_READ_FEED))]

    router = APIRouter(responses=_ERRORS)

    @router.get("/health", response_model=wire.Health, responses={})
    def health() -> Response:
        return _json(wire.Health(status="ok", version=__version__))

    @router.get("/me", response_model=wire.Me)
    def me(user: AnyUser) -> Response:
        return _json(wire.Me(name=user.name, role=user.role))

    @router.get("/questions", response_model=list[wire.Question])
    def questions(storage: StorageDep, user: AnyUser) -> list[wire.Question]:
        return storage.questions()

    @router.get("/proposals", response_model=wire.ProposalPage)
    def proposals(
        storage: StorageDep,
        user: Reader,
        since: Cursor = 0,
        limit: PageSize = wire.DEFAULT_PAGE_SIZE,
    ) -> Response:
        """Proposals changed after `since`, in change order; resume from `next_cursor`."""
        content = storage.changes_json(user, since, limit)
        return Response(content, media_type="application/json")

    @router.get("/proposals/{proposal_id}", response_model=wire.ProposalItem)
    def proposal(storage: StorageDep, user: Reader, proposal_id: ProposalIdPath) -> Response:
        return _json(storage.proposal(user, proposal_id))

    @router.post("/proposals", response_model=wire.IngestResults)
    def ingest(storage: StorageDep, user: Platform, batch: wire.IngestBatch) -> Response:
        """Add or update proposals (idempotent by question and external_id); all or nothing."""
        return _json(wire.IngestResults(results=storage.ingest(user, batch.proposals)))

    @router.post("/proposals/{proposal_id}/withdraw", response_model=wire.ProposalItem)
    def withdraw(
        storage: StorageDep,
        user: Platform,
        proposal_id: ProposalIdPath,
        body: wire.WithdrawRequest | None = None,
    ) -> Response:
        return _json(storage.withdraw(user, proposal_id, body.reason if body else None))

    @router.post("/proposals/{proposal_id}/reopen", response_model=wire.ProposalItem)
    def reopen(
        storage: StorageDep, user: Lead, proposal_id: ProposalIdPath, body: wire.ReopenRequest
    ) -> Response:
        return _json(storage.reopen(user, proposal_id, body.reason))

    @router.post("/claims", response_model=wire.ClaimResponse)
    def claim(storage: StorageDep, user: Moderator, body: wire.ClaimRequest) -> Response:
        """Claim up to `count` pending proposals nobody else holds, oldest first."""
        items = storage.claim(user, body.count, body.question, body.ttl_seconds)
        return _json(wire.ClaimResponse(items=items))

    @router.post("/claims/renew", response_model=wire.ClaimResponse)
    def renew(storage: StorageDep, user: Moderator, body: wire.RenewRequest) -> Response:
        items = storage.renew(user, body.proposal_ids, body.ttl_seconds)
        return _json(wire.ClaimResponse(items=items))

    @router.delete("/claims/{proposal_id}", response_model=wire.ProposalItem)
    def release(storage: StorageDep, user: Moderator, proposal_id: ProposalIdPath) -> Response:
        return _json(storage.release(user, proposal_id))

    @router.post("/decisions", response_model=wire.DecisionResults)
    def decide(storage: StorageDep, user: Moderator, batch: wire.DecisionBatchEnvelope) -> Response:
        """One result per decision: applied, duplicate, conflict or invalid."""
        return _json(wire.DecisionResults(results=storage.decide(user, batch.decisions)))

    @router.get("/decisions", response_model=wire.FeedPage)
    def feed(
        storage: StorageDep,
        user: FeedReader,
        since: Cursor = 0,
        limit: PageSize = wire.DEFAULT_PAGE_SIZE,
    ) -> Response:
        """Applied decisions recorded after `since`, in order."""
        return _json(storage.decision_feed(since, limit))

    return router


def _field_from_loc(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _install_error_handlers(app: FastAPI) -> None:
    async def hub_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HubError)
        return _error(exc.status_code, exc.code, exc.detail, exc.field)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        field = exc.field if isinstance(exc, ApiError) else None
        code = _STATUS_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return _error(exc.status_code, code, detail, field, headers=exc.headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = list(exc.errors())
        if not errors:
            return _error(422, "invalid", "the request is invalid")
        first = errors[0]
        field = _field_from_loc(first.get("loc", ()))
        message = str(first.get("msg", "invalid value"))
        if first.get("type") == "json_invalid":
            reason = str((first.get("ctx") or {}).get("error") or message)
            loc = first.get("loc", ())
            where = f" at character {loc[1]}" if len(loc) > 1 and isinstance(loc[1], int) else ""
            return _error(422, "invalid_json", f"malformed JSON: {reason}{where}", "body")
        if first.get("type") == "missing" and field == "body":
            return _error(422, "invalid", "a JSON body is required", "body")
        content_type = request.headers.get("content-type", "")
        if field == "body" and "json" not in content_type:
            return _error(
                422, "invalid", "send the body as JSON with Content-Type: application/json", "body"
            )
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return _error(422, "invalid", f"{field}: {message}{more}", field)

    async def unexpected(request: Request, exc: Exception) -> Response:
        _log.exception("unexpected error serving %s %s", request.method, request.url.path)
        return _error(500, "internal", "the hub failed unexpectedly; the error is in its log")

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        HubError: hub_error,
        StarletteHTTPException: http_error,
        RequestValidationError: validation_error,
        Exception: unexpected,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)


def _document_decision_batch(app: FastAPI) -> None:
    """Show POST /decisions with the full DecisionIn schema, although the hub parses only the
    envelope strictly and then each decision on its own."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        ref = "#/components/schemas/{model}"
        batch = wire.DecisionBatch.model_json_schema(ref_template=ref, mode="validation")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(batch.pop("$defs", {}))
        components["DecisionBatch"] = batch
        operation = schema["paths"][f"{wire.API_PREFIX}/decisions"]["post"]
        operation["requestBody"]["content"]["application/json"]["schema"] = {
            "$ref": "#/components/schemas/DecisionBatch"
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
