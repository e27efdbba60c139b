"""Sign-in and sign-out (Flask-Login sessions, werkzeug password hashes)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from labelcheck.storage.database import Database
from labelcheck.storage.models import ROLES, User
from labelcheck.web.access import ALL_ROLES, SessionUser, public, roles_required

blueprint = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def create_user(db: Database, email: str, password: str, role: str, name: str = "") -> int:
    """Add a user with a hashed password; ``role`` is one of lead, annotator, engineer."""
    from labelcheck.errors import LabelcheckError

    if role not in ROLES:
        raise LabelcheckError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if len(password) < 8:
        raise LabelcheckError("password: at least 8 characters")
    email = email.strip().lower()
    with db.session() as session:
        if session.execute(select(User.id).where(func.lower(User.email) == email)).first():
            raise LabelcheckError(f"a user with email {email} already exists")
        user = User(email=email, name=name, role=role, password_hash=generate_password_hash(password))
        session.add(user)
        session.flush()
        return user.id


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/"):
        return target
    return url_for("projects.index")


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    from labelcheck.web import database

    form = SignInForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        with database().session() as session:
            user = session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none()
            ok = user is not None and user.active and check_password_hash(user.password_hash, form.password.data or "")
            session_user = SessionUser(user) if ok and user is not None else None
        if session_user is not None:
            login_user(session_user)
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong email or password.", "error")
    return render_template("auth/login.html", form=form), (200 if not form.errors and request.method == "GET" else 200)


@blueprint.route("/logout", methods=["POST"])
@roles_required(*ALL_ROLES)
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"))
