"""The core imports no adapter library (see labelcheck/agreement/README.md)."""

import subprocess
import sys

import pkgutil
from pathlib import Path

import labelcheck

CORE_PACKAGES = ["agreement", "consensus", "hotspots", "guidelines", "analysis"]
CORE_MODULES = ["labelcheck", "labelcheck.errors", "labelcheck.table"] + [
    f"labelcheck.{package}" + (f".{module.name}" if module else "")
    for package in CORE_PACKAGES
    for module in [None, *pkgutil.iter_modules([str(Path(labelcheck.__file__).parent / package)])]
]
FORBIDDEN = ["flask", "sqlalchemy", "label_studio_sdk", "requests", "httpx", "click", "huey",
             "alembic", "psycopg", "waitress", "plotly"]


def test_core_imports_no_adapter_library() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
        f"bad = sorted(m for m in {FORBIDDEN!r} if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"the core imported adapter libraries: {out}"


def test_core_does_no_io_at_import() -> None:
    """Importing the core opens no socket."""
    code = (
        "import socket\n"
        "def boom(*a, **k): raise RuntimeError('network use at import')\n"
        "socket.socket.connect = boom\n"
        f"import importlib\nfor m in {CORE_MODULES!r}: importlib.import_module(m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
