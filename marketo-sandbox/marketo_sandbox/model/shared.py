"""Names more than one part of the model needs."""

# Company-type fields: they exist on leads AND on companies. On a lead linked to a
# company (externalCompanyId set) Marketo refuses them through lead sync (1021); they
# must be written to the company record.
COMPANY_FIELDS: tuple[str, ...] = (
    "company",
    "site",
    "billingStreet",
    "billingCity",
    "billingState",
    "billingCountry",
    "billingPostalCode",
    "website",
    "mainPhone",
    "annualRevenue",
    "numberOfEmployees",
    "industry",
    "sicCode",
)

# Store kinds of the standard-sync object family (table `objects`).
KIND_COMPANIES = "companies"
KIND_SALESPERSONS = "salespersons"
KIND_OPPORTUNITIES = "opportunities"
KIND_OPPORTUNITY_ROLES = "opportunity_roles"
KIND_PROGRAMS = "programs"
KIND_LISTS = "lists"
KIND_CAMPAIGNS = "campaigns"
# Lead partitions the subscription defines beyond Default (which always exists).
KIND_LEAD_PARTITIONS = "lead_partitions"


def custom_object_kind(api_name: str) -> str:
    return f"customobjects/{api_name}"
