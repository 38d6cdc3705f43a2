"""Companies, sales persons, opportunities, opportunity roles and custom objects.

Marketo serves all of them with one pattern (describe / read by filter / sync / delete),
so one set of handlers, bound per :class:`ObjectType`, serves every type; the sync and
delete rules (links, 1021 / 1022, activities) live in :mod:`marketo_sandbox.domain.objects`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marketo_sandbox import envelope
from marketo_sandbox.app import Ctx, router
from marketo_sandbox.domain.object_types import instance_custom_type, instance_custom_types
from marketo_sandbox.domain.objects import (
    DEDUPE_BY,
    as_int,
    check_sync_options,
    coerce,
    decode_page_token,
    delete_objects,
    described_type,
    encode_page_token,
    find_by_dkeys,
    find_by_field,
    find_by_pks,
    key_text_value,
    sync_objects,
)
from marketo_sandbox.envelope import ApiError
from marketo_sandbox.model.leads import (
    resolve_read_fields,
)
from marketo_sandbox.model.objects import (
    COMPANIES,
    OPPORTUNITIES,
    OPPORTUNITY_ROLES,
    SALESPERSONS,
    ObjectType,
)
from marketo_sandbox.store import Store, dedupe_key


def lead_fields_arg(ctx: Ctx) -> list[str]:
    """``fields`` of a lead read (lists, programs): lead field names, ``id`` first; without
    it Adobe returns email, updatedAt, createdAt, lastName, firstName and id."""
    return resolve_read_fields(ctx.list_arg("fields"))


def describe(ctx: Ctx, ot: ObjectType) -> dict[str, Any]:
    return envelope.ok([described_type(ctx.store, ot)])


def _field_list(ot: ObjectType, raw: Any) -> list[str] | None:
    if not raw:
        return None
    names: list[str] = []
    items = raw if isinstance(raw, list) else str(raw).split(",")
    for item in items:
        for part in str(item).split(","):
            name = part.strip()
            if not name:
                continue
            canonical = ot.canonical(name)
            if canonical is None:
                raise ApiError("1006", f"Field '{name}' not found")
            if canonical not in names:
                names.append(canonical)
    return names or None


def _filter_key(ot: ObjectType, filter_type: str) -> tuple[str, ...]:
    if filter_type == "dedupeFields":
        return ot.dedupe_fields
    if filter_type == "idField":
        return (ot.id_field,)
    canonical = ot.canonical(filter_type)
    if canonical is not None and (canonical,) in ot.searchable_fields:
        return (canonical,)
    if canonical in (ot.id_field, *ot.dedupe_fields) and len(ot.dedupe_fields) == 1:
        return (canonical,)
    raise ApiError("1003", f"Invalid filterType '{filter_type}'")


def _json_body(ctx: Ctx) -> Any:
    if ctx.request.mimetype == "application/x-www-form-urlencoded":
        return None
    return ctx.json(required=False)


def read(ctx: Ctx, ot: ObjectType) -> dict[str, Any]:
    body = _json_body(ctx)
    compound = isinstance(body, dict) and isinstance(body.get("input"), list)
    if compound:
        filter_type = str(body.get("filterType") or ctx.arg("filterType") or "dedupeFields")
        fields = _field_list(ot, body.get("fields") or ctx.list_arg("fields"))
        batch = as_int(body.get("batchSize")) or ctx.batch_size()
        token = body.get("nextPageToken") or ctx.arg("nextPageToken")
        key = _filter_key(ot, filter_type)
        values: list[tuple[Any, ...]] = []
        for item in body["input"]:
            if not isinstance(item, dict):
                raise ApiError("1003", "Each input must be an object")
            picked = {}
            for k, v in item.items():
                canonical = ot.canonical(k)
                if canonical is not None:
                    picked[canonical] = v
            missing = [f for f in key if picked.get(f) in (None, "")]
            if missing:
                raise ApiError("1003", f"Value for required field '{missing[0]}' not specified")
            values.append(tuple(picked[f] for f in key))
    else:
        filter_type = ctx.require("filterType")
        key = _filter_key(ot, filter_type)
        if len(key) > 1:
            # Compound keys cannot travel in a comma list: Marketo wants the JSON body.
            raise ApiError("1003", "Compound key lookups require a JSON body with 'input'")
        raw_values = ctx.list_arg("filterValues")
        if not raw_values:
            raise ApiError("1003", "filterValues cannot be blank")
        values = [(v,) for v in raw_values]
        fields = _field_list(ot, ctx.list_arg("fields"))
        batch = ctx.batch_size()
        token = ctx.arg("nextPageToken")
    if len(values) > ctx.config.max_filter_values:
        raise ApiError("1003", f"Number of filter values exceeds {ctx.config.max_filter_values}")
    batch = max(1, min(batch, ctx.config.max_batch_size))
    state = decode_page_token(token, ot.kind)
    offset = int(state.get("o", 0)) if state else 0

    matches = _match(ctx.store, ot, key, values)
    page = matches[offset : offset + batch]
    result = [{"seq": seq, **ot.render(record, fields)} for seq, record in page]
    extra: dict[str, Any] = {}
    more = offset + batch < len(matches)
    if more:
        extra["nextPageToken"] = encode_page_token({"s": ot.kind, "o": offset + batch})
    if ot is not COMPANIES:  # ResponseOfCompany is the only one without moreResult
        extra["moreResult"] = more
    return envelope.ok(result, **extra)


def _key_text(ot: ObjectType, key: tuple[str, ...], value: tuple[Any, ...]) -> tuple[str, ...]:
    out = []
    for name, raw in zip(key, value, strict=True):
        fdef = ot.get_field(name)
        try:
            typed = coerce(fdef, raw) if fdef else raw
        except (TypeError, ValueError):
            typed = raw
        out.append(key_text_value(typed))
    return tuple(out)


def _match(
    store: Store, ot: ObjectType, key: tuple[str, ...], values: list[tuple[Any, ...]]
) -> list[tuple[int, dict[str, Any]]]:
    """(seq, record) for every record matching a filter value, in filter-value order."""
    texts = [_key_text(ot, key, v) for v in values]
    by_value: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    if key == ot.dedupe_fields:
        found = find_by_dkeys(store, ot, (dedupe_key(t) for t in texts))
        for t in texts:
            record = found.get(dedupe_key(t))
            by_value[t] = [record] if record else []
    elif key == (ot.id_field,):
        found = find_by_pks(store, ot, (t[0] for t in texts))
        for t in texts:
            record = found.get(t[0])
            by_value[t] = [record] if record else []
    else:
        for record in find_by_field(store, ot, key[0], (t[0] for t in texts)):
            by_value.setdefault((key_text_value(record.get(key[0])),), []).append(record)
    out: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()
    for seq, t in enumerate(texts):
        for record in by_value.get(t, []):
            pk = str(record[ot.id_field])
            if pk not in seen:
                seen.add(pk)
                out.append((seq, record))
    return out


def sync(ctx: Ctx, ot: ObjectType) -> dict[str, Any]:
    body = ctx.body()
    action = body.get("action") or "createOrUpdate"
    dedupe_by = body.get("dedupeBy") or "dedupeFields"
    check_sync_options(action, dedupe_by)
    items = body.get("input")
    if not isinstance(items, list) or not items:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(items)
    return envelope.ok(
        sync_objects(ctx.store, ot, items, action=action, dedupe_by=dedupe_by, config=ctx.config)
    )


def delete(ctx: Ctx, ot: ObjectType) -> dict[str, Any]:
    body = ctx.body()
    delete_by = body.get("deleteBy") or "dedupeFields"
    if delete_by not in DEDUPE_BY:
        raise ApiError("1003", f"Invalid deleteBy '{delete_by}'")
    items = body.get("input")
    if not isinstance(items, list) or not items:
        raise ApiError("1003", "input cannot be blank")
    ctx.check_input_size(items)
    return envelope.ok(delete_objects(ctx.store, ot, items, delete_by, config=ctx.config))


def _bind(fn: Callable[[Ctx, ObjectType], Any], ot: ObjectType) -> Callable[..., Any]:
    def handler(ctx: Ctx) -> Any:
        return fn(ctx, ot)

    handler.__name__ = f"{fn.__name__}_{ot.name}"
    return handler


def _custom(fn: Callable[[Ctx, ObjectType], Any]) -> Callable[..., Any]:
    def handler(ctx: Ctx, name: str) -> Any:
        ot = instance_custom_type(ctx.config, name)
        if ot is None:
            raise ApiError("1003", f"Invalid custom object type '{name}'")
        return fn(ctx, ot)

    handler.__name__ = f"{fn.__name__}_custom"
    return handler


for _ot in (COMPANIES, SALESPERSONS, OPPORTUNITIES, OPPORTUNITY_ROLES):
    router.route(f"{_ot.path}/describe.json", ("GET",))(_bind(describe, _ot))
    router.route(f"{_ot.path}.json", ("GET",))(_bind(read, _ot))
    router.route(f"{_ot.path}.json", ("POST",))(_bind(sync, _ot))
    router.route(f"{_ot.path}/delete.json", ("POST",))(_bind(delete, _ot))


router.route("/rest/v1/customobjects/<name>/describe.json", ("GET",))(_custom(describe))


router.route("/rest/v1/customobjects/<name>.json", ("GET",))(_custom(read))


router.route("/rest/v1/customobjects/<name>.json", ("POST",))(_custom(sync))


router.route("/rest/v1/customobjects/<name>/delete.json", ("POST",))(_custom(delete))


@router.route("/rest/v1/customobjects.json", ("GET",))
def list_custom_objects(ctx: Ctx) -> dict[str, Any]:
    names = set(ctx.list_arg("names"))
    return envelope.ok(
        [
            described_type(ctx.store, t, fields=False)
            for t in instance_custom_types(ctx.config)
            if not names or t.name in names
        ]
    )
