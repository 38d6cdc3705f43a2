"""Where the sandbox keeps its data: one SQLite database in a work directory.

SQLite keeps memory flat for the ``bench`` seed (a million activities) and lets bulk
export jobs stream rows from a consistent read while REST writes go on (WAL mode, one
connection per thread). Every object is a JSON document in ``data``; the other columns
are only what the API filters or orders by.

Timestamps are stored as Marketo writes them, ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole
seconds), which also sorts correctly as text.
"""

from marketo_sandbox.store.database import (
    INSERT_LEAD,
    INSERT_LIST_MEMBER,
    PUT_PROGRAM_MEMBER,
    Store,
    dedupe_key,
    dumps,
    lead_row,
)
from marketo_sandbox.store.schema import create_lead_indexes, json_path

__all__ = [
    "INSERT_LEAD",
    "INSERT_LIST_MEMBER",
    "PUT_PROGRAM_MEMBER",
    "Store",
    "create_lead_indexes",
    "dedupe_key",
    "dumps",
    "json_path",
    "lead_row",
]
