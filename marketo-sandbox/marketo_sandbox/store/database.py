"""The sandbox's database: one SQLite file in a work directory, a connection per thread.

SQLite keeps memory flat for the ``bench`` seed (a million activities) and lets bulk
export jobs stream rows from a consistent read while REST writes go on (WAL mode).
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

from marketo_sandbox.store.schema import SCHEMA
from marketo_sandbox.timestamps import format_ts

INSERT_LEAD = "INSERT INTO leads(id, email, createdAt, updatedAt, data) VALUES(?,?,?,?,?)"
INSERT_LIST_MEMBER = "INSERT OR IGNORE INTO list_members(listId, leadId, createdAt) VALUES(?,?,?)"
PUT_PROGRAM_MEMBER = (
    "INSERT INTO program_members(programId, leadId, updatedAt, data) VALUES(?,?,?,?) "
    "ON CONFLICT(programId, leadId) DO UPDATE SET updatedAt=excluded.updatedAt, "
    "data=excluded.data"
)


def lead_row(data: dict[str, Any]) -> tuple[Any, ...]:
    """The ``leads`` columns of a lead document, in :data:`INSERT_LEAD` order."""
    return int(data["id"]), data.get("email"), data["createdAt"], data["updatedAt"], dumps(data)


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
        # An SQL condition on ``activities`` rows true for those Marketo still serves, and
        # its parameters; None when every row is served. The app sets it from its config
        # and clock (activity retention, see ``domain.retention``).
        self.activities_kept: Callable[[], tuple[str, list[Any]] | None] = lambda: None
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

    # -- leads and memberships ---------------------------------------------------------

    def insert_lead(self, data: dict[str, Any]) -> None:
        """A new lead row exactly as given (the domain sets ids, defaults and dates)."""
        with self.transaction() as db:
            db.execute(INSERT_LEAD, lead_row(data))

    def update_lead(self, data: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE leads SET email=?, updatedAt=?, data=? WHERE id=?",
                (data.get("email"), data["updatedAt"], dumps(data), int(data["id"])),
            )

    def lead(self, lead_id: int) -> dict[str, Any] | None:
        row = self.conn().execute("SELECT data FROM leads WHERE id=?", (lead_id,)).fetchone()
        return json.loads(row["data"]) if row else None

    def lead_updated_at(self, lead_id: int) -> str | None:
        """The ``updatedAt`` column (what reads filter and order by), kept beside the document."""
        row = self.conn().execute("SELECT updatedAt FROM leads WHERE id=?", (lead_id,)).fetchone()
        return str(row["updatedAt"]) if row else None

    def remove_lead_rows(self, lead_ids: Iterable[int]) -> None:
        """Rows gone, nothing else: Marketo's delete (links, activities) is the domain's."""
        with self.transaction() as db:
            db.executemany("DELETE FROM leads WHERE id=?", [(int(i),) for i in lead_ids])

    def add_list_member(self, list_id: int, lead_id: int, created_at: str) -> None:
        with self.transaction() as db:
            db.execute(INSERT_LIST_MEMBER, (int(list_id), int(lead_id), created_at))

    def list_member_ids(self, list_id: int) -> list[int]:
        rows = self.query(
            "SELECT leadId FROM list_members WHERE listId=? ORDER BY leadId", (list_id,)
        )
        return [int(r["leadId"]) for r in rows]

    def put_program_member(
        self, program_id: int, lead_id: int, updated_at: str, data: dict[str, Any]
    ) -> None:
        """Insert or replace a membership (``data`` is the member document)."""
        with self.transaction() as db:
            db.execute(PUT_PROGRAM_MEMBER, (int(program_id), int(lead_id), updated_at, dumps(data)))

    def program_member(self, program_id: int, lead_id: int) -> dict[str, Any] | None:
        row = (
            self.conn()
            .execute(
                "SELECT data FROM program_members WHERE programId=? AND leadId=?",
                (program_id, lead_id),
            )
            .fetchone()
        )
        return json.loads(row["data"]) if row else None

    def lead_memberships(self, lead_id: int) -> tuple[list[int], list[int]]:
        """(list ids, program ids) the lead is a member of."""
        lists = self.query(
            "SELECT listId FROM list_members WHERE leadId=? ORDER BY listId", (lead_id,)
        )
        programs = self.query(
            "SELECT programId FROM program_members WHERE leadId=? ORDER BY programId", (lead_id,)
        )
        return [int(r["listId"]) for r in lists], [int(r["programId"]) for r in programs]

    def activities_of(self, lead_id: int, type_id: int | None = None) -> list[dict[str, Any]]:
        """A lead's activities in id order, optionally of one type."""
        if type_id is None:
            rows = self.query("SELECT data FROM activities WHERE leadId=? ORDER BY id", (lead_id,))
        else:
            rows = self.query(
                "SELECT data FROM activities WHERE leadId=? AND activityTypeId=? ORDER BY id",
                (lead_id, type_id),
            )
        return [json.loads(r["data"]) for r in rows]

    # -- generic objects ---------------------------------------------------------------

    def object_get(self, kind: str, pk: Any) -> dict[str, Any] | None:
        row = (
            self.conn()
            .execute("SELECT data FROM objects WHERE kind=? AND pk=?", (kind, str(pk)))
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
        """Remove one object; False when there was none."""
        with self.transaction() as db:
            cur = db.execute("DELETE FROM objects WHERE kind=? AND pk=?", (kind, str(pk)))
            return bool(cur.rowcount)

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
