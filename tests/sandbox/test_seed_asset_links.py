"""The seeded activities name assets that exist: every ``primaryAttributeValueId`` of an
activity type whose primary attribute is an asset resolves to that asset in the ground
truth (with its name as ``primaryAttributeValue``), every ``campaignId`` to a smart
campaign, a visit to a landing page names that page, and an email's deliveries, opens
and clicks name their send (mailing, campaign, campaign run and lead: the key email
reports join on). Under Marketo's default retention, as every test sees the seed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from marketo_sandbox.model import activity_types as at
from marketo_sandbox.testing import SandboxControl
from sandbox_helpers import attrs

# activity type -> ground-truth kind its primary attribute names
NAMED_ASSET = {
    at.SEND_EMAIL: "emails",
    at.EMAIL_DELIVERED: "emails",
    at.EMAIL_BOUNCED: "emails",
    at.EMAIL_BOUNCED_SOFT: "emails",
    at.UNSUBSCRIBE_EMAIL: "emails",
    at.OPEN_EMAIL: "emails",
    at.CLICK_EMAIL: "emails",
    at.FILL_OUT_FORM: "forms",
    at.CHANGE_STATUS_IN_PROGRESSION: "programs",
    at.ADD_TO_NURTURE: "programs",
    at.CHANGE_NURTURE_TRACK: "programs",
    at.CHANGE_NURTURE_CADENCE: "programs",
    at.PUSH_LEAD_TO_MARKETO: "programs",
    at.ADD_TO_LIST: "lists",
    at.REMOVE_FROM_LIST: "lists",
}
# Types the small seed must hold, so that no check below passes on an empty set.
SEEDED = (
    at.SEND_EMAIL,
    at.EMAIL_DELIVERED,
    at.OPEN_EMAIL,
    at.CLICK_EMAIL,
    at.EMAIL_BOUNCED_SOFT,
    at.FILL_OUT_FORM,
    at.CHANGE_STATUS_IN_PROGRESSION,
    at.PUSH_LEAD_TO_MARKETO,
    at.ADD_TO_LIST,
    at.VISIT_WEBPAGE,
)
SEND_OUTCOMES = (
    at.EMAIL_DELIVERED,
    at.EMAIL_BOUNCED,
    at.EMAIL_BOUNCED_SOFT,
    at.OPEN_EMAIL,
    at.CLICK_EMAIL,
    at.UNSUBSCRIBE_EMAIL,
)


@pytest.fixture
def seeded(sandbox: SandboxControl) -> list[dict[str, Any]]:
    assert sandbox.config()["activity_retention"] is True
    return sandbox.objects("activities")


def _names(sandbox: SandboxControl, kind: str) -> dict[int, set[str]]:
    """id -> the names of its versions (an approved asset and its draft share an id)."""
    out: dict[int, set[str]] = defaultdict(set)
    for item in sandbox.objects(kind):
        out[int(item["id"])].add(item["name"])
    return out


def test_asset_naming_activities_resolve_to_their_asset(
    sandbox: SandboxControl, seeded: list[dict[str, Any]]
) -> None:
    by_kind = {kind: _names(sandbox, kind) for kind in set(NAMED_ASSET.values())}
    counts: dict[int, int] = defaultdict(int)
    unresolved = []
    for activity in seeded:
        type_id = activity["activityTypeId"]
        counts[type_id] += 1
        kind = NAMED_ASSET.get(type_id)
        if kind is None:
            continue
        asset_id = activity.get("primaryAttributeValueId")
        name = activity.get("primaryAttributeValue")
        if name not in by_kind[kind].get(asset_id, set()):
            unresolved.append((type_id, asset_id, name, kind))
    assert not [t for t in SEEDED if not counts[t]], dict(counts)
    assert not unresolved, unresolved[:10]


def test_campaign_ids_name_smart_campaigns(
    sandbox: SandboxControl, seeded: list[dict[str, Any]]
) -> None:
    campaigns = _names(sandbox, "campaigns")
    named = [a for a in seeded if a.get("campaignId") is not None]
    assert named
    assert not [a["campaignId"] for a in named if a["campaignId"] not in campaigns]


def test_visits_to_landing_pages_name_the_page(
    sandbox: SandboxControl, seeded: list[dict[str, Any]]
) -> None:
    pages = {int(p["id"]): p for p in sandbox.objects("landing_pages") if p["status"] == "approved"}
    hosts = {p["URL"].split("/")[2] for p in pages.values()}
    visits = [a for a in seeded if a["activityTypeId"] == at.VISIT_WEBPAGE]
    landed = [a for a in visits if a["primaryAttributeValueId"] in pages]
    assert landed, "no seeded visit is to a landing page"
    assert len(landed) < len(visits), "no seeded visit is to the company site"
    for visit in visits:
        url = attrs(visit)["Webpage URL"]
        page = pages.get(visit["primaryAttributeValueId"])
        if page is None:
            # A page of the company site (Munchkin-tracked, not a Marketo asset).
            assert url.split("/")[2] not in hosts, visit
            continue
        assert url == page["URL"], visit
        # Adobe's example names a visit by the page's address ("home.html").
        assert visit["primaryAttributeValue"] == "/" + url.split("/", 3)[3], visit
        assert page["createdAt"].replace("Z+0000", "Z") <= visit["activityDate"], (visit, page)


def _send_key(activity: dict[str, Any]) -> tuple[Any, ...]:
    return (
        activity.get("primaryAttributeValueId"),
        activity.get("campaignId"),
        attrs(activity).get("Campaign Run ID"),
        activity["leadId"],
    )


def test_email_activities_name_their_send(
    sandbox: SandboxControl, seeded: list[dict[str, Any]]
) -> None:
    sends: dict[tuple[Any, ...], dict[str, Any]] = {}
    for activity in seeded:
        if activity["activityTypeId"] == at.SEND_EMAIL:
            sends.setdefault(_send_key(activity), activity)
    # Opens and clicks are kept 25 months, sends 90 days: only those since the earliest
    # send served can find theirs.
    since = min(send["activityDate"] for send in sends.values())
    linked: dict[int, int] = defaultdict(int)
    total: dict[int, int] = defaultdict(int)
    for activity in seeded:
        type_id = activity["activityTypeId"]
        if type_id not in SEND_OUTCOMES or activity["activityDate"] < since:
            continue
        total[type_id] += 1
        send = sends.get(_send_key(activity))
        if send is not None:
            assert send["activityDate"] <= activity["activityDate"], (send, activity)
            step = attrs(activity).get("Step ID")
            assert step is None or step == attrs(send)["Step ID"], (send, activity)
            linked[type_id] += 1
    # An outcome drawn when no send waits for it (more deliveries than sends are drawn)
    # stays without one, as one whose send is older than the seed would; so does one that
    # follows its lead's own send made before the 90 days sends are kept. The shares move
    # with the seed's anchor (its day grid starts at midnight UTC): over 2,500 anchors
    # spread across 400 days the lowest were 0.75, 0.73 and 0.55. The floors sit below those.
    floors = ((at.EMAIL_DELIVERED, 0.65), (at.OPEN_EMAIL, 0.6), (at.CLICK_EMAIL, 0.45))
    for type_id, share in floors:
        assert total[type_id] >= 10, dict(total)
        assert linked[type_id] >= share * total[type_id], (type_id, dict(linked), dict(total))
    # Each send is delivered (or bounced) once at most.
    delivered: dict[tuple[Any, ...], int] = defaultdict(int)
    for activity in seeded:
        key = _send_key(activity)
        if activity["activityTypeId"] in (at.EMAIL_DELIVERED, at.EMAIL_BOUNCED) and key in sends:
            delivered[key] += 1
    assert max(delivered.values()) == 1
