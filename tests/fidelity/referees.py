"""Referees outside our code: facts observed in responses and bulk files that other Marketo
clients recorded from real instances for their test suites.

Nothing of those repositories is kept here (no files, no excerpts): each :class:`Fact`
states what was observed, in our own words and as our own minimal data, with the
repository, path, commit and license it was observed in, and how much weight it carries:

- ``RECORDING``: captured from a live instance by a recorder (headers included) or a file
  downloaded from a live instance and committed as a fixture;
- ``CLIENT_CHANGE``: a client's change made because live instances started answering
  differently (the change itself names the old and the new behaviour);
- ``HAND_MADE``: a minimal fixture a client wrote to reproduce a customer's file; weaker,
  it shows the shape but was not captured.

``test_referees.py`` asserts the sandbox against every fact; docs/MARKETO.md section 9
lists them with their sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RECORDING = "recording"
CLIENT_CHANGE = "client change"
HAND_MADE = "hand-made fixture"

# Which sandbox setup a fact describes.
DEFAULT = "default"
LEGACY = "legacy-csv"
ANY = "every profile"


@dataclass(frozen=True)
class Source:
    repository: str
    path: str
    commit: str
    license: str
    kind: str
    note: str = ""

    def cite(self) -> str:
        return f"{self.repository} {self.path} @ {self.commit[:9]} ({self.license}, {self.kind})"


@dataclass(frozen=True)
class Fact:
    name: str
    statement: str
    observed: Any
    applies: str
    sources: tuple[Source, ...]


# -- sources -----------------------------------------------------------------------------

# grouparoo's Marketo destination: nock recordings of its integration tests against a live
# instance (nock's recorder output: the real status, body and response headers). Host,
# client id/secret, access token and scope were rewritten by the recorder's hook; the rest
# (Date, Content-Type, request ids, expires_in, bodies) is as Marketo answered.
GROUPAROO_2021 = Source(
    "grouparoo/grouparoo",
    "plugins/@grouparoo/marketo/__tests__/fixtures/integration/export-records.js",
    "a453a40b16fbb8a9ab7a32b16a003fecb89e7bde",
    "MIT",
    RECORDING,
    "recorded 2021-11-23 (Date headers); rewrite hook in __tests__/utils/nockHelper.ts",
)
GROUPAROO_2020 = Source(
    "grouparoo/grouparoo",
    "plugins/@grouparoo/marketo/__tests__/fixtures/export-profiles.js",
    "ba0f4aeed8c3a4b86129f6c20eb69aab2dc1dc40",
    "MIT",
    RECORDING,
    "recorded 2020-08-30 (Date headers); same recorder and rewrite hook",
)
# embulk-input-marketo (Treasure Data): CSV fixtures downloaded from live instances'
# bulk extracts (a test instance's list import of 2017-09-08; the "DA - Demo Account"
# program of a Marketo demo instance, 2019-04-12).
EMBULK_LEADS = Source(
    "treasure-data/embulk-input-marketo",
    "src/test/resources/fixtures/lead_extract1.csv",
    "6b6884dba7e9580a3491158a8f3e506c9e1ba785",
    "MIT",
    RECORDING,
    "a bulk lead extract of a test instance (rows created 2017-09-08)",
)
EMBULK_ACTIVITIES = Source(
    "treasure-data/embulk-input-marketo",
    "src/test/resources/fixtures/activity_extract1.csv",
    "6b6884dba7e9580a3491158a8f3e506c9e1ba785",
    "MIT",
    RECORDING,
    "a bulk activity extract of the same instance (New Lead by list import)",
)
EMBULK_MEMBERS = Source(
    "treasure-data/embulk-input-marketo",
    "src/test/resources/fixtures/program_members_extract.csv",
    "6b6884dba7e9580a3491158a8f3e506c9e1ba785",
    "MIT",
    RECORDING,
    "a bulk program member extract of a demo instance's default program (2019-04-12)",
)
EMBULK_REST = Source(
    "treasure-data/embulk-input-marketo",
    "src/test/resources/fixtures/ (lists_response.json, program_response.json, "
    "custom_object_response.json)",
    "6b6884dba7e9580a3491158a8f3e506c9e1ba785",
    "MIT",
    RECORDING,
    "REST answers of live instances (2017, 2018) kept as page lists; some request ids were "
    "replaced by page numbers, the others are as answered",
)
EMBULK_CSV_CHARSET = Source(
    "treasure-data/embulk-input-marketo",
    "src/main/java/org/embulk/input/marketo/rest/MarketoInputStreamResponseEntityReader.java",
    "521dcd9796590c89a2e065d7f49143c07cc65532",
    "MIT",
    CLIENT_CHANGE,
    "2024-06-13, release 0.6.27: 'response header Marketo change from text/csv to "
    "text/csv;charset=UTF-8'; the client had compared the header to text/csv exactly "
    "since 2017",
)
EMBULK_BARE_QUOTES = Source(
    "treasure-data/embulk-input-marketo",
    "src/test/resources/fixtures/lead_extract_with_quote_in_quote_field.csv",
    "d1518a4b22a320f8fadbe4f30fd4a2c380d19a50",
    "MIT",
    HAND_MADE,
    "2025, release 0.6.28 (quotes_in_quoted_fields option, ticket INTEG-2699): a two-line "
    "file with a quote inside a quoted lead name left unescaped",
)


# -- facts ---------------------------------------------------------------------------------

REQUEST_ID = re.compile(r"^[0-9a-f]{1,5}#[0-9a-f]{11}$")

FACTS: tuple[Fact, ...] = (
    Fact(
        "json-content-type",
        "Every JSON answer (lead database, asset API, identity) is "
        "Content-Type application/json;charset=UTF-8, no space, upper-case charset.",
        "application/json;charset=UTF-8",
        ANY,
        (GROUPAROO_2021, GROUPAROO_2020),
    ),
    Fact(
        "token-no-cache",
        "The identity answer carries Cache-Control: no-store and Pragma: no-cache.",
        {"Cache-Control": "no-store", "Pragma": "no-cache"},
        ANY,
        (GROUPAROO_2021, GROUPAROO_2020),
    ),
    Fact(
        "token-body",
        "A token answer has exactly access_token, token_type 'bearer', expires_in (an "
        "integer of seconds) and scope (the API user's email), in that order.",
        ("access_token", "token_type", "expires_in", "scope"),
        ANY,
        (GROUPAROO_2021,),
    ),
    Fact(
        "token-reuse",
        "Asking for a token while one is valid returns that token with its remaining life: "
        "expires_in starts at 3599 and falls between calls seconds apart.",
        (3599, 3594, 3593, 3589, 3587),
        ANY,
        (GROUPAROO_2021, GROUPAROO_2020),
    ),
    Fact(
        "request-id",
        "requestId is '<1 to 5 hex digits>#<11 hex digits>'; the second part is the "
        "server clock in epoch milliseconds (0x17d4f044661 = 2021-11-23T22:57:00.001Z, "
        "the answer's Date header).",
        ("17d4f044661", "2021-11-23T22:57:00Z"),
        ANY,
        (GROUPAROO_2021, GROUPAROO_2020, EMBULK_REST),
    ),
    Fact(
        "lead-db-envelope",
        "Lead database answers put requestId, result, success in that order; a success "
        "carries no errors or warnings key.",
        ("requestId", "result", "success"),
        ANY,
        (GROUPAROO_2021, GROUPAROO_2020),
    ),
    Fact(
        "asset-envelope",
        "Asset API answers put success, errors, requestId, warnings, result in that "
        "order; an empty search answers warnings ['No assets found for the given search "
        "criteria.'] and no result key.",
        (
            ("success", "errors", "requestId", "warnings", "result"),
            "No assets found for the given search criteria.",
        ),
        ANY,
        (GROUPAROO_2021, GROUPAROO_2020),
    ),
    Fact(
        "timestamps",
        "Lead database timestamps are 2021-11-23T22:57:24Z; asset API timestamps carry a "
        "redundant offset after the Z: 2021-11-23T22:57:24Z+0000.",
        (r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\+0000$"),
        ANY,
        (GROUPAROO_2021, EMBULK_LEADS, EMBULK_REST),
    ),
    Fact(
        "page-token",
        "A page of static lists ends with nextPageToken, an upper-case base32 string padded "
        "with '=' to a multiple of 8, after requestId, result and success.",
        (r"^[A-Z2-7]+=*$", ("requestId", "result", "success", "nextPageToken")),
        ANY,
        (EMBULK_REST,),
    ),
    Fact(
        "remove-from-list-not-member",
        "Removing a lead that is not in the list: status skipped, reason code '1015', "
        "message 'Lead not in list'; the call still succeeds.",
        ("skipped", "1015", "Lead not in list"),
        ANY,
        (GROUPAROO_2021,),
    ),
    Fact(
        "rest-json-types",
        "Lead database JSON answers write an empty field as null and booleans as JSON "
        "true/false.",
        (None, False),
        ANY,
        (GROUPAROO_2021, GROUPAROO_2020),
    ),
    Fact(
        "lead-file-values",
        "Bulk lead files write booleans true/false, empty cells as the literal null and "
        "timestamps as 2017-09-08T16:39:14Z.",
        ("true", "false", "null"),
        ANY,
        (EMBULK_LEADS,),
    ),
    Fact(
        "activity-file",
        "Bulk activity files have the header marketoGUID, leadId, activityDate, "
        "activityTypeId, campaignId, primaryAttributeValueId, primaryAttributeValue, "
        "attributes; attributes is a JSON object in a quoted cell with its quotes doubled.",
        # The header line as recorded.
        "marketoGUID,leadId,activityDate,activityTypeId,campaignId,primaryAttributeValueId,"
        "primaryAttributeValue,attributes",
        ANY,
        (EMBULK_ACTIVITIES,),
    ),
    Fact(
        "member-file-booleans",
        "Bulk program member files of that instance write booleans (reachedSuccess, "
        "isExhausted, acquiredBy) as 1/0, while its lead files write true/false.",
        {"reachedSuccess": ("1", "0"), "isExhausted": ("0",), "acquiredBy": ("1",)},
        LEGACY,
        (EMBULK_MEMBERS, EMBULK_LEADS),
    ),
    Fact(
        "file-content-type",
        "Bulk files were served as text/csv without a charset until 2024, then as "
        "text/csv;charset=UTF-8.",
        {LEGACY: "text/csv", DEFAULT: "text/csv;charset=UTF-8"},
        ANY,
        (EMBULK_CSV_CHARSET,),
    ),
    Fact(
        "bare-quotes",
        "A quote inside a quoted cell may be left unescaped: the cell's text a\"b is "
        'written "a"b" (RFC 4180 would write "a""b").',
        ('a"b', '"a"b"'),
        LEGACY,
        (EMBULK_BARE_QUOTES,),
    ),
)

FACTS_BY_NAME: dict[str, Fact] = {fact.name: fact for fact in FACTS}


def fact(name: str) -> Fact:
    return FACTS_BY_NAME[name]
