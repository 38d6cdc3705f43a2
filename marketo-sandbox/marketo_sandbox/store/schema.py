"""The sandbox's SQLite schema, and the expression indexes lead lookups use.

Every object is a JSON document in ``data``; the other columns are only what the API
filters or orders by. Timestamps are text in the store spelling of
:mod:`marketo_sandbox.timestamps`, which sorts as time.
"""

from __future__ import annotations

import sqlite3

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


def json_path(name: str) -> str:
    """The SQL expression reading a field out of the stored document.

    Searchable fields have an expression index on exactly this text
    (:func:`create_lead_indexes`), so lookups by custom CRM ids stay fast on the
    100,000-lead seed.
    """
    return f"json_extract(data, '$.{name}')"


# Expression indexes (id and email have real columns): the lookup keys CRM syncs use in
# volume and the company / sales person links. Rarer filterTypes scan, as each index
# costs every lead write a JSON parse.
LEAD_INDEXED_FIELDS = (
    "crmContactId",
    "cookies",
    "sfdcLeadId",
    "sfdcContactId",
    "sfdcAccountId",
    "secondaryEmail",
    "externalCompanyId",
    "externalSalesPersonId",
)


def create_lead_indexes(db: sqlite3.Connection) -> None:
    """Index the lookup fields; created after a bulk seed, as filling then indexing is
    far cheaper than indexing every insert."""
    for name in LEAD_INDEXED_FIELDS:
        db.execute(f"CREATE INDEX IF NOT EXISTS leads_f_{name} ON leads({json_path(name)})")
