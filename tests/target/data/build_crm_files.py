"""Regenerate the CRM-shaped Singer files used by the target tests.

``python tests/target/data/build_crm_files.py`` rewrites ``crm_day1.singer`` (a CRM's first
push: sales persons, accounts, contacts, opportunities, roles, custom objects,
memberships, a campaign request) and ``crm_day2.singer`` (the next day's changes:
updates, a lead conversion, deletes of every kind, a CRM-named stream with IsDeleted).
The files are committed; this script documents how they were made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DELETED = "2026-11-21T10:00:00Z"

STRING = {"type": ["string", "null"]}
INTEGER = {"type": ["integer", "null"]}
NUMBER = {"type": ["number", "null"]}
BOOLEAN = {"type": ["boolean", "null"]}
DATETIME = {"type": ["string", "null"], "format": "date-time"}


def schema(stream: str, props: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    props = {**props, "_sdc_deleted_at": DATETIME}
    return {"type": "SCHEMA", "stream": stream, "key_properties": keys,
            "schema": {"type": "object", "properties": props}}


def rec(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": record}


SCHEMAS = {
    "salespersons": schema("salespersons", {
        "externalSalesPersonId": STRING, "email": STRING, "firstName": STRING,
        "lastName": STRING, "title": STRING}, ["externalSalesPersonId"]),
    "companies": schema("companies", {
        "externalCompanyId": STRING, "company": STRING, "industry": STRING,
        "billingCity": STRING, "numberOfEmployees": INTEGER,
        "externalSalesPersonId": STRING}, ["externalCompanyId"]),
    "leads": schema("leads", {
        "crmContactId": STRING, "email": STRING, "firstName": STRING, "lastName": STRING,
        "title": STRING, "externalCompanyId": STRING, "externalSalesPersonId": STRING,
        "company": STRING, "industry": STRING, "numberOfEmployees": INTEGER,
        "lastTradeShowAt": DATETIME}, ["crmContactId"]),
    "opportunities": schema("opportunities", {
        "externalOpportunityId": STRING, "name": STRING, "stage": STRING, "amount": NUMBER,
        "externalCompanyId": STRING, "externalSalesPersonId": STRING},
        ["externalOpportunityId"]),
    "opportunity_roles": schema("opportunity_roles", {
        "externalOpportunityId": STRING, "crmContactId": STRING, "role": STRING,
        "isPrimary": BOOLEAN}, ["externalOpportunityId", "crmContactId", "role"]),
    "custom_car_c": schema("custom_car_c", {
        "vin": STRING, "crmContactId": STRING, "make": STRING, "model": STRING,
        "year": INTEGER, "mileage": NUMBER}, ["vin"]),
    "custom_subscription_c": schema("custom_subscription_c", {
        "subscriptionId": STRING, "externalCompanyId": STRING, "plan": STRING,
        "seats": INTEGER}, ["subscriptionId"]),
    "program_memberships": schema("program_memberships", {
        "programId": INTEGER, "crmContactId": STRING, "statusName": STRING,
        "registrationCode": STRING}, ["programId", "crmContactId"]),
    "list_memberships": schema("list_memberships", {
        "listId": INTEGER, "crmContactId": STRING}, ["listId", "crmContactId"]),
    "campaign_requests": schema("campaign_requests", {
        "campaignId": INTEGER, "crmContactId": STRING,
        "tokens": {"type": ["array", "null"], "items": {"type": "object"}}},
        ["campaignId", "crmContactId"]),
    # A CRM's own account object, bound to companies through `stream_objects`.
    "Account": schema("Account", {
        "Id": STRING, "Name": STRING, "Industry": STRING, "IsDeleted": BOOLEAN}, ["Id"]),
}

DAY1 = [
    rec("salespersons", {"externalSalesPersonId": "SP-A", "email": "alice.owner@crm.example",
                         "firstName": "Alice", "lastName": "Owner", "title": "AE"}),
    rec("salespersons", {"externalSalesPersonId": "SP-B", "email": "bob.owner@crm.example",
                         "firstName": "Bob", "lastName": "Owner", "title": "AE"}),
    rec("salespersons", {"externalSalesPersonId": "SP-C", "email": "carol.owner@crm.example",
                         "firstName": "Carol", "lastName": "Owner", "title": "SDR"}),
    rec("companies", {"externalCompanyId": "ACC-ACME", "company": "Acme Corp",
                      "industry": "Manufacturing", "billingCity": "Denver",
                      "numberOfEmployees": 500, "externalSalesPersonId": "SP-A"}),
    rec("companies", {"externalCompanyId": "ACC-GLOBEX", "company": "Globex",
                      "industry": "Energy", "billingCity": "Springfield",
                      "numberOfEmployees": 1200, "externalSalesPersonId": "SP-B"}),
    rec("companies", {"externalCompanyId": "ACC-INITECH", "company": "Initech",
                      "industry": "Software", "billingCity": "Austin",
                      "numberOfEmployees": 80, "externalSalesPersonId": "SP-C"}),
    rec("leads", {"crmContactId": "CT-1", "email": "alice@acme.example", "firstName": "Alice",
                  "lastName": "Anders", "title": "CTO", "externalCompanyId": "ACC-ACME",
                  "externalSalesPersonId": "SP-A",
                  "lastTradeShowAt": "2026-10-01T12:00:00+00:00"}),
    rec("leads", {"crmContactId": "CT-2", "email": "bert@globex.example", "firstName": "Bert",
                  "lastName": "Brown", "title": "CFO", "externalCompanyId": "ACC-GLOBEX",
                  "externalSalesPersonId": "SP-B"}),
    rec("leads", {"crmContactId": "CT-3", "email": "carl@initech.example", "firstName": "Carl",
                  "lastName": "Cole", "title": "Engineer", "externalCompanyId": "ACC-INITECH",
                  "externalSalesPersonId": "SP-C"}),
    # A prospect without an account: converted on day 2.
    rec("leads", {"crmContactId": "CT-4", "email": "dana@prospect.example", "firstName": "Dana",
                  "lastName": "Diaz", "title": "VP Ops", "company": "Dana Prospects",
                  "industry": "Retail"}),
    rec("leads", {"crmContactId": "CT-5", "email": "erin@prospect.example", "firstName": "Erin",
                  "lastName": "Evans", "title": "Analyst"}),
    rec("opportunities", {"externalOpportunityId": "OPP-1", "name": "Acme expansion",
                          "stage": "Prospecting", "amount": 50000.0,
                          "externalCompanyId": "ACC-ACME", "externalSalesPersonId": "SP-A"}),
    rec("opportunities", {"externalOpportunityId": "OPP-2", "name": "Globex renewal",
                          "stage": "Negotiation", "amount": 120000.0,
                          "externalCompanyId": "ACC-GLOBEX", "externalSalesPersonId": "SP-B"}),
    rec("opportunity_roles", {"externalOpportunityId": "OPP-1", "crmContactId": "CT-1",
                              "role": "Decision Maker", "isPrimary": True}),
    rec("opportunity_roles", {"externalOpportunityId": "OPP-1", "crmContactId": "CT-4",
                              "role": "Influencer", "isPrimary": False}),
    rec("opportunity_roles", {"externalOpportunityId": "OPP-2", "crmContactId": "CT-2",
                              "role": "Champion", "isPrimary": True}),
    rec("opportunity_roles", {"externalOpportunityId": "OPP-1", "crmContactId": "CT-3",
                              "role": "Technical Buyer", "isPrimary": False}),
    rec("custom_car_c", {"vin": "VIN-TEST-0001", "crmContactId": "CT-1", "make": "Volvo",
                         "model": "XC60", "year": 2024, "mileage": 1200.5}),
    rec("custom_car_c", {"vin": "VIN-TEST-0005", "crmContactId": "CT-5", "make": "Kia",
                         "model": "Niro", "year": 2022, "mileage": 30000.0}),
    rec("custom_subscription_c", {"subscriptionId": "SUB-ACME", "externalCompanyId": "ACC-ACME",
                                  "plan": "Business", "seats": 50}),
    rec("custom_subscription_c", {"subscriptionId": "SUB-INITECH",
                                  "externalCompanyId": "ACC-INITECH", "plan": "Starter",
                                  "seats": 5}),
    rec("program_memberships", {"programId": 1001, "crmContactId": "CT-1",
                                "statusName": "Member"}),
    rec("program_memberships", {"programId": 1001, "crmContactId": "CT-2",
                                "statusName": "Member"}),
    rec("program_memberships", {"programId": 1002, "crmContactId": "CT-4",
                                "statusName": "Member", "registrationCode": "R-100"}),
    rec("list_memberships", {"listId": 1001, "crmContactId": "CT-1"}),
    rec("list_memberships", {"listId": 1001, "crmContactId": "CT-2"}),
    rec("list_memberships", {"listId": 1001, "crmContactId": "CT-5"}),
    rec("campaign_requests", {"campaignId": 1001, "crmContactId": "CT-1",
                              "tokens": [{"name": "{{my.greeting}}", "value": "Welcome"}]}),
]

DAY2 = [
    rec("salespersons", {"externalSalesPersonId": "SP-A", "email": "alice.owner@crm.example",
                         "firstName": "Alice", "lastName": "Owner", "title": "Senior AE"}),
    rec("salespersons", {"externalSalesPersonId": "SP-C", "_sdc_deleted_at": DELETED}),
    rec("Account", {"Id": "ACC-ACME", "Name": "Acme Corporation", "Industry": "Aerospace",
                    "IsDeleted": False}),
    rec("Account", {"Id": "ACC-INITECH", "IsDeleted": True}),
    rec("leads", {"crmContactId": "CT-1", "email": "alice@acme.example", "title": "CEO"}),
    # Conversion: the prospect joins a new account; its company fields go to the company.
    rec("leads", {"crmContactId": "CT-4", "email": "dana@prospect.example", "firstName": "Dana",
                  "lastName": "Diaz", "title": "VP Ops", "externalCompanyId": "ACC-DANA",
                  "externalSalesPersonId": "SP-B", "company": "Dana Industries",
                  "industry": "Logistics", "numberOfEmployees": 42}),
    rec("leads", {"crmContactId": "CT-3", "_sdc_deleted_at": DELETED}),
    rec("leads", {"crmContactId": "CT-5", "_sdc_deleted_at": DELETED}),
    rec("opportunities", {"externalOpportunityId": "OPP-1", "name": "Acme expansion",
                          "stage": "Closed Won", "amount": 65000.0,
                          "externalCompanyId": "ACC-ACME", "externalSalesPersonId": "SP-A"}),
    # Deleted in the CRM with its roles, which the CRM does not report one by one.
    rec("opportunities", {"externalOpportunityId": "OPP-2", "_sdc_deleted_at": DELETED}),
    rec("opportunity_roles", {"externalOpportunityId": "OPP-1", "crmContactId": "CT-4",
                              "role": "Influencer", "_sdc_deleted_at": DELETED}),
    rec("opportunity_roles", {"externalOpportunityId": "OPP-1", "crmContactId": "CT-2",
                              "role": "Evaluator", "isPrimary": False}),
    # The contact CT-3 goes, and the CRM reports its role going too: the role first.
    rec("opportunity_roles", {"externalOpportunityId": "OPP-1", "crmContactId": "CT-3",
                              "role": "Technical Buyer", "_sdc_deleted_at": DELETED}),
    rec("custom_car_c", {"vin": "VIN-TEST-0001", "crmContactId": "CT-1", "make": "Volvo",
                         "model": "XC60", "year": 2024, "mileage": 4800.0}),
    rec("custom_car_c", {"vin": "VIN-TEST-0005", "_sdc_deleted_at": DELETED}),
    rec("custom_subscription_c", {"subscriptionId": "SUB-ACME", "externalCompanyId": "ACC-ACME",
                                  "plan": "Enterprise", "seats": 75}),
    rec("custom_subscription_c", {"subscriptionId": "SUB-INITECH",
                                  "_sdc_deleted_at": DELETED}),
    rec("program_memberships", {"programId": 1001, "crmContactId": "CT-1",
                                "statusName": "Downloaded"}),
    rec("program_memberships", {"programId": 1001, "crmContactId": "CT-2",
                                "_sdc_deleted_at": DELETED}),
    rec("program_memberships", {"programId": 1002, "crmContactId": "CT-4",
                                "registrationCode": "R-200"}),
    rec("list_memberships", {"listId": 1001, "crmContactId": "CT-2",
                             "_sdc_deleted_at": DELETED}),
    rec("list_memberships", {"listId": 1001, "crmContactId": "CT-4"}),
]


def write(path: Path, records: list[dict[str, Any]], state: dict[str, Any]) -> None:
    streams: list[str] = []
    for message in records:
        if message["stream"] not in streams:
            streams.append(message["stream"])
    lines = []
    for stream in streams:
        lines.append(SCHEMAS[stream])
        lines.extend(m for m in records if m["stream"] == stream)
    lines.append({"type": "STATE", "value": state})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


if __name__ == "__main__":
    write(HERE / "crm_day1.singer", DAY1, {"bookmarks": {"crm": {"day": 1}}})
    write(HERE / "crm_day2.singer", DAY2, {"bookmarks": {"crm": {"day": 2}}})
