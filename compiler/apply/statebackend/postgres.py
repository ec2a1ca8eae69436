"""State in PostgreSQL, as Terraform's `pg` backend keeps it: one row per (project, environment) in
`<schema>.states`, and a session-level advisory lock per (project, environment).

The lock lives as long as the database session that took it: an apply that crashes, is killed or loses its
machine ends its session and with it the lock (a vanished host within about a minute: the session sets TCP
keepalives), so no lock is ever left half-taken and nothing has to be cleaned up by hand. One connection is
held for the whole apply: the lock, every read and every write go through it, never through a pooler in
transaction mode (which would break session locks). The session's application_name carries the lock ID,
which `specops force-unlock ID` uses to end a stuck holder's session.

Rows hold the state file's exact bytes (text), so digests, `state pull` and local files agree; a write is a
compare-and-swap on the digest the run read or last wrote.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from compiler.apply.state import State, StateError, parse_state
from compiler.apply.statebackend.base import ConflictError, RemoteLockHeld, StoredState, digest, encode_state

KEEPALIVES = "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"
TABLE_DDL = """
create table if not exists {table} (
    project text not null,
    environment text not null,
    lineage text not null,
    serial bigint not null check (serial >= 0),
    digest text not null,
    body text not null,
    updated_at timestamptz not null default now(),
    updated_by text not null default current_user,
    primary key (project, environment)
)"""


def lock_key(project: str, env: str) -> int:
    """A signed 64-bit advisory-lock key, namespaced so other applications' keys do not collide."""
    raw = hashlib.sha256(f"specops-state\0{project}\0{env}".encode()).digest()[:8]
    return int.from_bytes(raw, "big", signed=True)


SETUP_KEY = lock_key("", "")  # held (per transaction) while the schema and table are created


class PostgresBackend:
    kind = "postgres"

    def __init__(self, project: str, settings: Mapping[str, Any], password: str | None):
        self.project = project
        self.settings = dict(settings)
        self.password = password
        self.schema = str(self.settings.get("schema", "specops_state"))
        self._con: Any = None
        self._ready = False

    # --- connection --------------------------------------------------------------------------

    def __enter__(self) -> PostgresBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def where(self) -> str:
        s = self.settings
        return f"postgres {s.get('user')}@{s.get('host')}:{s.get('port', 5432)}/{s.get('database')}"

    def describe(self, env: str) -> str:
        return f"{self.where()}, table {self.schema}.states, row ({self.project}, {env})"

    def _connect(self, application_name: str) -> Any:
        from compiler.apply.warehouse.base import WarehouseError
        from compiler.apply.warehouse.postgres import connect

        try:
            con = connect(self.settings, self.password, application_name[:63], KEEPALIVES)
        except WarehouseError as exc:
            raise StateError(f"state backend: {exc}") from None
        con.autocommit = True
        return con

    def _cursor(self) -> Any:
        if self._con is None:
            self._con = self._connect("specops")
        if not self._ready:
            self._setup()
        return self._con.cursor()

    def _table(self) -> Any:
        from psycopg2 import sql

        return sql.Identifier(self.schema, "states")

    def _setup(self) -> None:
        """The schema and table, created once (under a transaction-level lock: concurrent first runs wait)."""
        import psycopg2
        from psycopg2 import sql

        self._ready = True
        try:
            with self._con.cursor() as cur:
                cur.execute("select to_regclass(%s)", (f"{self.schema}.states",))
                if cur.fetchone()[0] is not None:
                    return
            self._con.autocommit = False
            try:
                with self._con.cursor() as cur:
                    cur.execute("select pg_advisory_xact_lock(%s)", (SETUP_KEY,))
                    cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(self.schema)))
                    cur.execute(sql.SQL(TABLE_DDL).format(table=self._table()))
                self._con.commit()
            finally:
                self._con.autocommit = True
        except psycopg2.Error as exc:
            self._ready = False
            raise StateError(f"state backend {self.where()}: cannot create {self.schema}.states: "
                             f"{str(exc).strip()} (create the schema, or grant CREATE on the database)") from None

    def _run(self, query: Any, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg2

        try:
            with self._cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description is not None else [(cur.rowcount,)]
        except psycopg2.Error as exc:
            raise StateError(f"state backend {self.where()}: {str(exc).strip()}") from None

    # --- reading and writing -----------------------------------------------------------------

    def read(self, env: str) -> bytes | None:
        from psycopg2 import sql

        rows = self._run(sql.SQL("select body from {} where project = %s and environment = %s").format(
            self._table()), (self.project, env))
        return rows[0][0].encode("utf-8") if rows else None

    def load(self, env: str) -> State:
        from psycopg2 import sql

        rows = self._run(sql.SQL("select body, digest from {} where project = %s and environment = %s").format(
            self._table()), (self.project, env))
        state = parse_state(rows[0][0].encode("utf-8") if rows else None, self._pseudo_root(), env, self.project)
        if rows:
            # the write's compare-and-swap is on the row's digest as stored: a row whose digest no longer matches
            # its body (edited or restored by hand) is then written over once, instead of never ("changed by
            # someone else" at every run)
            state.source_digest = rows[0][1]
        return state

    def _pseudo_root(self) -> Path:
        """parse_state names a file in its messages: a remote state's stand-in names the table."""
        return Path(f"postgres:{self.schema}.states")

    def save(self, state: State) -> None:
        from psycopg2 import sql

        env = state.environment
        content = encode_state(state)
        text = content.decode("utf-8")
        new = digest(content)
        if state.source_digest:
            query = sql.SQL("update {} set lineage = %s, serial = %s, digest = %s, body = %s, updated_at = now(), "
                            "updated_by = current_user where project = %s and environment = %s and digest = %s"
                            ).format(self._table())
            params: tuple[Any, ...] = (state.lineage, state.serial, new, text, self.project, env,
                                       state.source_digest)
        else:
            query = sql.SQL("insert into {} (project, environment, lineage, serial, digest, body) "
                            "values (%s, %s, %s, %s, %s, %s) on conflict (project, environment) do nothing"
                            ).format(self._table())
            params = (self.project, env, state.lineage, state.serial, new, text)
        (count,), = self._run(query, params)
        if count != 1:
            raise ConflictError(f"the state of environment '{env}' in {self.where()} was changed by someone else "
                                f"since this run read it; nothing was overwritten. Check who wrote it "
                                f"(specops state show --env {env}), then run again.")
        state.source_digest = new

    def push(self, env: str, content: bytes) -> None:
        """Replace the environment's state with these bytes, whatever is stored (the caller holds the lock)."""
        from psycopg2 import sql

        state = parse_state(content, self._pseudo_root(), env, self.project)
        self._run(sql.SQL(
            "insert into {} (project, environment, lineage, serial, digest, body) values (%s, %s, %s, %s, %s, %s) "
            "on conflict (project, environment) do update set lineage = excluded.lineage, serial = excluded.serial, "
            "digest = excluded.digest, body = excluded.body, updated_at = now(), updated_by = current_user"
        ).format(self._table()), (self.project, env, state.lineage, state.serial, digest(content),
                                  content.decode("utf-8")))

    def stored(self) -> Iterator[StoredState]:
        from psycopg2 import sql

        rows = self._run(sql.SQL("select environment, serial, lineage, updated_at, octet_length(body) from {} "
                                 "where project = %s order by environment").format(self._table()), (self.project,))
        for env, serial, lineage, updated, size in rows:
            yield StoredState(env, int(serial), lineage, updated.isoformat(timespec="seconds"), int(size))

    # --- locking -----------------------------------------------------------------------------

    @contextmanager
    def lock(self, env: str, operation: str = "apply") -> Iterator[dict[str, Any]]:
        """Take the session advisory lock of (project, env) on this backend's own connection, for the block."""
        import psycopg2

        lock_id = str(uuid.uuid4())
        if self._con is not None:
            self._con.close()
        self._con = self._connect(f"specops {operation} {lock_id}")
        key = lock_key(self.project, env)
        try:
            with self._con.cursor() as cur:
                cur.execute("select pg_try_advisory_lock(%s)", (key,))
                taken = cur.fetchone()[0]
        except psycopg2.Error as exc:
            raise StateError(f"state backend {self.where()}: cannot take the lock: {str(exc).strip()}") from None
        if not taken:
            raise RemoteLockHeld(env, self._holder(key), self._hint())
        try:
            yield {"id": lock_id, "environment": env}
        finally:
            try:
                with self._con.cursor() as cur:
                    cur.execute("select pg_advisory_unlock(%s)", (key,))
            except psycopg2.Error:
                pass  # the session is gone, and its lock with it

    def _holder(self, key: int) -> dict[str, Any]:
        rows = self._run(
            "select a.pid, a.application_name, a.usename, host(a.client_addr), a.backend_start "
            "from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and l.granted "
            "and l.objsubid = 1 and ((l.classid::bigint << 32) | l.objid::bigint) = %s", (key,))
        if not rows:
            return {"id": "?", "who": "another session (gone by now: try again)"}
        pid, app, user, client, started = rows[0]
        parts = (app or "").split(" ")
        return {"id": parts[2] if len(parts) == 3 and parts[0] == "specops" else "?", "pid": pid,
                "who": f"{user}@{client or 'local socket'}", "operation": parts[1] if len(parts) == 3 else "?",
                "created": started.isoformat(timespec="seconds") if started else "?"}

    def _hint(self) -> str:
        return ("the lock is a PostgreSQL session advisory lock, released when its session ends: if that run "
                "crashed, it is already gone; a run that hangs can be ended with `specops force-unlock LOCK_ID`")

    def held(self, env: str) -> None:
        """The lock is this connection's session: gone with it when `force-unlock` ended it."""
        import psycopg2

        if self._con is None:
            return
        try:
            with self._con.cursor() as cur:
                cur.execute("select 1")
        except psycopg2.Error:
            raise StateError(f"this run no longer holds the lock of environment '{env}' in {self.where()}: its "
                             "session was ended (by `specops force-unlock`?); nothing more is done, and the work "
                             "left is pending for the next apply") from None

    def force_unlock(self, lock_id: str) -> str | None:
        """End the session holding lock `lock_id` (needs the same role, or pg_signal_backend)."""
        rows = self._run("select pid, application_name from pg_stat_activity where application_name like %s",
                         (f"specops % {lock_id}",))
        for pid, app in rows:
            (ended,), = self._run("select pg_terminate_backend(%s)", (pid,))
            if ended:
                return app
        return None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._ready = False
