"""Three ``tokensmith serve`` processes sharing PostgreSQL and Redis, plus an API process
(examples/fastapi_service: ``AccessTokenVerifier`` + the revocation feed) — the scale-out
shape of issue 8, with every guarantee of the single server checked across instances,
then under faults: Redis stopped, PostgreSQL restarted mid-load, ``kill -9`` of an
instance under load. Every case ends with a consistency check of every refresh family,
read straight from PostgreSQL.

The PostgreSQL cluster and the Redis server are the test's own (``own_services.py``:
``initdb`` and ``redis-server`` on spare loopback ports), so the faults never touch the
machine's shared servers; the module starts them, and the instances, once (the cases run
in file order, each restoring what it broke, the ``kill -9`` last).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tokensmith.jose import jwt

from .own_services import OwnPostgres, OwnRedis
from .server_process import PASSWORD, Server, free_port, until

#: one cluster per run: with ``pytest -n 2 --dist loadgroup`` (make test) every case of
#: this module runs on the same worker instead of each worker starting its own cluster
pytestmark = [pytest.mark.services, pytest.mark.xdist_group("multi_instance")]

ROOT = Path(__file__).resolve().parents[2]
FEED_SECRET = "multi-instance-feed-secret-" + "f" * 16
MASTER_KEY = "K" * 43
GRACE = 60


@dataclass
class Cluster:
    servers: list[Server]
    api_url: str
    pg: OwnPostgres
    redis: OwnRedis
    db_url: str

    @property
    def a(self) -> Server:
        return self.servers[0]

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Rows of ``query`` against the instances' database."""
        import asyncpg

        async def run() -> list[tuple[Any, ...]]:
            url = make_url(self.db_url)
            conn = await asyncpg.connect(
                host=url.host, port=url.port, user=url.username, database=url.database
            )
            try:
                return [tuple(row) for row in await conn.fetch(query)]
            finally:
                await conn.close()

        return asyncio.run(run())


def _api_process(issuer: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ISSUER": issuer,
        "FEED_SECRET": FEED_SECRET,
        "PYTHONPATH": str(ROOT / "examples" / "fastapi_service"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT / "examples" / "fastapi_service",
        stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("multi")
    pg = OwnPostgres()
    redis = OwnRedis(tmp)
    servers: list[Server] = []
    api: subprocess.Popen[bytes] | None = None
    try:
        pg.start()
        redis.start()
        db_url = pg.create_database("tokensmith")
        for i in range(3):
            servers.append(Server(tmp / f"instance{i}", {}))
        shared = {
            "TOKENSMITH_DATABASE_URL": db_url,
            "TOKENSMITH_MASTER_KEY": MASTER_KEY,
            "TOKENSMITH_ISSUER": servers[0].url,  # one issuer: the load balancer's URL
            "TOKENSMITH_TEST_CLOCK_FILE": str(servers[0].clock_file),  # one clock
            "TOKENSMITH_REDIS_URL": redis.url,
            "TOKENSMITH_REDIS_PREFIX": f"ts-multi-{secrets.token_hex(4)}:",
            "TOKENSMITH_REVOCATION_FEED_SECRET": FEED_SECRET,
            "TOKENSMITH_RATE_ACCOUNT_LIMIT": "5",
            # a retry of a rotation gets the same child this long (a busy 2-core CI box
            # can take seconds to answer a storm; the guarantee does not depend on it)
            "TOKENSMITH_REFRESH_GRACE": str(GRACE),
        }
        for server in servers:
            server.env.update(shared)
        servers[0].start()  # first start: migrations and keys, once
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(Server.start, servers[1:]))
        api_port = free_port()
        api = _api_process(servers[0].url, api_port, tmp / "api.log")
        api_url = f"http://127.0.0.1:{api_port}"
        until(lambda: _answers(f"{api_url}/health"), "the API process", timeout=60)
        yield Cluster(servers, api_url, pg, redis, db_url)
    finally:
        if api is not None:
            api.terminate()
            api.wait(timeout=30)
        for server in servers:
            server.stop()
        redis.stop()
        pg.remove()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _login(server: Server, username: str) -> dict[str, Any]:
    with server.client() as client:
        answer = client.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def _register(server: Server, username: str) -> dict[str, Any]:
    with server.client() as client:
        return server.register_and_login(client, username)


def _refresh(server: Server, token: str) -> httpx.Response:
    with server.client() as client:
        return client.post("/auth/refresh", json={"refresh_token": token})


def assert_families_consistent(cluster: Cluster) -> None:
    """Every refresh family, read from PostgreSQL: at most one live token; no token with
    two children; no child without its parent; in a family still alive, every consumed
    token has its child (no half-written rotation) and one token is live."""
    problems = {
        "two live tokens": cluster.sql(
            "SELECT session_id FROM refresh_tokens WHERE consumed_at IS NULL "
            "GROUP BY session_id HAVING count(*) > 1"
        ),
        "a token with two children": cluster.sql(
            "SELECT parent_hash FROM refresh_tokens WHERE parent_hash IS NOT NULL "
            "GROUP BY parent_hash HAVING count(*) > 1"
        ),
        "a child without its parent": cluster.sql(
            "SELECT c.token_hash FROM refresh_tokens c WHERE c.parent_hash IS NOT NULL AND "
            "NOT EXISTS (SELECT 1 FROM refresh_tokens p WHERE p.token_hash = c.parent_hash)"
        ),
        "a half-written rotation": cluster.sql(
            "SELECT t.token_hash FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id "
            "WHERE s.revoked_at IS NULL AND t.consumed_at IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM refresh_tokens c WHERE c.parent_hash = t.token_hash)"
        ),
        "a live family without a live token": cluster.sql(
            "SELECT s.id FROM sessions s WHERE s.revoked_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.id "
            "AND t.consumed_at IS NULL)"
        ),
    }
    assert {name: rows for name, rows in problems.items() if rows} == {}
    assert cluster.sql("SELECT count(*) FROM sessions")[0][0] > 0  # it looked at something


# --- every guarantee, across instances ------------------------------------------------


def test_refresh_storm_across_instances_rotates_each_token_exactly_once(
    cluster: Cluster,
) -> None:
    users = [f"storm{i}" for i in range(6)]
    tokens = [
        _register(cluster.servers[i % 3], name)["refresh_token"] for i, name in enumerate(users)
    ]
    attempts = [(token, cluster.servers[j % 3]) for token in tokens for j in range(9)]
    random.Random(8).shuffle(attempts)

    def attempt(item: tuple[str, Server]) -> tuple[str, int, str | None]:
        token, server = item
        answer = _refresh(server, token)
        child = answer.json().get("refresh_token") if answer.status_code == 200 else None
        return token, answer.status_code, child

    with concurrent.futures.ThreadPoolExecutor(max_workers=27) as pool:
        results = list(pool.map(attempt, attempts))
    assert Counter(status for _, status, _ in results) == {200: len(attempts)}  # grace
    children = {token: {c for t, _, c in results if t == token} for token in tokens}
    assert all(len(found) == 1 for found in children.values()), children
    rotations = cluster.sql(
        "SELECT count(*) FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id "
        "JOIN users u ON u.id = s.user_id WHERE u.username LIKE 'storm%' "
        "AND t.parent_hash IS NOT NULL"
    )
    assert rotations == [(len(tokens),)]  # one child per token, whichever instance won
    assert_families_consistent(cluster)


def test_reuse_at_b_of_a_token_rotated_at_a_revokes_the_family(cluster: Cluster) -> None:
    a, b, c = cluster.servers
    first = _register(a, "reuser")
    rotated = _refresh(a, first["refresh_token"])
    assert rotated.status_code == 200
    a.advance(GRACE + 1)  # past the retry grace: presenting the parent again is reuse
    try:
        reuse = _refresh(b, first["refresh_token"])
        assert reuse.status_code == 400
        assert _refresh(c, rotated.json()["refresh_token"]).status_code == 400  # family dead
        with c.client() as client:
            bearer = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
            assert client.get("/userinfo", headers=bearer).status_code == 401
    finally:
        a.advance(-(GRACE + 1))  # the API process verifies on the real clock
    revoked = cluster.sql(
        "SELECT s.revoked_at IS NOT NULL FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE u.username = 'reuser'"
    )
    assert revoked == [(True,)]
    assert_families_consistent(cluster)


def test_logout_all_at_c_is_refused_by_the_api_within_a_second(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _, c = cluster.servers
    login = _register(a, "leaver")
    bearer = {"Authorization": f"Bearer {login['access_token']}"}
    with httpx.Client(base_url=cluster.api_url, timeout=10) as api:
        assert api.get("/me", headers=bearer).status_code == 200
        with c.client() as on_c:
            assert on_c.post("/auth/logout-all", headers=bearer).status_code == 200
        start = time.monotonic()
        until(lambda: api.get("/me", headers=bearer).status_code == 401, "the API to refuse")
        delay = time.monotonic() - start
    with capsys.disabled():
        print(f"\n[multi-instance] logout-all at C -> refused by the API after {delay:.3f} s")
    # not a timed assertion: the figure is printed (docs/scaling.md); the refusal is checked


def test_rate_limit_is_counted_across_instances(cluster: Cluster) -> None:
    _register(cluster.a, "limited")
    wrong = {"username": "limited", "password": "not the password"}
    statuses = []
    # the first block lasts 1 s: the shared clock stands still meanwhile, so a busy box
    # cannot let it run out between the requests below
    clock, was = cluster.a.clock_file, cluster.a.clock_file.read_text()
    clock.write_text(f"{cluster.a.now():.3f}")
    try:
        for i in range(5):  # the account's limit, spread over the three instances
            with cluster.servers[i % 3].client() as client:
                statuses.append(client.post("/auth/login", json=wrong).status_code)
        assert statuses == [401] * 5
        for server in cluster.servers:  # every instance knows the account is held back
            with server.client() as client:
                blocked = client.post("/auth/login", json=wrong)
                assert blocked.status_code == 429, blocked.text
                assert int(blocked.headers["Retry-After"]) > 0
    finally:
        clock.write_text(was)


def test_key_rotation_at_one_instance_is_served_by_every_instance(cluster: Cluster) -> None:
    rotated = cluster.a.cli("keys", "rotate", "--force")
    assert rotated.returncode == 0, rotated.stderr
    current = rotated.stdout.split("current key is now ", 1)[1].split()[0]
    _register(cluster.a, "rotator")

    def signs_with_new_key(server: Server) -> bool:
        return jwt.peek(_login(server, "rotator")["access_token"]).header["kid"] == current

    for server in cluster.servers:
        until(lambda s=server: signs_with_new_key(s), f"{server.url} to sign with {current}")
    jwks = [httpx.get(f"{s.url}/.well-known/jwks.json").json() for s in cluster.servers]
    assert jwks[0] == jwks[1] == jwks[2]
    assert current in {key["kid"] for key in jwks[0]["keys"]}
    token = _login(cluster.servers[2], "rotator")["access_token"]
    me = httpx.get(f"{cluster.api_url}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text  # the API learns the new key from the JWKS


# --- faults ---------------------------------------------------------------------------


@dataclass
class Load:
    """Clients each following their own refresh chain, spread over the instances; a
    connection error or a 503 is retried with the same token (within the grace, a retry
    of a rotation that did commit gets the same child)."""

    cluster: Cluster
    targets: list[Server]
    chains: list[str]
    statuses: Counter[int] = field(default_factory=Counter)
    connection_errors: int = 0
    broken: list[str] = field(default_factory=list)
    retry_after_missing: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self, i: int) -> None:
        rng = random.Random(i)
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(s.client()) for s in self.targets]
            while not self.stop.is_set():
                client = rng.choice(clients)
                try:
                    answer = client.post("/auth/refresh", json={"refresh_token": self.chains[i]})
                except httpx.HTTPError:
                    with self.lock:
                        self.connection_errors += 1
                    time.sleep(0.02)
                    continue
                with self.lock:
                    self.statuses[answer.status_code] += 1
                    if answer.status_code == 503 and "retry-after" not in answer.headers:
                        self.retry_after_missing += 1
                if answer.status_code == 200:
                    self.chains[i] = answer.json()["refresh_token"]
                elif answer.status_code == 503:
                    time.sleep(0.02)
                else:
                    self.broken.append(f"{answer.status_code} {answer.text[:200]}")
                    return

    def __enter__(self) -> Load:
        for i in range(len(self.chains)):
            thread = threading.Thread(target=self._run, args=(i,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def served(self) -> int:
        with self.lock:
            return self.statuses[200]

    def wait_for_more(self, count: int) -> None:
        target = self.served() + count
        until(lambda: self.served() >= target or bool(self.broken), f"{count} more refreshes")


def _chains(cluster: Cluster, prefix: str, count: int) -> list[str]:
    return [
        _register(cluster.servers[i % 3], f"{prefix}{i}")["refresh_token"] for i in range(count)
    ]


def _wait_ready(server: Server, expected: int) -> None:
    """/readyz caches its answer for about a second: poll until it says ``expected``."""

    def says() -> bool:
        with server.client() as client:
            return client.get("/readyz").status_code == expected

    until(says, f"{server.url}/readyz to answer {expected}")


def test_redis_stopped_under_load_fails_closed_with_503_and_recovers_by_itself(
    cluster: Cluster,
) -> None:
    """Logins (they need the shared rate-limit check) fail closed at every instance;
    refreshes (revocations live in PostgreSQL) keep flowing; no restart afterwards."""
    _register(cluster.a, "redis-fault")
    creds = {"username": "redis-fault", "password": PASSWORD}
    load = Load(cluster, cluster.servers, _chains(cluster, "redisfault", 6))
    with load:
        load.wait_for_more(20)
        cluster.redis.stop()
        try:
            for server in cluster.servers:
                with server.client() as client:
                    answer = client.post("/auth/login", json=creds)
                    assert answer.status_code == 503, answer.text
                    assert int(answer.headers["Retry-After"]) > 0
                _wait_ready(server, 503)
            load.wait_for_more(20)  # rotations go on without Redis
        finally:
            cluster.redis.start()
        for server in cluster.servers:

            def back(s: Server = server) -> bool:
                with s.client() as client:
                    return client.post("/auth/login", json=creds).status_code == 200

            until(back, f"{server.url} to log in again")
            _wait_ready(server, 200)
        load.wait_for_more(20)
    assert load.broken == []
    assert set(load.statuses) <= {200, 503}, load.statuses
    assert load.retry_after_missing == 0
    assert_families_consistent(cluster)


def test_postgres_restarted_mid_load_answers_503_then_recovers_without_restart(
    cluster: Cluster,
) -> None:
    pids = [s.process.pid for s in cluster.servers if s.process is not None]
    load = Load(cluster, cluster.servers, _chains(cluster, "pgfault", 6))
    with load:
        load.wait_for_more(30)
        cluster.pg.stop()
        until(lambda: load.statuses[503] >= 5, "503s during the outage")
        _wait_ready(cluster.a, 503)
        cluster.pg.start()
        load.wait_for_more(60)  # every chain moves on again, no instance restarted
    assert load.broken == []
    assert set(load.statuses) <= {200, 503}, load.statuses  # never a 500
    assert load.retry_after_missing == 0
    assert [s.process.pid for s in cluster.servers if s.process is not None] == pids
    for server in cluster.servers:
        _wait_ready(server, 200)
    assert_families_consistent(cluster)


def test_kill_9_of_one_instance_under_load_leaves_the_others_serving(cluster: Cluster) -> None:
    a, b, c = cluster.servers
    load = Load(cluster, [a, b, c], _chains(cluster, "killed", 6))
    with load:
        load.wait_for_more(30)
        assert c.process is not None
        c.process.kill()  # SIGKILL: no shutdown, requests in flight are cut
        c.process.wait()
        before = load.served()
        load.wait_for_more(60)  # the clients' retries land on A and B
    assert load.served() > before
    assert load.broken == []
    assert set(load.statuses) <= {200, 503}, load.statuses
    assert_families_consistent(cluster)
    c.process = None
