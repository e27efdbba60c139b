"""The app's settings: one table (name, default, help), read in order from the defaults,
the instance folder's ``labelcheck.cfg``, ``LABELCHECK_*`` environment variables (and
the conventional ``DATABASE_URL`` / ``REDIS_URL``), then the mapping a caller passes
(tests).  Validated at start-up; a bad value names the key and where it came from."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelcheck.errors import LabelcheckError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("SECRET_KEY", None, "Signs sessions and CSRF tokens. Default: a random key kept in the instance folder (secret_key)."),
    Setting("DATABASE_URL", None, "SQLAlchemy URL of the database. Default: SQLite labelcheck.db in the instance folder; PostgreSQL: postgresql+psycopg://user@host/db."),
    Setting("REDIS_URL", None, "Job queue on Redis (redis://...). Default: a SQLite job queue in the instance folder."),
    Setting("JOBS_IMMEDIATE", False, "Run background jobs inline in the request (tests, one-off scripts)."),
    Setting("UPLOAD_MAX_MB", 512, "Largest upload accepted, in MB."),
    Setting("BOOTSTRAP_RESAMPLES", 1000, "Bootstrap resamples for confidence intervals computed by the analysis job."),
    Setting("CONFIDENCE", 0.95, "Confidence level of the intervals on the pages."),
    Setting("ITEMS_PER_PAGE", 50, "Rows per page in the item browser."),
    Setting("PUBLIC_URL", "", "The address Label Studio calls webhooks at (e.g. https://labelcheck.example.org). Default: the address the lead's browser uses."),
)
_TYPES = {name: type(s.default) for s in SETTINGS for name in [s.name] if s.default is not None}


def _coerce(name: str, value: Any, origin: str) -> Any:
    kind = _TYPES.get(name)
    if kind is None or isinstance(value, kind):
        return value
    try:
        if kind is bool:
            text = str(value).strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError
            return text in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError):
        raise LabelcheckError(
            f"setting {name} from {origin}: expected {kind.__name__}, found {value!r}"
        ) from None


def load_settings(instance_path: str | Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Resolve every setting; the result also carries ``INSTANCE_PATH``."""
    instance = Path(instance_path)
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    known = set(values)
    cfg = instance / "labelcheck.cfg"
    if cfg.exists():
        namespace: dict[str, Any] = {}
        exec(compile(cfg.read_text(encoding="utf-8"), str(cfg), "exec"), namespace)  # noqa: S102 - the admin's own config file, as Flask's from_pyfile
        for key, value in namespace.items():
            if key.isupper():
                if key not in known:
                    raise LabelcheckError(f"{cfg}: unknown setting {key}; known: {', '.join(sorted(known))}")
                values[key] = _coerce(key, value, str(cfg))
    for key in ("DATABASE_URL", "REDIS_URL"):
        if os.environ.get(key):
            values[key] = os.environ[key]
    for env, value in os.environ.items():
        if env.startswith("LABELCHECK_"):
            key = env.removeprefix("LABELCHECK_")
            if key in known:
                values[key] = _coerce(key, value, f"environment variable {env}")
    for key, value in (overrides or {}).items():
        values[key] = _coerce(key, value, "the configuration passed to create_app") if key in known else value
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = _instance_secret(instance)
    if not values["DATABASE_URL"]:
        from labelcheck.storage.database import sqlite_url

        values["DATABASE_URL"] = sqlite_url(instance)
    values["INSTANCE_PATH"] = str(instance)
    return values


def _instance_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def default_instance_path() -> Path:
    """``LABELCHECK_INSTANCE`` or ``./instance``."""
    return Path(os.environ.get("LABELCHECK_INSTANCE") or Path.cwd() / "instance").resolve()
