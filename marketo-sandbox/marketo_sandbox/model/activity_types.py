"""Activity types, as ``/rest/v1/activities/types.json`` lists them.

Standard type ids are stable across Marketo instances; custom activity types have ids
of 100000 and up and carry an ``apiName`` (ending in ``_c``, as Marketo names them).
New Lead has no primary attribute in Marketo's own listing, so none here either:
clients must not assume every type has one.
"""

from __future__ import annotations

from typing import Any

VISIT_WEBPAGE = 1
FILL_OUT_FORM = 2
CLICK_LINK = 3
SEND_EMAIL = 6
EMAIL_DELIVERED = 7
EMAIL_BOUNCED = 8
UNSUBSCRIBE_EMAIL = 9
OPEN_EMAIL = 10
CLICK_EMAIL = 11
NEW_LEAD = 12
CHANGE_DATA_VALUE = 13
CONVERT_LEAD = 21
CHANGE_SCORE = 22
CHANGE_OWNER = 23
ADD_TO_LIST = 24
REMOVE_FROM_LIST = 25
EMAIL_BOUNCED_SOFT = 27
MERGE_LEADS = 32
ADD_TO_OPPORTUNITY = 34
REMOVE_FROM_OPPORTUNITY = 35
UPDATE_OPPORTUNITY = 36
DELETE_LEAD = 37
INTERESTING_MOMENT = 46
CHANGE_REVENUE_STAGE = 101
CHANGE_STATUS_IN_PROGRESSION = 104
CALL_WEBHOOK = 110
ADD_TO_NURTURE = 113
CHANGE_NURTURE_TRACK = 114
CHANGE_NURTURE_CADENCE = 115
PUSH_LEAD_TO_MARKETO = 145
ATTENDED_TRADE_SHOW_BOOTH = 100001
PRODUCT_TRIAL_STARTED = 100002

# Attributes written on API-originated activities (sync, push, list and program writes).
_API_ATTRS = (("API Method Name", "string"), ("Modifying User", "string"), ("Request Id", "string"))

_EMAIL_BASE = (
    ("Campaign Run ID", "integer"),
    ("Choice Number", "integer"),
    ("Has Predictive", "boolean"),
    ("Step ID", "integer"),
    ("Test Variant", "integer"),
)
_BOUNCE = (
    ("Campaign Run ID", "integer"),
    ("Category", "string"),
    ("Choice Number", "integer"),
    ("Details", "string"),
    ("Email", "string"),
    ("Has Predictive", "boolean"),
    ("Step ID", "integer"),
    ("Subcategory", "string"),
    ("Test Variant", "integer"),
)
# "Opportunity ID" holds the externalOpportunityId (what a CRM sync fetches roles by).
_OPPORTUNITY = (
    ("Opportunity ID", "string"),
    ("Role", "string"),
    ("Is Primary", "boolean"),
)
_WEB = (
    ("Client IP Address", "string"),
    ("Query Parameters", "string"),
    ("Referrer URL", "string"),
    ("User Agent", "string"),
)


def _type(
    id_: int,
    name: str,
    description: str,
    primary: tuple[str, str] | None,
    attributes: tuple[tuple[str, str], ...],
    *,
    api_name: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": id_}
    if api_name is not None:
        item["apiName"] = api_name
    item["name"] = name
    item["description"] = description
    if primary is not None:
        item["primaryAttribute"] = _attr(primary, api_name is not None)
    item["attributes"] = [_attr(a, api_name is not None) for a in attributes]
    return item


def _attr(attr: tuple[str, str], custom: bool) -> dict[str, str]:
    name, data_type = attr
    if custom:
        # Custom activity attributes carry their own apiName.
        api = name[:1].lower() + name[1:].replace(" ", "").replace("-", "")
        return {"apiName": api, "name": name, "dataType": data_type}
    return {"name": name, "dataType": data_type}


ACTIVITY_TYPES: list[dict[str, Any]] = [
    _type(
        1,
        "Visit Webpage",
        "User visits a web page",
        ("Webpage ID", "integer"),
        (
            ("Client IP Address", "string"),
            ("Personalized URL", "boolean"),
            ("Query Parameters", "string"),
            ("Referrer URL", "string"),
            ("Search Engine", "string"),
            ("Search Query", "string"),
            ("User Agent", "string"),
            ("Webpage URL", "string"),
        ),
    ),
    _type(
        2,
        "Fill Out Form",
        "User fills out and submits a form on web page",
        ("Webform ID", "integer"),
        (
            ("Client IP Address", "string"),
            ("Form Fields", "text"),
            ("Query Parameters", "string"),
            ("Referrer URL", "string"),
            ("User Agent", "string"),
            ("Webpage ID", "integer"),
        ),
    ),
    _type(
        3,
        "Click Link",
        "User clicks link on a page",
        ("Link ID", "integer"),
        (*_WEB, ("Webpage ID", "integer")),
    ),
    _type(
        6, "Send Email", "Send Marketo Email to a person", ("Mailing ID", "integer"), _EMAIL_BASE
    ),
    _type(
        7,
        "Email Delivered",
        "Marketo Email is delivered to a lead/contact",
        ("Mailing ID", "integer"),
        _EMAIL_BASE,
    ),
    _type(
        8,
        "Email Bounced",
        "Marketo Email is bounced for a lead",
        ("Mailing ID", "integer"),
        _BOUNCE,
    ),
    _type(
        9,
        "Unsubscribe Email",
        "Person unsubscribed from Marketo Emails",
        ("Mailing ID", "integer"),
        (
            ("Campaign Run ID", "integer"),
            ("Client IP Address", "string"),
            ("Form Fields", "text"),
            ("Has Predictive", "boolean"),
            ("Query Parameters", "string"),
            ("Referrer URL", "string"),
            ("Test Variant", "integer"),
            ("User Agent", "string"),
            ("Webform ID", "integer"),
            ("Webpage ID", "integer"),
        ),
    ),
    _type(
        10,
        "Open Email",
        "User opens Marketo Email",
        ("Mailing ID", "integer"),
        (
            ("Campaign Run ID", "integer"),
            ("Choice Number", "integer"),
            ("Device", "string"),
            ("Has Predictive", "boolean"),
            ("Is Mobile Device", "boolean"),
            ("Platform", "string"),
            ("Step ID", "integer"),
            ("Test Variant", "integer"),
            ("User Agent", "string"),
        ),
    ),
    _type(
        11,
        "Click Email",
        "User clicks on a link in a Marketo Email",
        ("Mailing ID", "integer"),
        (
            ("Campaign Run ID", "integer"),
            ("Choice Number", "integer"),
            ("Device", "string"),
            ("Is Mobile Device", "boolean"),
            ("Is Predictive", "boolean"),
            ("Link", "string"),
            ("Link ID", "string"),
            ("Platform", "string"),
            ("Step ID", "integer"),
            ("Test Variant", "integer"),
            ("User Agent", "string"),
        ),
    ),
    _type(
        12,
        "New Lead",
        "New person/record is added to the lead database",
        None,
        (
            ("Created Date", "date"),
            ("Form Name", "string"),
            ("Lead Source", "string"),
            ("List Name", "string"),
            ("SFDC Type", "string"),
            ("Source Type", "string"),
            *_API_ATTRS,
        ),
    ),
    _type(
        13,
        "Change Data Value",
        "Changed attribute value for a person/record",
        ("Attribute Name", "integer"),
        (
            ("New Value", "text"),
            ("Old Value", "text"),
            ("Reason", "string"),
            ("Source", "string"),
            *_API_ATTRS,
        ),
    ),
    _type(
        21,
        "Convert Lead",
        "Convert a person/record to a contact in the CRM",
        ("Lead ID", "integer"),
        (
            ("Account ID", "string"),
            ("Assign To", "string"),
            ("Contact ID", "string"),
            ("Converted Status", "string"),
            ("Converted to Contact", "boolean"),
            ("Opportunity ID", "string"),
        ),
    ),
    _type(
        22,
        "Change Score",
        "Change a score value for a person",
        ("Score Name", "integer"),
        (
            ("Change Value", "string"),
            ("New Value", "integer"),
            ("Old Value", "integer"),
            ("Reason", "string"),
            ("Urgency", "float"),
            ("Priority", "integer"),
            ("Relative Score", "integer"),
            ("Relative Urgency", "integer"),
        ),
    ),
    _type(
        23,
        "Change Owner",
        "Change the owner of a person/record",
        ("Owner ID", "integer"),
        (("New Owner", "string"), ("Old Owner", "string"), ("Reason", "string")),
    ),
    _type(
        24,
        "Add to List",
        "Add person to a static list",
        ("List ID", "integer"),
        (("Source", "string"), *_API_ATTRS),
    ),
    _type(
        25,
        "Remove from List",
        "Remove person from a static list",
        ("List ID", "integer"),
        (("Source", "string"), *_API_ATTRS),
    ),
    _type(
        27,
        "Email Bounced Soft",
        "Marketo Email soft bounces for a lead",
        ("Mailing ID", "integer"),
        _BOUNCE,
    ),
    _type(
        32,
        "Merge Leads",
        "Merge two or more person records",
        ("Lead ID", "integer"),
        (
            ("Master Updated", "boolean"),
            ("Merge ids", "array"),
            ("Merge Source", "string"),
            ("Merged in Sales", "boolean"),
            *_API_ATTRS,
        ),
    ),
    _type(
        34,
        "Add to Opportunity",
        "Add a person to an opportunity",
        ("Opportunity", "integer"),
        _OPPORTUNITY,
    ),
    _type(
        35,
        "Remove from Opportunity",
        "Remove a person from an opportunity",
        ("Opportunity", "integer"),
        _OPPORTUNITY,
    ),
    _type(
        36,
        "Update Opportunity",
        "Update an opportunity a person belongs to",
        ("Opportunity", "integer"),
        (
            ("Opportunity ID", "string"),
            ("Data Value Changes", "text"),
            ("Field Name", "string"),
            ("New Value", "text"),
            ("Old Value", "text"),
        ),
    ),
    _type(
        37,
        "Delete Lead",
        "Delete a person/record from the lead database",
        ("Lead ID", "integer"),
        (("Remove from CRM", "boolean"), *_API_ATTRS),
    ),
    _type(
        46,
        "Interesting Moment",
        "A milestone in a person's engagement",
        ("Description", "string"),
        (("Date", "datetime"), ("Source", "string"), ("Type", "string")),
    ),
    _type(
        101,
        "Change Revenue Stage",
        "Change the revenue stage of a person",
        ("Model ID", "integer"),
        (
            ("New Stage ID", "integer"),
            ("Old Stage ID", "integer"),
            ("New Stage", "string"),
            ("Old Stage", "string"),
            ("Reason", "string"),
            ("SLA Expiration", "datetime"),
        ),
    ),
    _type(
        104,
        "Change Status in Progression",
        "Change a person's program status",
        ("Program", "integer"),
        (
            ("Acquired By", "boolean"),
            ("New Status ID", "integer"),
            ("Old Status ID", "integer"),
            ("New Status", "string"),
            ("Old Status", "string"),
            ("Program Member ID", "integer"),
            ("Reason", "string"),
            ("Success", "boolean"),
            ("Registration Code", "string"),
            ("Webinar URL", "string"),
        ),
    ),
    _type(
        110,
        "Call Webhook",
        "Call an external webhook for a person",
        ("Webhook ID", "integer"),
        (("Response", "text"), ("Response Code", "integer"), ("Webhook", "string")),
    ),
    _type(
        113,
        "Add to Nurture",
        "Add a person to an engagement program",
        ("Program", "integer"),
        (("Track ID", "integer"), ("Track Name", "string")),
    ),
    _type(
        114,
        "Change Nurture Track",
        "Move a person to another engagement stream",
        ("Program", "integer"),
        (
            ("New Track ID", "integer"),
            ("Old Track ID", "integer"),
            ("New Track", "string"),
            ("Old Track", "string"),
        ),
    ),
    _type(
        115,
        "Change Nurture Cadence",
        "Pause or resume a person in an engagement program",
        ("Program", "integer"),
        (("New Nurture Cadence", "string"), ("Old Nurture Cadence", "string")),
    ),
    _type(
        145,
        "Push Lead to Marketo",
        "Push a person into Marketo through the API",
        ("Program", "integer"),
        (("Reason", "string"), ("Source", "string"), *_API_ATTRS),
    ),
    _type(
        100001,
        "Attended Trade Show Booth",
        "Person visited our booth at a trade show",
        ("Booth Number", "string"),
        (
            ("Event Name", "string"),
            ("Visit Date", "date"),
            ("Minutes at Booth", "integer"),
            ("Badge Scanned", "boolean"),
            ("Estimated Budget", "currency"),
            ("Interest Level", "float"),
            ("Follow-up At", "datetime"),
            ("Notes", "text"),
        ),
        api_name="attendedTradeShowBooth_c",
    ),
    _type(
        100002,
        "Product Trial Started",
        "Person started a product trial",
        ("Product", "string"),
        (
            ("Trial Start", "datetime"),
            ("Trial Length Days", "integer"),
            ("Seats", "integer"),
            ("Conversion Probability", "float"),
            ("Plan Price", "currency"),
            ("Signup URL", "url"),
            ("Billing Email", "email"),
            ("Is Enterprise", "boolean"),
        ),
        api_name="productTrialStarted_c",
    ),
]

ACTIVITY_TYPES_BY_ID: dict[int, dict[str, Any]] = {t["id"]: t for t in ACTIVITY_TYPES}

# Delete Lead is read through deletedleads.json and never exported in bulk.
NOT_EXPORTABLE: frozenset[int] = frozenset({DELETE_LEAD})
