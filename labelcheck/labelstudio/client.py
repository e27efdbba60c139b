"""Connecting to a Label Studio server: one client with explicit timeouts, bounded
retries for idempotent calls, and connection failures explained.

Label Studio accepts two kinds of API key, and the SDK takes both as ``api_key``:

* a **personal access token** (a JWT refresh token; the SDK exchanges it at
  ``/api/token/refresh/`` for 5-minute access tokens), and
* a **legacy token** (40 hex characters, sent as ``Authorization: Token ...``), which
  works only when the organisation enabled legacy tokens.

:func:`check_connection` tells which kind a key looks like and, on a 401, what to do
about that kind.  A key is never logged or put in an error message.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from labelcheck.errors import LabelcheckError

#: Seconds a request may take.  A 20k-task export took 50-73 s here and broke the SDK's
#: 60 s default.
DEFAULT_TIMEOUT = 600.0
#: Seconds for the quick calls of a connection check (a form waits on them).
CHECK_TIMEOUT = 20.0
#: Attempts for idempotent calls (GET, PATCH of the same value); POSTs get one.
RETRY_ATTEMPTS = 4

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")

T = TypeVar("T")


class ConnectionProblem(LabelcheckError):
    """A Label Studio connection failed; ``kind`` says how (``bad_url``, ``refused``,
    ``timeout``, ``unauthorized``, ``forbidden``, ``project_not_found``, ``server_error``,
    ``not_label_studio``) and the message what to do."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class LabelStudioConnection:
    """Where a labelcheck project's labels live.  ``repr`` hides the key."""

    base_url: str
    project_id: int
    api_key: str = field(repr=False)

    @property
    def token_kind(self) -> str:
        return token_kind(self.api_key)


@dataclass
class ProjectInfo:
    """What a successful connection check learnt."""

    title: str
    label_config: str
    user_email: str
    token_kind: str
    task_number: int | None
    total_annotations: int | None
    expert_instruction: str
    warnings: list[str] = field(default_factory=list)


def token_kind(api_key: str) -> str:
    """``"personal access token"`` (a JWT) or ``"legacy token"``."""
    return "personal access token" if _JWT.match(api_key.strip()) else "legacy token"


def normalise_base_url(url: str) -> str:
    """``url`` without a trailing slash; raises :class:`ConnectionProblem` (``bad_url``)
    unless it is an absolute http(s) URL."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConnectionProblem(
            "bad_url", f"Label Studio URL {url!r} is not an absolute http(s) URL "
                       "(for example http://localhost:8080)")
    return url.rstrip("/")


def make_client(connection: LabelStudioConnection, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """A ``label_studio_sdk.LabelStudio`` client for ``connection``.  The SDK checks a
    personal access token as it builds the client (an expired one fails here): that
    failure is explained like any other (:class:`ConnectionProblem`)."""
    from label_studio_sdk import LabelStudio

    base_url = normalise_base_url(connection.base_url)
    try:
        return LabelStudio(base_url=base_url, api_key=connection.api_key.strip(),  # type: ignore[no-untyped-call]
                           timeout=timeout)
    except Exception as err:
        raise explain(err, connection, "checking the API key") from err


def no_retry() -> dict[str, Any]:
    """Request options without the SDK's own retries: for a call that must reach the
    server at most once (the SDK retries 5xx and 429 by itself, which would repeat a
    POST's work), and for calls :func:`with_retries` already retries."""
    return {"max_retries": 0}


def with_retries(call: Callable[[], T], *, attempts: int = RETRY_ATTEMPTS, base_delay: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()`` retried on network errors, timeouts, 429 and 5xx with exponential
    backoff and jitter (1, 2, 4 s ...).  Only for idempotent calls."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as err:
            if attempt == attempts or not _transient(err):
                raise
            sleep(base_delay * 2 ** (attempt - 1) * (0.5 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def _transient(err: BaseException) -> bool:
    import httpx

    if isinstance(err, (httpx.TransportError, httpx.TimeoutException)):
        return True
    status = getattr(err, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


def explain(err: BaseException, connection: LabelStudioConnection, what: str) -> ConnectionProblem:
    """A :class:`ConnectionProblem` for an error raised while doing ``what``."""
    import httpx

    url = connection.base_url
    if isinstance(err, ConnectionProblem):
        return err
    if isinstance(err, httpx.ConnectError):
        return ConnectionProblem("refused", f"{what}: cannot connect to {url} ({_reason(err)}); is Label "
                                            "Studio running there, and is the port right?")
    if isinstance(err, httpx.TimeoutException):
        return ConnectionProblem("timeout", f"{what}: {url} did not answer in time ({type(err).__name__})")
    if isinstance(err, httpx.TransportError):
        return ConnectionProblem("refused", f"{what}: network error talking to {url} ({_reason(err)})")
    status = getattr(err, "status_code", None)
    detail = _detail(getattr(err, "body", None))
    if status == 401:
        kind = connection.token_kind
        if kind == "personal access token":
            hint = ("the key looks like a personal access token: it may be expired, revoked, or from "
                    "another Label Studio (copy a new one from Account & Settings > Personal Access Token)")
        else:
            hint = ("the key looks like a legacy token: it may be wrong, or legacy tokens are disabled in "
                    "this organisation (Organization > API Tokens Settings), in which case use a "
                    "personal access token instead")
        return ConnectionProblem("unauthorized", f"{what}: Label Studio at {url} rejected the API key "
                                                 f"(401 {detail}); {hint}")
    if status == 403:
        return ConnectionProblem("forbidden", f"{what}: the API key's user may not do this in Label Studio "
                                              f"(403 {detail}); use an owner or administrator's key")
    if status == 404:
        return ConnectionProblem("project_not_found",
                                 f"{what}: Label Studio at {url} has no project {connection.project_id} "
                                 f"visible to this key (404 {detail})")
    if isinstance(status, int) and status >= 500:
        return ConnectionProblem("server_error", f"{what}: Label Studio at {url} failed ({status} {detail})")
    if isinstance(status, int):
        return ConnectionProblem("http_error", f"{what}: Label Studio at {url} answered {status} {detail}")
    return ConnectionProblem("not_label_studio", f"{what}: unexpected answer from {url} "
                                                 f"({type(err).__name__}: {_reason(err)})")


def _reason(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0][:200]


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        value = body.get("detail") or body.get("message") or ""
        return str(value)[:200]
    return "" if body is None else str(body)[:200]


def check_connection(connection: LabelStudioConnection, *, timeout: float = CHECK_TIMEOUT) -> ProjectInfo:
    """Check ``connection`` against the server: the URL answers, the key is accepted,
    the project exists; returns what was found, with warnings (for example a key whose
    user cannot see every annotator's annotations).  Raises :class:`ConnectionProblem`."""
    client = make_client(connection, timeout=timeout)
    try:
        user = with_retries(lambda: client.users.whoami(request_options=no_retry()), attempts=2)
    except Exception as err:
        raise explain(err, connection, "checking the API key") from err
    try:
        project = with_retries(lambda: client.projects.get(connection.project_id, request_options=no_retry()),
                               attempts=2)
    except Exception as err:
        raise explain(err, connection, f"reading project {connection.project_id}") from err
    warnings = []
    permissions = set(getattr(user, "permissions", None) or [])
    if permissions and "annotations.view" not in permissions:
        warnings.append("this key's user lacks the annotations.view permission: other annotators' "
                        "annotations may be invisible; use an owner or administrator's key")
    role = _org_role(user)
    if role and role.lower() not in ("owner", "administrator", "admin", "manager"):
        warnings.append(f"this key's user has the role {role!r} in the organisation: Label Studio shows "
                        "such users only their own annotations; use an owner or administrator's key")
    return ProjectInfo(
        title=str(project.title or f"project {connection.project_id}"),
        label_config=str(project.label_config or ""),
        user_email=str(getattr(user, "email", "") or ""),
        token_kind=connection.token_kind,
        task_number=getattr(project, "task_number", None),
        total_annotations=getattr(project, "total_annotations_number", None),
        expert_instruction=str(getattr(project, "expert_instruction", "") or ""),
        warnings=warnings,
    )


def _org_role(user: Any) -> str | None:
    for name in ("org_membership", "organization_membership"):
        membership = getattr(user, name, None)
        if isinstance(membership, list) and membership:
            membership = membership[0]
        role = getattr(membership, "role", None) if membership is not None else None
        if role is None and isinstance(membership, dict):
            role = membership.get("role")
        if role:
            return str(role)
    return None
