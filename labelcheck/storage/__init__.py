"""Storage adapter: SQLAlchemy models, Alembic migrations, bulk annotation import/load.

SQLite in the instance folder is the embedded default; PostgreSQL through a URL
(``postgresql+psycopg://...``).  Nothing here computes statistics: annotations go in
and come out as the canonical table of :mod:`labelcheck.table`.
"""
