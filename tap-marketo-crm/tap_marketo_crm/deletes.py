"""Deletes of objects Marketo keeps no delete log for, found by comparing ids.

Marketo logs a lead's deletion (Delete Lead, 37) and list and role removals, but a
deleted program, smart campaign, static list or email leaves no trace: it is simply
absent from the next read (docs/MARKETO.md section 4). A stream that reads every id of
its object compares them with the ids it has emitted before, kept in its state
(``known_ids``, as ranges: Marketo's ids are mostly consecutive, so a few thousand ids
take a few dozen numbers), and emits each id that is gone as its key plus
``_sdc_deleted_at`` (the time of the read that found it gone).

A read that finds an id never emitted writes it whatever its ``updatedAt``
(:func:`appeared`): the reverse of a delete, as when the API role gains a workspace.

Campaigns and static lists are read whole on every run anyway (Marketo's reads have no
date filter), so they compare on every run at no cost. Programs, emails and smart lists
are read by ``updatedAt`` range; they browse every id (one call per 200) at most once per
``delete_scan_interval_hours`` (``last_delete_scan`` in their state), and a first sync is
such a scan. A quiet run between scans costs what it cost before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from marketo_core.timeutil import format_marketo_datetime

from tap_marketo_crm import schemas as s
from tap_marketo_crm.settings import setting
from tap_marketo_crm.state import state_time
from tap_marketo_crm.windows import parse_ts

if TYPE_CHECKING:
    from tap_marketo_crm.records import RecordWriter
    from tap_marketo_crm.streams.base import MarketoStream

KNOWN_IDS = "known_ids"
LAST_SCAN = "last_delete_scan"


def pack(ids: Iterable[int]) -> list[list[int]]:
    """Ids as sorted inclusive ranges ``[[first, last], ...]``."""
    ranges: list[list[int]] = []
    for value in sorted(set(ids)):
        if ranges and value == ranges[-1][1] + 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ranges


def unpack(ranges: Iterable[Iterable[int]]) -> set[int]:
    out: set[int] = set()
    for first, last in ranges:
        out.update(range(int(first), int(last) + 1))
    return out


def known_ids(stream: MarketoStream, group: str | None = None) -> set[int] | None:
    """The ids this stream has emitted and not deleted (None: it never kept them, e.g.
    state from a release before delete capture: nothing can be compared yet).
    ``group`` names one set of a stream keyed by more than the id (an email's status)."""
    stored = stream.stream_state.get(KNOWN_IDS)
    if stored is None:
        return None
    if group is None:
        return unpack(stored) if isinstance(stored, list) else None
    if not isinstance(stored, Mapping):
        return None
    return unpack(stored.get(group) or [])


def appeared(known: set[int] | None, record_id: int) -> bool:
    """Whether a read found an id this stream has never emitted. Such a record is written
    whatever its ``updatedAt``: it is not new, it came into view, e.g. when the API role
    was given another workspace (docs/MARKETO.md section 9), and a bookmark filter
    would skip it until a full refresh. Unknown (None) ids compare nothing."""
    return known is not None and record_id not in known


def remember_ids(stream: MarketoStream, ids: Iterable[int] | Mapping[str, Iterable[int]]) -> None:
    """Keep these ids (or these ids per group) as the stream's known ids; the caller's
    next STATE message carries them."""
    if isinstance(ids, Mapping):
        stream.stream_state[KNOWN_IDS] = {group: pack(v) for group, v in sorted(ids.items())}
    else:
        stream.stream_state[KNOWN_IDS] = pack(ids)


def due(stream: MarketoStream, state_key: str, interval: dt.timedelta) -> bool:
    """Whether the moment kept under ``state_key`` in the stream's state is at least
    ``interval`` before this run (or was never kept)."""
    last = stream.stream_state.get(state_key)
    if not last:
        return True
    return stream.run.now - parse_ts(last) >= interval


def scan_due(stream: MarketoStream) -> bool:
    """Whether this run browses every id (no scan yet, or the interval has passed)."""
    hours = float(setting(stream.config, "delete_scan_interval_hours"))
    return due(stream, LAST_SCAN, dt.timedelta(hours=hours))


def scanned(stream: MarketoStream) -> dict[str, Any]:
    """The state of a completed scan, for ``commit_bookmark(..., **scanned(stream))``."""
    return {LAST_SCAN: state_time(stream.run.now)}


def write_vanished(
    writer: RecordWriter,
    gone: Iterable[int],
    when: dt.datetime,
    **key: Any,
) -> int:
    """Each id of ``gone`` as a delete: ``{"id": id, **key, "_sdc_deleted_at": when}``
    (``key`` completes a compound key, e.g. an email's ``status``)."""
    count = 0
    for value in sorted(gone):
        writer.write_partial({"id": value, **key, s.SDC_DELETED_AT: state_time(when)})
        count += 1
    return count


def browse_capturing_deletes(
    stream: MarketoStream,
    path: str,
    noun: str,
    group_by: tuple[str, tuple[str, ...]] | None = None,
) -> set[int] | None:
    """Sync an asset browse that takes an ``updatedAt`` range (programs, smart lists,
    emails), capturing its deletes; returns every id when this run scanned, else None.

    A scan browses everything instead of the range and writes only what was created or
    updated since the bookmark (less the lookback), as the range would have (Adobe: the
    range returns assets created OR updated within it), and those never written before
    (:func:`appeared`: they came into view); the ids it read replace the
    known ids and those gone are written as deletes. A range run adds what it read to
    the known ids (a new asset must be compared by the next scan).

    ``group_by``: a key field beside the id and its values, e.g. an email's ``status``
    (approved, draft): ids are compared per value, so an approval that replaces a draft
    deletes the ``(id, "draft")`` row and keeps ``(id, "approved")``."""
    field, groups = group_by if group_by else ("", (None,))
    known = {group: known_ids(stream, group) for group in groups}
    comparable = all(ids is not None for ids in known.values())
    bookmark = stream.bookmark()
    scan = bookmark is None or scan_due(stream)
    floor = None
    if scan and bookmark is not None:
        floor = format_marketo_datetime(max(bookmark - stream.lookback, stream.start_date))
    writer = stream.writer()
    seen: dict[str | None, set[int]] = {group: set() for group in groups}
    for record in stream.client.browse_assets(path, {} if scan else stream.updated_range()):
        group = str(record.get(field)) if group_by else None
        seen.setdefault(group, set()).add(int(record["id"]))
        if (
            floor is None
            or appeared(known.get(group), int(record["id"]))
            or any(
                record.get(name) and s.to_datetime(record[name]) >= floor
                for name in ("createdAt", "updatedAt")
            )
        ):
            writer.write(record)
    if scan:
        if comparable:
            gone = 0
            for group, ids in known.items():
                key = {field: group} if group_by else {}
                gone += write_vanished(writer, (ids or set()) - seen[group], stream.run.now, **key)
            stream.logger.info(
                "'%s': %d %s deleted since the last scan", stream.name, gone, noun
            )
        _remember(stream, seen, grouped=bool(group_by))
    elif comparable:
        merged = {group: (known.get(group) or set()) | ids for group, ids in seen.items()}
        _remember(stream, merged, grouped=bool(group_by))
    stream.log_written(writer)
    stream.commit_bookmark(stream.run.now, **(scanned(stream) if scan else {}))
    return set().union(*seen.values()) if scan else None


def _remember(stream: MarketoStream, ids: dict[str | None, set[int]], *, grouped: bool) -> None:
    if grouped:
        remember_ids(stream, {str(group): values for group, values in ids.items()})
    else:
        remember_ids(stream, ids[None])
