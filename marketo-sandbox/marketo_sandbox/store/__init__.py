"""Where the sandbox keeps its data: one SQLite database in a work directory.

SQLite keeps memory flat for the ``bench`` seed (a million activities) and lets bulk
export jobs stream rows from a consistent read while REST writes go on (WAL mode, one
connection per thread). Every object is a JSON document in ``data``; the other columns
are only what the API filters or orders by.

Timestamps are stored as Marketo writes them, ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole
seconds), which also sorts correctly as text.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from marketo_sandbox.timestamps import format_ts

SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY,
    email TEXT,
    createdAt TEXT NOT NULL,
    updatedAt TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS leads_email ON leads(email COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS leads_updated ON leads(updatedAt);
CREATE INDEX IF NOT EXISTS leads_created ON leads(createdAt);

-- Activity ids grow with time, so an id is also a position in the activity feed
-- (what a paging token encodes).
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY,
    leadId INTEGER NOT NULL,
    activityDate TEXT NOT NULL,
    activityTypeId INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_date ON activities(activityDate);
CREATE INDEX IF NOT EXISTS activities_type ON activities(activityTypeId, id);
CREATE INDEX IF NOT EXISTS activities_lead ON activities(leadId);

-- Companies, sales persons, opportunities, roles, custom objects, programs, static
-- lists, smart campaigns: `kind` names the object type, `pk` is its idField value and
-- `dkey` the canonical JSON of its dedupe fields (what sync and delete match on).
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    pk TEXT NOT NULL,
    dkey TEXT,
    createdAt TEXT,
    updatedAt TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, pk)
);
CREATE INDEX IF NOT EXISTS objects_dkey ON objects(kind, dkey);
CREATE INDEX IF NOT EXISTS objects_updated ON objects(kind, updatedAt);

CREATE TABLE IF NOT EXISTS program_members (
    programId INTEGER NOT NULL,
    leadId INTEGER NOT NULL,
    updatedAt TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (programId, leadId)
);
CREATE INDEX IF NOT EXISTS program_members_lead ON program_members(leadId);
CREATE INDEX IF NOT EXISTS program_members_updated ON program_members(programId, updatedAt);

CREATE TABLE IF NOT EXISTS list_members (
    listId INTEGER NOT NULL,
    leadId INTEGER NOT NULL,
    createdAt TEXT NOT NULL,
    PRIMARY KEY (listId, leadId)
);
CREATE INDEX IF NOT EXISTS list_members_lead ON list_members(leadId);

CREATE TABLE IF NOT EXISTS sequences (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

-- Free-form documents the API keeps between calls (export jobs, import batches, ...).
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def dedupe_key(values: Iterable[Any]) -> str:
    """Canonical text of a dedupe-field tuple (strings compared as Marketo does, exactly)."""
    return dumps([None if v is None else str(v) for v in values])


class Store:
    """The sandbox's database. Thread-safe: one connection per thread, writes serialized."""

    def __init__(self, directory: Path, clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "marketo.db"
        self.snapshot_path = self.directory / "seed.db"
        self.clock = clock
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._generation = 0
        self.conn().executescript(SCHEMA)

    # -- connections -------------------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "generation", -1) != self._generation:
            if db is not None:
                db.close()
            db = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("PRAGMA temp_store=MEMORY")
            db.execute("PRAGMA cache_size=-65536")
            self._local.db = db
            self._local.generation = self._generation
        return db

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; writes from all threads are serialized."""
        with self._write_lock:
            db = self.conn()
            if db.in_transaction:  # nested: join the outer transaction
                yield db
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self.conn().execute(sql, tuple(params)).fetchall()

    def iterate(
        self, sql: str, params: Iterable[Any] = (), batch: int = 5000
    ) -> Iterator[sqlite3.Row]:
        """Stream a large result without holding it in memory (own connection, own snapshot)."""
        db = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        db.row_factory = sqlite3.Row
        try:
            cur = db.execute(sql, tuple(params))
            while rows := cur.fetchmany(batch):
                yield from rows
        finally:
            db.close()

    # -- time and ids ------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def now_ts(self) -> str:
        return format_ts(self.clock())

    def next_id(self, name: str, count: int = 1) -> int:
        """Reserve ``count`` ids of sequence ``name``; returns the first."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM sequences WHERE name=?", (name,)).fetchone()
            first = (row["value"] if row else 0) + 1
            db.execute(
                "INSERT INTO sequences(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                (name, first + count - 1),
            )
            return first

    def set_sequence_floor(self, name: str, value: int) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO sequences(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value=max(value, excluded.value)",
                (name, value),
            )

    # -- activities (Marketo's side effects of writes) ---------------------------------

    def log_activity(
        self,
        lead_id: int,
        activity_type_id: int,
        *,
        primary_attribute_value_id: int | None = None,
        primary_attribute_value: str | None = None,
        attributes: dict[str, Any] | None = None,
        campaign_id: int | None = None,
        when: float | None = None,
    ) -> dict[str, Any]:
        """Record an activity as Marketo would after a write, and return it."""
        activity_id = self.next_id("activity")
        date = format_ts(self.clock() if when is None else when)
        doc: dict[str, Any] = {
            "id": activity_id,
            "marketoGUID": str(activity_id),
            "leadId": int(lead_id),
            "activityDate": date,
            "activityTypeId": int(activity_type_id),
            "campaignId": campaign_id,
            "primaryAttributeValueId": primary_attribute_value_id,
            "primaryAttributeValue": primary_attribute_value,
            "attributes": [{"name": k, "value": v} for k, v in (attributes or {}).items()],
        }
        with self.transaction() as db:
            db.execute(
                "INSERT INTO activities(id, leadId, activityDate, activityTypeId, data) "
                "VALUES(?,?,?,?,?)",
                (activity_id, int(lead_id), date, int(activity_type_id), dumps(doc)),
            )
        return doc

    # -- generic objects ---------------------------------------------------------------

    def object_get(self, kind: str, pk: Any) -> dict[str, Any] | None:
        row = (
            self.conn()
            .execute("SELECT data FROM objects WHERE kind=? AND pk=?", (kind, str(pk)))
            .fetchone()
        )
        return json.loads(row["data"]) if row else None

    def object_by_dedupe(self, kind: str, dkey: str) -> dict[str, Any] | None:
        row = (
            self.conn()
            .execute("SELECT data FROM objects WHERE kind=? AND dkey=?", (kind, dkey))
            .fetchone()
        )
        return json.loads(row["data"]) if row else None

    def object_put(self, kind: str, pk: Any, data: dict[str, Any], dkey: str | None = None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO objects(kind, pk, dkey, createdAt, updatedAt, data) "
                "VALUES(?,?,?,?,?,?) ON CONFLICT(kind, pk) DO UPDATE SET dkey=excluded.dkey, "
                "createdAt=excluded.createdAt, updatedAt=excluded.updatedAt, data=excluded.data",
                (kind, str(pk), dkey, data.get("createdAt"), data.get("updatedAt"), dumps(data)),
            )

    def object_delete(self, kind: str, pk: Any) -> bool:
        with self.transaction() as db:
            cur = db.execute("DELETE FROM objects WHERE kind=? AND pk=?", (kind, str(pk)))
            return cur.rowcount > 0

    def objects(self, kind: str) -> Iterator[dict[str, Any]]:
        for row in self.iterate("SELECT data FROM objects WHERE kind=? ORDER BY rowid", (kind,)):
            yield json.loads(row["data"])

    def object_kinds(self) -> list[str]:
        return [r["kind"] for r in self.query("SELECT DISTINCT kind FROM objects ORDER BY kind")]

    # -- documents (job and batch records) --------------------------------------------

    def doc_get(self, kind: str, key: Any) -> dict[str, Any] | None:
        row = (
            self.conn()
            .execute("SELECT data FROM documents WHERE kind=? AND key=?", (kind, str(key)))
            .fetchone()
        )
        return json.loads(row["data"]) if row else None

    def doc_put(self, kind: str, key: Any, data: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO documents(kind, key, data) VALUES(?,?,?) "
                "ON CONFLICT(kind, key) DO UPDATE SET data=excluded.data",
                (kind, str(key), dumps(data)),
            )

    def docs(self, kind: str) -> list[dict[str, Any]]:
        rows = self.query("SELECT data FROM documents WHERE kind=? ORDER BY rowid", (kind,))
        return [json.loads(r["data"]) for r in rows]

    # -- snapshots: reset returns to the seeded state ----------------------------------

    def save_snapshot(self) -> None:
        with self._write_lock:
            src = self.conn()
            # Seeding leaves the whole database in the WAL (1 GB for `bench`): fold it back.
            src.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            dst = sqlite3.connect(self.snapshot_path)
            try:
                src.backup(dst)
            finally:
                dst.close()

    def restore_snapshot(self) -> None:
        with self._write_lock:
            if not self.snapshot_path.exists():
                return
            src = sqlite3.connect(self.snapshot_path)
            try:
                src.backup(self.conn())
            finally:
                src.close()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def destroy(self) -> None:
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)
