"""The sandbox's companies, sales persons, opportunities, roles and custom objects behave
as Marketo's standard-sync family: describe, read by filter, sync, delete, the referential
rules between them and the activities Marketo records on the leads involved."""

from __future__ import annotations

from typing import Any

import pytest
from marketo_sandbox import SandboxServer
from marketo_sandbox.domain.objects import on_lead_deleted, on_leads_merged
from marketo_sandbox.model.shared import COMPANY_FIELDS
from marketo_sandbox.testing import Fixtures, SandboxApi, SandboxControl
from marketorestpython.client import MarketoClient
from sandbox_helpers import activities, attrs, error_code, make_lead, statuses

# -- helpers ---------------------------------------------------------------------------


class Api(SandboxApi):
    """Plain HTTP against the sandbox, as a Marketo client would call it."""


@pytest.fixture
def api(sandbox_info: dict[str, str]) -> Api:
    return Api(sandbox_info)



def lead_data(server: SandboxServer, lead_id: int) -> dict[str, Any]:
    fixtures = Fixtures(server)
    data = fixtures.lead_record(lead_id)
    assert data is not None
    return {**data, "_updatedAt": fixtures.lead_updated_at(lead_id)}


def set_lead_field(server: SandboxServer, lead_id: int, name: str, value: Any) -> None:
    Fixtures(server).set_lead_fields(lead_id, **{name: value})


def delete_lead(server: SandboxServer, lead_id: int) -> None:
    Fixtures(server).remove_lead(lead_id)






# -- describe ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "id_field", "dedupe"),
    [
        ("/rest/v1/companies", "Company", "id", ["externalCompanyId"]),
        ("/rest/v1/salespersons", "SalesPerson", "id", ["externalSalesPersonId"]),
        ("/rest/v1/opportunities", "opportunity", "marketoGUID", ["externalOpportunityId"]),
        ("/rest/v1/opportunities/roles", "opportunityRole", "marketoGUID",
         ["externalOpportunityId", "leadId", "role"]),
        ("/rest/v1/customobjects/car_c", "car_c", "marketoGUID", ["vin"]),
        ("/rest/v1/customobjects/subscription_c", "subscription_c", "marketoGUID",
         ["subscriptionId"]),
    ],
)
def test_describe_publishes_keys_and_fields(
    api: Api, path: str, name: str, id_field: str, dedupe: list[str]
) -> None:
    body = api.get(f"{path}/describe.json")
    assert body["success"] is True
    (meta,) = body["result"]
    assert meta["name"] == name
    assert meta["idField"] == id_field
    assert meta["dedupeFields"] == dedupe
    field_names = {f["name"] for f in meta["fields"]}
    assert {id_field, *dedupe, "createdAt", "updatedAt"} <= field_names
    for f in meta["fields"]:
        assert set(f) >= {"name", "displayName", "dataType", "updateable"}
    # Every searchable field is a described field.
    for group in meta["searchableFields"]:
        assert set(group) <= field_names


def test_company_describe_includes_every_company_type_field(api: Api) -> None:
    (meta,) = api.get("/rest/v1/companies/describe.json")["result"]
    names = {f["name"] for f in meta["fields"]}
    assert set(COMPANY_FIELDS) <= names
    assert "externalSalesPersonId" in names


def test_custom_object_list_shows_relationships_and_filters_by_name(api: Api) -> None:
    body = api.get("/rest/v1/customobjects.json")
    by_name = {t["name"]: t for t in body["result"]}
    assert set(by_name) >= {"car_c", "subscription_c"}
    assert by_name["car_c"]["relationships"] == [
        {"field": "leadId", "type": "child", "relatedTo": {"name": "Lead", "field": "id"}}
    ]
    assert by_name["subscription_c"]["relationships"][0]["relatedTo"]["name"] == "Company"
    only = api.get("/rest/v1/customobjects.json", names="subscription_c")["result"]
    assert [t["name"] for t in only] == ["subscription_c"]


def test_unknown_custom_object_type_is_rejected(api: Api) -> None:
    assert error_code(api.get("/rest/v1/customobjects/boat_c/describe.json")) == "1003"
    assert error_code(api.get("/rest/v1/customobjects/boat_c.json", filterType="idField",
                              filterValues="x")) == "1003"


# -- companies: sync, read, delete -------------------------------------------------------


def test_company_sync_read_update_delete(api: Api) -> None:
    created = api.post("/rest/v1/companies.json", {
        "input": [
            {"externalCompanyId": "T-C1", "company": "Test One", "industry": "Software",
             "annualRevenue": "1500000", "numberOfEmployees": 42},
            {"externalCompanyId": "T-C2", "company": "Test Two"},
        ],
    })
    assert statuses(created) == [("created", None), ("created", None)]
    ids = [r["id"] for r in created["result"]]
    assert all(isinstance(i, int) for i in ids)

    read = api.get("/rest/v1/companies.json", filterType="dedupeFields",
                   filterValues="T-C2,T-C1,T-NOPE",
                   fields="company,annualRevenue,numberOfEmployees")
    assert read["success"] is True
    # seq is the index of the filter value each record matched.
    assert [(r["seq"], r["id"], r["company"]) for r in read["result"]] == [
        (0, ids[1], "Test Two"), (1, ids[0], "Test One")
    ]
    assert read["result"][1]["annualRevenue"] == 1500000.0
    assert read["result"][1]["numberOfEmployees"] == 42
    # A field without a value is left out, not sent as null.
    assert "annualRevenue" not in read["result"][0]

    by_id = api.get("/rest/v1/companies.json", filterType="id", filterValues=str(ids[0]))
    # Without `fields`: id, dedupe fields and timestamps.
    assert set(by_id["result"][0]) == {"seq", "id", "externalCompanyId", "createdAt", "updatedAt"}
    by_name = api.get("/rest/v1/companies.json", filterType="company", filterValues="Test Two")
    assert [r["id"] for r in by_name["result"]] == [ids[1]]

    updated = api.post("/rest/v1/companies.json", {
        "action": "updateOnly", "input": [{"externalCompanyId": "T-C1", "industry": "Retail"}],
    })
    assert statuses(updated) == [("updated", None)]
    assert updated["result"][0]["id"] == ids[0]
    again = api.get("/rest/v1/companies.json", filterType="externalCompanyId", filterValues="T-C1",
                    fields="industry,company")
    assert again["result"][0]["industry"] == "Retail"
    assert again["result"][0]["company"] == "Test One"

    deleted = api.post("/rest/v1/companies/delete.json", {
        "deleteBy": "dedupeFields",
        "input": [{"externalCompanyId": "T-C1"}, {"externalCompanyId": "T-C9"}],
    })
    assert statuses(deleted) == [("deleted", None), ("skipped", "1013")]
    assert deleted["result"][0]["id"] == ids[0]
    by_id_delete = api.post("/rest/v1/companies/delete.json", {
        "deleteBy": "idField", "input": [{"id": ids[1]}],
    })
    assert statuses(by_id_delete) == [("deleted", None)]
    gone = api.get("/rest/v1/companies.json", filterType="dedupeFields", filterValues="T-C1,T-C2")
    assert gone["result"] == []


def test_sync_skips_each_bad_record_with_marketos_code(api: Api) -> None:
    api.post("/rest/v1/companies.json", {"input": [{"externalCompanyId": "T-X", "company": "X"}]})
    response = api.post("/rest/v1/companies.json", {
        "action": "createOnly",
        "input": [
            {"company": "no key"},                                # missing dedupe field
            {"externalCompanyId": "T-Y", "colour": "red"},       # unknown field
            {"externalCompanyId": "T-X", "company": "again"},    # exists
            {"externalCompanyId": "T-Z", "numberOfEmployees": "many"},  # wrong type
            {"externalCompanyId": "T-W", "company": "W"},
            {"externalCompanyId": "T-W", "company": "W twice"},  # duplicate in input
        ],
    })
    assert statuses(response) == [
        ("skipped", "1003"), ("skipped", "1006"), ("skipped", "1017"), ("skipped", "1001"),
        ("created", None), ("skipped", "1036"),
    ]
    assert [r["seq"] for r in response["result"]] == list(range(6))
    assert "externalCompanyId" in response["result"][0]["reasons"][0]["message"]

    update_missing = api.post("/rest/v1/companies.json", {
        "action": "updateOnly", "input": [{"externalCompanyId": "T-NOPE", "company": "?"}],
    })
    assert statuses(update_missing) == [("skipped", "1013")]


def test_id_field_dedupe_only_with_update_only(api: Api) -> None:
    created = api.post("/rest/v1/salespersons.json", {
        "input": [{"externalSalesPersonId": "T-SP1", "email": "sp1@example.com"}],
    })
    sp_id = created["result"][0]["id"]
    rejected = api.post("/rest/v1/salespersons.json", {
        "action": "createOrUpdate", "dedupeBy": "idField", "input": [{"id": sp_id}],
    })
    assert error_code(rejected) == "1003"
    updated = api.post("/rest/v1/salespersons.json", {
        "action": "updateOnly", "dedupeBy": "idField",
        "input": [{"id": sp_id, "firstName": "Renamed"}, {"id": 987654321, "firstName": "x"}],
    })
    assert statuses(updated) == [("updated", None), ("skipped", "1013")]
    read = api.get("/rest/v1/salespersons.json", filterType="email", filterValues="sp1@example.com")
    # Sales person reads return all populated fields by default.
    assert read["result"][0]["firstName"] == "Renamed"
    assert read["result"][0]["externalSalesPersonId"] == "T-SP1"
    assert read["moreResult"] is False


def test_read_validates_filters_and_fields(api: Api) -> None:
    too_many = ",".join(f"v{i}" for i in range(301))
    assert error_code(api.session.post(
        api.base + "/rest/v1/companies.json", params={"_method": "GET"},
        data={"filterType": "externalCompanyId", "filterValues": too_many}, timeout=30,
    ).json()) == "1003"
    assert error_code(api.get("/rest/v1/companies.json", filterType="industry",
                              filterValues="Software")) == "1003"
    assert error_code(api.get("/rest/v1/companies.json", filterType="id", filterValues="1",
                              fields="company,shoeSize")) == "1006"
    # A compound key cannot travel as a comma list.
    assert error_code(api.get("/rest/v1/opportunities/roles.json", filterType="dedupeFields",
                              filterValues="a")) == "1003"


def test_reads_page_with_next_page_token(api: Api) -> None:
    api.post("/rest/v1/salespersons.json", {
        "input": [{"externalSalesPersonId": f"T-PG{i}", "email": f"pg{i}@example.com"}
                  for i in range(5)],
    })
    values = ",".join(f"T-PG{i}" for i in range(5))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"filterType": "externalSalesPersonId", "filterValues": values, "batchSize": 2}
        if token:
            params["nextPageToken"] = token
        page = api.get("/rest/v1/salespersons.json", **params)
        pages += 1
        seen += [r["externalSalesPersonId"] for r in page["result"]]
        token = page.get("nextPageToken")
        assert page["moreResult"] is (token is not None)
        if not token:
            break
    assert pages == 3
    assert seen == [f"T-PG{i}" for i in range(5)]


# -- referential rules -------------------------------------------------------------------


def test_sales_person_in_use_cannot_be_deleted_until_released(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.post("/rest/v1/salespersons.json", {
        "input": [{"externalSalesPersonId": "T-OWNER"}, {"externalSalesPersonId": "T-FREE"},
                  {"externalSalesPersonId": "T-ACCT"}],
    })
    lead_id = make_lead(sandbox_server, externalSalesPersonId="T-OWNER")
    api.post("/rest/v1/companies.json", {
        "input": [{"externalCompanyId": "T-OWNED", "externalSalesPersonId": "T-ACCT"}],
    })
    first = api.post("/rest/v1/salespersons/delete.json", {
        "input": [{"externalSalesPersonId": "T-OWNER"}, {"externalSalesPersonId": "T-FREE"},
                  {"externalSalesPersonId": "T-ACCT"}],
    })
    assert statuses(first) == [("skipped", "1022"), ("deleted", None), ("skipped", "1022")]

    set_lead_field(sandbox_server, lead_id, "externalSalesPersonId", None)
    api.post("/rest/v1/companies/delete.json", {"input": [{"externalCompanyId": "T-OWNED"}]})
    second = api.post("/rest/v1/salespersons/delete.json", {
        "input": [{"externalSalesPersonId": "T-OWNER"}, {"externalSalesPersonId": "T-ACCT"}],
    })
    assert statuses(second) == [("deleted", None), ("deleted", None)]


def test_company_with_leads_is_in_use_until_its_leads_go(
    api: Api, sandbox_server: SandboxServer
) -> None:
    api.post("/rest/v1/companies.json", {"input": [{"externalCompanyId": "T-ACME"}]})
    lead_id = make_lead(sandbox_server, externalCompanyId="T-ACME")
    acme = {"input": [{"externalCompanyId": "T-ACME"}]}
    blocked = api.post("/rest/v1/companies/delete.json", acme)
    assert statuses(blocked) == [("skipped", "1022")]
    delete_lead(sandbox_server, lead_id)
    done = api.post("/rest/v1/companies/delete.json", acme)
    assert statuses(done) == [("deleted", None)]


def test_company_update_flows_to_its_linked_leads(api: Api, sandbox_server: SandboxServer) -> None:
    api.post("/rest/v1/companies.json", {
        "input": [{"externalCompanyId": "T-LINK", "company": "Link Co", "industry": "Software"}],
    })
    linked = make_lead(sandbox_server, externalCompanyId="T-LINK", company="Link Co",
                       industry="Software")
    other = make_lead(sandbox_server, company="Elsewhere", industry="Software")
    before = lead_data(sandbox_server, linked)["_updatedAt"]
    set_clock = SandboxControl(sandbox_server.url)
    set_clock.configure(clock_offset_seconds=5)
    api.post("/rest/v1/companies.json", {
        "input": [{"externalCompanyId": "T-LINK", "industry": "Retail", "website": "https://link.example"}],
    })
    after = lead_data(sandbox_server, linked)
    assert after["industry"] == "Retail"
    assert after["website"] == "https://link.example"
    assert after["company"] == "Link Co"
    assert after["_updatedAt"] > before
    assert after["updatedAt"] == after["_updatedAt"]
    assert lead_data(sandbox_server, other)["industry"] == "Software"


# -- opportunities and roles -------------------------------------------------------------


def _opportunity(api: Api, ext: str, **fields: Any) -> str:
    response = api.post("/rest/v1/opportunities.json", {
        "input": [{"externalOpportunityId": ext, "name": f"Deal {ext}", **fields}],
    })
    assert statuses(response) == [("created", None)]
    return response["result"][0]["marketoGUID"]


def test_opportunity_needs_a_name_to_be_created(api: Api) -> None:
    response = api.post("/rest/v1/opportunities.json",
                        {"input": [{"externalOpportunityId": "T-NN"}]})
    assert statuses(response) == [("skipped", "1003")]


def test_role_requires_its_lead_and_opportunity(api: Api, sandbox_server: SandboxServer) -> None:
    _opportunity(api, "T-OPP1")
    lead_id = make_lead(sandbox_server)
    response = api.post("/rest/v1/opportunities/roles.json", {
        "input": [
            {"externalOpportunityId": "T-OPP1", "leadId": 99_999_999, "role": "Champion"},
            {"externalOpportunityId": "T-MISSING", "leadId": lead_id, "role": "Champion"},
            {"externalOpportunityId": "T-OPP1", "leadId": lead_id},
            {"externalOpportunityId": "T-OPP1", "leadId": lead_id, "role": "Champion"},
        ],
    })
    assert statuses(response) == [
        ("skipped", "1004"), ("skipped", "1013"), ("skipped", "1003"), ("created", None),
    ]


def test_role_lifecycle_writes_opportunity_activities(
    api: Api, sandbox_server: SandboxServer
) -> None:
    _opportunity(api, "T-OPP2", amount=5000)
    lead_a, lead_b = make_lead(sandbox_server), make_lead(sandbox_server)
    created = api.post("/rest/v1/opportunities/roles.json", {
        "input": [
            {"externalOpportunityId": "T-OPP2", "leadId": lead_a, "role": "Decision Maker",
             "isPrimary": True},
            {"externalOpportunityId": "T-OPP2", "leadId": lead_b, "role": "Influencer"},
        ],
    })
    assert statuses(created) == [("created", None), ("created", None)]
    (added,) = activities(sandbox_server, lead_a, 34)
    assert added["primaryAttributeValue"] == "Deal T-OPP2"
    assert isinstance(added["primaryAttributeValueId"], int)
    assert attrs(added) == {
        "Opportunity ID": "T-OPP2", "Role": "Decision Maker", "Is Primary": True,
    }

    # Compound-key read: POST ?_method=GET with a JSON body.
    compound = api.post("/rest/v1/opportunities/roles.json", {
        "filterType": "dedupeFields",
        "fields": ["marketoGuid", "externalOpportunityId", "leadId", "role", "isPrimary"],
        "input": [
            {"externalOpportunityId": "T-OPP2", "leadId": lead_b, "role": "Influencer"},
            {"externalOpportunityId": "T-OPP2", "leadId": lead_a, "role": "Nobody"},
            {"externalOpportunityId": "T-OPP2", "leadId": lead_a, "role": "Decision Maker"},
        ],
    }, _method="GET")
    assert compound["success"] is True
    assert [(r["seq"], r["leadId"], r["role"]) for r in compound["result"]] == [
        (0, lead_b, "Influencer"), (2, lead_a, "Decision Maker"),
    ]
    assert compound["result"][1]["isPrimary"] is True
    assert compound["result"][0]["marketoGUID"] == created["result"][1]["marketoGUID"]

    by_lead = api.get("/rest/v1/opportunities/roles.json", filterType="leadId",
                      filterValues=str(lead_a))
    assert [r["role"] for r in by_lead["result"]] == ["Decision Maker"]

    # An opportunity with roles is in use: children go first.
    blocked = api.post("/rest/v1/opportunities/delete.json",
                       {"input": [{"externalOpportunityId": "T-OPP2"}]})
    assert statuses(blocked) == [("skipped", "1022")]
    removed = api.post("/rest/v1/opportunities/roles/delete.json", {
        "input": [
            {"externalOpportunityId": "T-OPP2", "leadId": lead_a, "role": "Decision Maker"},
            {"externalOpportunityId": "T-OPP2", "leadId": lead_a, "role": "Decision Maker"},
        ],
    })
    assert statuses(removed) == [("deleted", None), ("skipped", "1013")]
    (gone,) = activities(sandbox_server, lead_a, 35)
    assert attrs(gone)["Role"] == "Decision Maker"
    by_guid = api.post("/rest/v1/opportunities/roles/delete.json", {
        "deleteBy": "idField", "input": [{"marketoGUID": created["result"][1]["marketoGUID"]}],
    })
    assert statuses(by_guid) == [("deleted", None)]
    assert len(activities(sandbox_server, lead_b, 35)) == 1
    done = api.post("/rest/v1/opportunities/delete.json",
                    {"input": [{"externalOpportunityId": "T-OPP2"}]})
    assert statuses(done) == [("deleted", None)]


def test_opportunity_update_is_an_activity_for_each_lead_with_a_role(
    api: Api, sandbox_server: SandboxServer
) -> None:
    guid = _opportunity(api, "T-OPP3", stage="Prospecting")
    lead_a, lead_b, bystander = (make_lead(sandbox_server) for _ in range(3))
    api.post("/rest/v1/opportunities/roles.json", {
        "input": [{"externalOpportunityId": "T-OPP3", "leadId": lead_a, "role": "Buyer"},
                  {"externalOpportunityId": "T-OPP3", "leadId": lead_b, "role": "User"}],
    })
    response = api.post("/rest/v1/opportunities.json", {
        "action": "updateOnly", "dedupeBy": "idField",
        "input": [{"marketoGUID": guid, "stage": "Negotiation"}],
    })
    assert statuses(response) == [("updated", None)]
    for lead_id in (lead_a, lead_b):
        (change,) = activities(sandbox_server, lead_id, 36)
        assert attrs(change)["Field Name"] == "stage"
        assert attrs(change)["New Value"] == "Negotiation"
        assert attrs(change)["Old Value"] == "Prospecting"
    assert activities(sandbox_server, bystander, 36) == []
    read = api.get("/rest/v1/opportunities.json", filterType="externalOpportunityId",
                   filterValues="T-OPP3", fields="name,stage")
    assert read["result"] == [
        {"seq": 0, "marketoGUID": guid, "name": "Deal T-OPP3", "stage": "Negotiation"}
    ]
    assert read["moreResult"] is False
    # Re-sending the same values changes nothing and records nothing.
    api.post("/rest/v1/opportunities.json",
             {"input": [{"externalOpportunityId": "T-OPP3", "stage": "Negotiation"}]})
    assert len(activities(sandbox_server, lead_a, 36)) == 1


# -- custom objects ----------------------------------------------------------------------


def test_lead_linked_custom_object_sync_read_delete(
    api: Api, sandbox_server: SandboxServer
) -> None:
    lead_id = make_lead(sandbox_server)
    response = api.post("/rest/v1/customobjects/car_c.json", {
        "input": [
            {"vin": "T-VIN-1", "leadId": lead_id, "make": "Volvo", "year": "2021",
             "isLeased": "true", "purchaseDate": "2024-03-05T10:00:00Z", "price": 31000},
            {"vin": "T-VIN-2", "leadId": 99_999_999, "make": "Saab"},
            {"vin": "T-VIN-3", "make": "Kia"},
        ],
    })
    assert statuses(response) == [("created", None), ("skipped", "1004"), ("skipped", "1003")]
    guid = response["result"][0]["marketoGUID"]

    read = api.get("/rest/v1/customobjects/car_c.json", filterType="vin", filterValues="T-VIN-1",
                   fields="leadId,make,year,isLeased,purchaseDate,price")
    (car,) = read["result"]
    assert car == {"seq": 0, "marketoGUID": guid, "leadId": lead_id, "make": "Volvo", "year": 2021,
                   "isLeased": True, "purchaseDate": "2024-03-05", "price": 31000.0}
    by_lead = api.get("/rest/v1/customobjects/car_c.json", filterType="leadId",
                      filterValues=str(lead_id))
    assert [r["vin"] for r in by_lead["result"]] == ["T-VIN-1"]
    by_guid = api.get("/rest/v1/customobjects/car_c.json", filterType="idField", filterValues=guid)
    assert by_guid["result"][0]["vin"] == "T-VIN-1"

    deleted = api.post("/rest/v1/customobjects/car_c/delete.json", {
        "deleteBy": "dedupeFields", "input": [{"vin": "T-VIN-1"}, {"vin": "T-VIN-9"}],
    })
    assert statuses(deleted) == [("deleted", None), ("skipped", "1013")]


def test_company_linked_custom_object_requires_its_company(api: Api) -> None:
    api.post("/rest/v1/companies.json", {"input": [{"externalCompanyId": "T-SUBCO"}]})
    response = api.post("/rest/v1/customobjects/subscription_c.json", {
        "input": [
            {"subscriptionId": "T-S1", "externalCompanyId": "T-SUBCO", "plan": "Team", "seats": 5},
            {"subscriptionId": "T-S2", "externalCompanyId": "T-NOCO", "plan": "Team"},
        ],
    })
    assert statuses(response) == [("created", None), ("skipped", "1013")]
    read = api.get("/rest/v1/customobjects/subscription_c.json", filterType="externalCompanyId",
                   filterValues="T-SUBCO", fields="plan,seats")
    # Requested fields plus the idField; the dedupe field only when asked for.
    assert [(r.get("subscriptionId"), r["plan"], r["seats"])
            for r in read["result"]] == [(None, "Team", 5)]


def test_marketorestpython_reads_and_writes_custom_objects(
    sandbox_info: dict[str, str], sandbox_server: SandboxServer
) -> None:
    lead_id = make_lead(sandbox_server)
    mc = MarketoClient("123-ABC-456", sandbox_info["client_id"], sandbox_info["client_secret"])
    mc.host = sandbox_info["endpoint"]  # identity is {host}/identity for this client
    result = mc.execute(method="create_update_custom_objects", name="car_c", input=[
        {"vin": "T-MRP-1", "leadId": lead_id, "make": "Fiat"},
    ])
    assert result[0]["status"] == "created"
    found = mc.execute(method="get_custom_objects", name="car_c", filterType="dedupeFields",
                       input=[{"vin": "T-MRP-1"}], fields=["vin", "make"])
    assert [(r["vin"], r["make"]) for r in found] == [("T-MRP-1", "Fiat")]
    # Form-encoded POST ?_method=GET reads, as this client sends them.
    mc.execute(method="create_update_opportunities", input=[
        {"externalOpportunityId": "T-MRP-OPP", "name": "Client deal"},
    ])
    roles = mc.execute(method="create_update_opportunities_roles", input=[
        {"externalOpportunityId": "T-MRP-OPP", "leadId": lead_id, "role": "Buyer"},
    ])
    assert roles[0]["status"] == "created"
    found_roles = mc.execute(method="get_opportunity_roles", filterType="leadId",
                             filterValues=[str(lead_id)], fields=["role", "leadId"])
    assert [(r["leadId"], r["role"]) for r in found_roles] == [(lead_id, "Buyer")]
    described = mc.execute(method="describe_custom_object", name="car_c")
    assert described[0]["idField"] == "marketoGUID"
    companies = mc.execute(method="get_companies", filterType="externalCompanyId",
                           filterValues=["NOPE"])
    assert companies == []
    with pytest.raises(Exception, match="1003"):
        mc.execute(method="describe_custom_object", name="boat_c")


# -- seed and ground truth ---------------------------------------------------------------


def test_ground_truth_is_what_a_full_read_returns(api: Api, sandbox: SandboxControl) -> None:
    truth = sandbox.objects("companies")
    assert truth, "the small seed has companies"
    sample = truth[:5]
    (meta,) = api.get("/rest/v1/companies/describe.json")["result"]
    every = ",".join(f["name"] for f in meta["fields"])
    read = api.get("/rest/v1/companies.json", filterType="id",
                   filterValues=",".join(str(c["id"]) for c in sample), fields=every)
    assert [{k: v for k, v in r.items() if k != "seq"} for r in read["result"]] == sample
    for kind in ("salespersons", "opportunities", "opportunity_roles",
                 "customobjects/car_c", "customobjects/subscription_c"):
        rows = sandbox.objects(kind)
        assert rows, kind
        assert not any(k.startswith("_") for row in rows for k in row), kind


def test_seeded_roles_are_on_leads_of_their_company_with_activities(
    sandbox: SandboxControl, sandbox_server: SandboxServer
) -> None:
    roles = sandbox.objects("opportunity_roles")
    opportunities = {o["externalOpportunityId"]: o for o in sandbox.objects("opportunities")}
    assert roles
    linked = 0
    for role in roles:
        opp = opportunities[role["externalOpportunityId"]]
        lead = Fixtures(sandbox_server).lead_record(role["leadId"])
        if lead is None:  # deleted or merged away by a later seeder
            continue
        linked += lead.get("externalCompanyId") == opp["externalCompanyId"]
        names = [a["primaryAttributeValue"] for a in activities(sandbox_server, role["leadId"], 34)]
        assert opp["name"] in names
    assert linked > len(roles) / 2


# -- seeded company links and leads going away -----------------------------------------


def test_every_seeded_company_is_reachable_through_a_lead(sandbox: SandboxControl) -> None:
    # Marketo has no "list all companies" read: a company is found through the leads
    # pointing at it.
    linked = {lead.get("externalCompanyId") for lead in sandbox.objects("leads")}
    companies = sandbox.objects("companies")
    assert companies
    assert all(c["externalCompanyId"] in linked for c in companies)
    by_ext = {c["externalCompanyId"]: c for c in companies}
    for lead in sandbox.objects("leads"):
        company = by_ext.get(lead.get("externalCompanyId"))
        if company is not None:
            assert all(lead.get(f) == company.get(f) for f in COMPANY_FIELDS), lead["id"]


def _car(api: Api, vin: str, lead_id: int) -> str:
    body = api.post("/rest/v1/customobjects/car_c.json",
                    {"input": [{"vin": vin, "leadId": lead_id, "make": "Volvo"}]})
    assert statuses(body) == [("created", None)]
    return str(body["result"][0]["marketoGUID"])


def _cars(server: SandboxServer) -> dict[str, dict[str, Any]]:
    """Stored car_c records by their idField, marketoGUID."""
    return {str(r["marketoGUID"]): r for r in Fixtures(server).records("customobjects/car_c")}


def test_lead_delete_takes_its_custom_object_records_along(
    api: Api, sandbox_server: SandboxServer
) -> None:
    gone, kept = make_lead(sandbox_server), make_lead(sandbox_server)
    guids = [_car(api, "DEL-VIN-1", gone), _car(api, "DEL-VIN-2", gone)]
    other = _car(api, "DEL-VIN-3", kept)
    store = sandbox_server.store
    assert store is not None
    with store.transaction() as db:
        assert on_lead_deleted(store, db, [gone]) == 2
    cars = _cars(sandbox_server)
    assert not set(guids) & set(cars)
    assert cars[other]["leadId"] == kept
    with store.transaction() as db:
        assert on_lead_deleted(store, db, []) == 0


def test_lead_merge_moves_custom_object_records_to_the_winner(
    api: Api, sandbox_server: SandboxServer
) -> None:
    winner, loser = make_lead(sandbox_server), make_lead(sandbox_server)
    moved = _car(api, "MERGE-VIN-1", loser)
    mine = _car(api, "MERGE-VIN-2", winner)
    _opportunity(api, "MERGE-OPP-1")
    for lead_id in (winner, loser):
        api.post("/rest/v1/opportunities/roles.json", {"input": [
            {"externalOpportunityId": "MERGE-OPP-1", "leadId": lead_id, "role": "Champion"}]})
    api.post("/rest/v1/opportunities/roles.json", {"input": [
        {"externalOpportunityId": "MERGE-OPP-1", "leadId": loser, "role": "Evaluator"}]})
    store = sandbox_server.store
    assert store is not None
    with store.transaction() as db:
        # The loser's car and its Evaluator role move; its Champion role would duplicate
        # the winner's and goes.
        assert on_leads_merged(store, db, winner, [loser], now="2030-01-02T03:04:05Z") == 2
    cars = _cars(sandbox_server)
    assert cars[moved]["leadId"] == winner
    assert cars[moved]["updatedAt"] == "2030-01-02T03:04:05Z"
    assert cars[mine]["leadId"] == winner
    read = api.get("/rest/v1/customobjects/car_c.json", filterType="leadId",
                   filterValues=str(winner))
    assert {r["marketoGUID"] for r in read["result"]} == {moved, mine}
    roles = [r for r in Fixtures(sandbox_server).records("opportunity_roles")
             if r["externalOpportunityId"] == "MERGE-OPP-1"]
    assert sorted((r["leadId"], r["role"]) for r in roles) == [
        (winner, "Champion"), (winner, "Evaluator")]
    evaluator = api.post("/rest/v1/opportunities/roles.json", {"input": [
        {"externalOpportunityId": "MERGE-OPP-1", "leadId": winner, "role": "Evaluator"}]})
    assert statuses(evaluator) == [("updated", None)]  # found by its new dedupe key
