"""The drain planner and the batching rules, without a Marketo: order, collapse,
conversion, request sizes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from target_marketo_crm.objects import (
    DEFAULT_ACTION,
    MAX_BODY_BYTES,
    ORDER,
    STANDARD_KINDS,
    ObjectKind,
    Op,
    custom_object_kind,
    ordered_steps,
)
from target_marketo_crm.planner import Item, Plan, Planner, Step, make_key
from target_marketo_crm.rejects import RejectLog
from target_marketo_crm.writer import WRITES, Writer, WriterSettings

CAR = custom_object_kind("car_c", ("vin",), parents=("leads",), lead_ref="leadId")
SUBSCRIPTION = custom_object_kind("subscription_c", ("subscriptionId",), parents=("companies",))
KINDS: dict[str, ObjectKind] = {**STANDARD_KINDS, CAR.name: CAR, SUBSCRIPTION.name: SUBSCRIPTION}
COMPANY_FIELDS = frozenset({"company", "industry", "numberOfEmployees"})

# Child -> parents, as Marketo enforces them (a role needs its lead and opportunity...).
PARENTS: dict[str, tuple[str, ...]] = {
    "companies": ("salespersons",),
    "leads": ("companies", "salespersons"),
    "opportunities": ("companies", "salespersons"),
    "opportunity_roles": ("opportunities", "leads"),
    "program_members": ("leads",),
    "list_members": ("leads",),
    "campaign_requests": ("leads",),
    CAR.name: ("leads",),
    SUBSCRIPTION.name: ("companies",),
}


def planner() -> Planner:
    return Planner(kinds=lambda: KINDS, company_type_fields=lambda: COMPANY_FIELDS,
                   action_for=lambda _name: DEFAULT_ACTION)


def item(kind: str, op: Op, key: str, stream: str | None = None, **fields: Any) -> Item:
    return Item(stream=stream or kind, kind=kind, op=op, fields=dict(fields),
                key=make_key([("k", key)]), record={"k": key, **fields})


def positions(steps: list[tuple[str, Op]]) -> dict[tuple[str, Op], int]:
    return {step: i for i, step in enumerate(steps)}


def test_the_order_puts_every_parent_upsert_first_and_every_parent_delete_last() -> None:
    at = positions(ordered_steps(KINDS))
    for child, parents in PARENTS.items():
        child_write = (child, Op.TRIGGER if child == "campaign_requests" else Op.UPSERT)
        for parent in parents:
            assert at[(parent, Op.UPSERT)] < at[child_write], (parent, child)
            if (child, Op.DELETE) in at:
                assert at[(child, Op.DELETE)] < at[(parent, Op.DELETE)], (child, parent)


def test_the_order_follows_adobes_sequence_but_deletes_roles_before_their_leads() -> None:
    adobe = [
        ("salespersons", Op.UPSERT), ("companies", Op.UPSERT), ("leads", Op.UPSERT),
        ("leads", Op.DELETE), ("opportunities", Op.UPSERT), ("opportunity_roles", Op.UPSERT),
        ("opportunity_roles", Op.DELETE), ("opportunities", Op.DELETE),
        ("companies", Op.DELETE), ("salespersons", Op.DELETE),
    ]
    ours = [step for step in ORDER if step in adobe]
    role_delete = ("opportunity_roles", Op.DELETE)
    assert [s for s in ours if s != role_delete] == [s for s in adobe if s != role_delete]
    # Adobe deletes leads first; a role is the lead's child, so it goes first here.
    assert ours.index(role_delete) < ours.index(("leads", Op.DELETE))


def test_custom_objects_are_upserted_after_and_deleted_before_their_parents() -> None:
    steps = ordered_steps(KINDS)
    at = positions(steps)
    assert at[(CAR.name, Op.DELETE)] < at[("leads", Op.DELETE)]
    assert at[(SUBSCRIPTION.name, Op.DELETE)] < at[("companies", Op.DELETE)]
    assert at[(CAR.name, Op.UPSERT)] > at[("leads", Op.UPSERT)]
    # A custom type linked to another custom type: parents first, children deleted first.
    garage = custom_object_kind("garage_c", ("garageId",), parents=("leads",))
    slot = custom_object_kind("slot_c", ("slotId",), parents=(garage.name,))
    steps = ordered_steps({**KINDS, garage.name: garage, slot.name: slot})
    at = positions(steps)
    assert at[(garage.name, Op.UPSERT)] < at[(slot.name, Op.UPSERT)]
    assert at[(slot.name, Op.DELETE)] < at[(garage.name, Op.DELETE)]


def test_a_key_seen_twice_keeps_the_crms_last_word() -> None:
    p = planner()
    p.stage([
        item("companies", Op.UPSERT, "A", company="Acme", industry="Retail"),
        item("companies", Op.UPSERT, "A", industry="Energy"),
        item("companies", Op.UPSERT, "B", company="Beta"),
        item("companies", Op.DELETE, "B"),
        item("companies", Op.DELETE, "C"),
        item("companies", Op.UPSERT, "C", company="Reborn"),
    ])
    plan = p.take_plan()
    assert plan.merged_duplicates == 3
    by_step = {(s.kind.name, s.op): s.items for s in plan.steps}
    upserts = {i.key_dict()["k"]: i.fields for i in by_step[("companies", Op.UPSERT)]}
    assert upserts == {"A": {"company": "Acme", "industry": "Energy"},
                       "C": {"company": "Reborn"}}
    assert [i.key_dict()["k"] for i in by_step[("companies", Op.DELETE)]] == ["B"]


def test_a_converted_lead_gives_its_company_fields_to_its_company() -> None:
    p = planner()
    p.stage([
        item("leads", Op.UPSERT, "L1", email="a@x.com", externalCompanyId="ACC-1",
             company="From Lead", industry="Retail", numberOfEmployees=None, title="CTO"),
        item("leads", Op.UPSERT, "L2", email="b@x.com", externalCompanyId="ACC-2",
             company="Lead Says", industry="Lead Industry"),
        Item(stream="companies", kind="companies", op=Op.UPSERT,
             fields={"externalCompanyId": "ACC-2", "company": "Account Says"},
             key=make_key([("externalCompanyId", "ACC-2")]), record={}),
        item("leads", Op.UPSERT, "L3", email="c@x.com", company="Prospect Co"),
    ])
    plan = p.take_plan()
    by_step = {(s.kind.name, s.op): s.items for s in plan.steps}
    leads = {i.key_dict()["k"]: i.fields for i in by_step[("leads", Op.UPSERT)]}
    assert leads == {
        "L1": {"email": "a@x.com", "externalCompanyId": "ACC-1", "title": "CTO"},
        "L2": {"email": "b@x.com", "externalCompanyId": "ACC-2"},
        # Not linked to a company: company fields stay on the lead.
        "L3": {"email": "c@x.com", "company": "Prospect Co"},
    }
    companies = sorted((i.fields for i in by_step[("companies", Op.UPSERT)]),
                       key=lambda f: f["externalCompanyId"])
    assert companies == [
        # Nulls are never routed (they would wipe the account's data).
        {"externalCompanyId": "ACC-1", "company": "From Lead", "industry": "Retail"},
        # The companies stream wins; the lead only fills what it did not say.
        {"externalCompanyId": "ACC-2", "company": "Account Says",
         "industry": "Lead Industry"},
    ]
    assert [s.label for s in plan.steps] == ["upsert companies", "upsert leads"]


# --- ordering does not depend on the order streams arrive in --------------------------

_STREAM_ITEMS = st.lists(
    st.tuples(
        st.sampled_from([*sorted(PARENTS), "salespersons"]),
        st.sampled_from([Op.UPSERT, Op.DELETE]),
        st.integers(min_value=0, max_value=4),
        st.integers(min_value=0, max_value=3),
    ),
    min_size=1, max_size=40,
)


def _items(spec: list[tuple[str, Op, int, int]]) -> list[Item]:
    out = []
    for n, (kind, op, key, value) in enumerate(spec):
        real_op = Op.TRIGGER if kind == "campaign_requests" else op
        out.append(item(kind, real_op, f"{kind}-{key}", v=value, n=n))
    return out


def _fingerprint(plan: Plan) -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (s.label, sorted((json.dumps(i.key_dict()), json.dumps(i.fields, sort_keys=True))
                         for i in s.items))
        for s in plan.steps
    ]


@settings(max_examples=150, deadline=None)
@given(spec=_STREAM_ITEMS, seed=st.randoms(use_true_random=False))
def test_any_interleaving_of_the_streams_gives_the_same_plan(spec: Any, seed: Any) -> None:
    items = _items(spec)
    streams: dict[str, list[Item]] = {}
    for it in items:
        streams.setdefault(it.stream, []).append(it)
    # Another arrival order: streams interleaved at random, each stream's order kept.
    queues = {k: list(v) for k, v in streams.items()}
    shuffled: list[Item] = []
    while queues:
        name = seed.choice(sorted(queues))
        shuffled.append(queues[name].pop(0))
        if not queues[name]:
            del queues[name]

    first, second = planner(), planner()
    first.stage(_items(spec))
    second.stage([_copy(i) for i in shuffled])
    plan_a, plan_b = first.take_plan(), second.take_plan()
    assert _fingerprint(plan_a) == _fingerprint(plan_b)
    at = positions(ordered_steps(KINDS))
    labels = [(s.kind.name, s.op) for s in plan_a.steps]
    assert labels == sorted(labels, key=at.__getitem__)


def _copy(it: Item) -> Item:
    return Item(stream=it.stream, kind=it.kind, op=it.op, fields=dict(it.fields), key=it.key,
                record=it.record)


# --- request sizes -----------------------------------------------------------------------


def _dry_writer() -> Writer:
    return Writer(client=None, catalog=None, rejects=RejectLog(None),  # type: ignore[arg-type]
                  settings=WriterSettings(dry_run=True, bulk_import_threshold=0))


def _leads(n: int, **fields: Any) -> list[Item]:
    return [item("leads", Op.UPSERT, f"L{i}", email=f"l{i}@x.com", **fields) for i in range(n)]


def test_writes_go_in_batches_of_at_most_300_records() -> None:
    writer = _dry_writer()
    writer.execute(Plan([Step(KINDS["leads"], Op.UPSERT, _leads(650))]))
    assert writer.tally.calls["leads createOrUpdate"] == 3
    assert writer.tally.records["leads createOrUpdate"] == 650
    writer.close()


def test_bodies_stay_under_one_megabyte() -> None:
    writer = _dry_writer()
    big = "x" * 9_000  # 300 of these would be ~2.7 MB
    items = _leads(300, productInterestNotes=big)
    calls = writer._lead_upsert_calls(items)
    assert len(calls) == 3
    for call in calls:
        assert len(json.dumps(call.body).encode()) < MAX_BODY_BYTES
    assert sum(len(c.items) for c in calls) == 300
    writer.close()


def test_a_campaign_is_triggered_for_at_most_100_leads_a_call() -> None:
    writer = _dry_writer()
    requests = [
        Item(stream="campaign_requests", kind="campaign_requests", op=Op.TRIGGER,
             fields={"id": i}, key=make_key([("lead", i)]), record={}, group=(1001, ()))
        for i in range(250)
    ]
    writer.execute(Plan([Step(KINDS["campaign_requests"], Op.TRIGGER, requests)]))
    assert writer.tally.calls["campaign trigger"] == 3
    writer.close()


# --- the WRITES table --------------------------------------------------------------------


def test_every_step_the_order_can_plan_has_one_way_to_be_written() -> None:
    planned = {(KINDS[name].family, op) for name, op in ordered_steps(KINDS)}
    assert planned == set(WRITES), "WRITES and objects.ORDER disagree"


def test_a_step_with_no_way_to_be_written_fails_loudly() -> None:
    writer = _dry_writer()
    step = Step(KINDS["campaign_requests"], Op.DELETE, [
        Item(stream="campaign_requests", kind="campaign_requests", op=Op.DELETE,
             fields={"id": 1}, key=make_key([("lead", 1)]), record={}, group=(1001, ()))])
    try:
        with pytest.raises(ValueError, match="no way to write delete of campaign_requests"):
            writer.execute(Plan([step]))
    finally:
        writer.close()


def test_each_family_and_operation_sends_its_own_endpoint() -> None:
    writer = _dry_writer()
    plan = Plan([
        Step(KINDS["companies"], Op.UPSERT, [item("companies", Op.UPSERT, "C1")]),
        Step(KINDS["leads"], Op.DELETE, [item("leads", Op.DELETE, "L1", id=7)]),
        Step(KINDS["list_members"], Op.DELETE, [
            Item(stream="list_memberships", kind="list_members", op=Op.DELETE,
                 fields={"id": 7}, key=make_key([("lead", 7)]), record={}, group=(55,))]),
    ])
    writer.execute(plan)
    writer.close()
    assert dict(writer.tally.calls) == {
        "companies createOrUpdate": 1, "leads delete": 1, "list_members remove": 1}
