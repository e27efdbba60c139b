"""Who may open what: every view declares its roles with :func:`roles_required` (or
:func:`public`), and a test walks ``app.url_map`` so that a new route cannot forget.

Roles: ``lead`` (everything), ``engineer`` (projects, agreement, items; later exports),
``annotator`` (the project list and, later, the guideline)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import LoginManager, current_user

from labelcheck.storage.models import ROLES, User

F = TypeVar("F", bound=Callable[..., Any])
ALL_ROLES = ROLES
STAFF = ("lead", "engineer")

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to see this page."


class SessionUser:
    """What Flask-Login keeps for the signed-in user (detached from the ORM session)."""

    def __init__(self, user: User) -> None:
        self.id = user.id
        self.email = user.email
        self.name = user.name or user.email
        self.role = user.role
        self.is_active = bool(user.active)

    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Allow only signed-in users with one of ``roles``; others get 403 (or the sign-in
    page when not signed in)."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be among {', '.join(ALL_ROLES)}; got {roles}")

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as open to everyone (sign-in, assets)."""
    view.allowed_roles = None  # type: ignore[attr-defined]
    return view


def load_user(user_id: str) -> SessionUser | None:
    from labelcheck.web import database

    with database().session() as session:
        user = session.get(User, int(user_id)) if user_id.isdigit() else None
        return SessionUser(user) if user is not None and user.active else None
