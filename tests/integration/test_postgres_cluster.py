"""The throwaway PostgreSQL cluster (tests/support/postgres.py) and the ``database_url``
fixture that runs storage tests on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import skip_or_fail
from tests.support.postgres import PostgresCluster, PostgresUnavailable


def _listening_addresses(port: int) -> list[str]:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp{,6})."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                if len(address) == 8:  # IPv4, little-endian hex
                    found.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
                else:
                    found.append(f"ipv6:{address}")
    return found


@pytest.mark.integration
def test_sqlalchemy_connects_with_psycopg(postgres_cluster: PostgresCluster) -> None:
    engine = sa.create_engine(postgres_cluster.url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        assert engine.dialect.driver == "psycopg"
        assert int(version) // 10000 >= 15
        assert database == "labelcheck"
    finally:
        engine.dispose()


@pytest.mark.integration
def test_listens_on_loopback_only(postgres_cluster: PostgresCluster) -> None:
    with postgres_cluster.connect() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to list listening sockets")
    assert _listening_addresses(postgres_cluster.port) == ["127.0.0.1"]


@pytest.mark.integration
def test_new_database_is_separate_and_empty(postgres_cluster: PostgresCluster) -> None:
    first = sa.create_engine(postgres_cluster.url)
    url = postgres_cluster.new_database("second_db")
    second = sa.create_engine(url)
    try:
        with first.begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_in_first (x int)"))
        with second.begin() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == "second_db"
            conn.execute(sa.text("CREATE TABLE only_in_second (x int)"))
        assert "only_in_second" not in sa.inspect(first).get_table_names()
        assert sa.inspect(second).get_table_names() == ["only_in_second"]
    finally:
        with first.begin() as conn:
            conn.execute(sa.text("DROP TABLE only_in_first"))
        first.dispose()
        postgres_cluster.drop_database("second_db")  # drops despite second's open pool
        second.dispose()
    with postgres_cluster.connect() as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
    assert "second_db" not in names


@pytest.mark.integration
def test_stop_leaves_no_process_and_no_directory() -> None:
    cluster = PostgresCluster()
    try:
        cluster.start()
    except PostgresUnavailable as exc:
        skip_or_fail(str(exc))
    with cluster:
        port, directory = cluster.port, cluster.dir
        assert directory is not None and (directory / "data" / "PG_VERSION").exists()
        processes = cluster.pids()
        assert len(processes) > 1  # the postmaster and its background workers
    assert cluster.dir is None and cluster.pids() == []
    assert not directory.exists()
    for pid in processes:
        stat = Path(f"/proc/{pid}/stat")
        # gone, or a zombie waiting for init to reap it (it no longer runs)
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_missing_binaries_are_named(tmp_path: Path) -> None:
    with pytest.raises(PostgresUnavailable, match=r"PostgreSQL 15 binaries \(initdb, pg_ctl\) "
                                                  r"not on PATH: initdb not found"):
        PostgresCluster(bin_dir=tmp_path).start()


def test_url_before_start_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="not running: call start"):
        PostgresCluster().url  # noqa: B018


def test_database_url_gives_a_fresh_empty_database(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x integer)"))
            conn.execute(sa.text("INSERT INTO t VALUES (1), (2)"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT sum(x) FROM t")).scalar_one() == 3
    finally:
        engine.dispose()
