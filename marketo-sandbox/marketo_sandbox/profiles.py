"""Instance profiles: the documented ways a real Marketo subscription differs from a default one.

A profile is a name a user or test turns on (``marketo-sandbox serve --profile NAME[,NAME]``
or ``POST /_sandbox/config {"profiles": [...]}``); ``GET /_sandbox/config`` lists the active
ones. Where a variation is a plain switch of :class:`~marketo_sandbox.config.SandboxConfig`,
the profile sets it; the rest of the behaviour asks ``config.has_profile(NAME)`` where it
happens (the layer that owns the rule, never the routes). docs/MARKETO.md section 9 has the
facts each profile emulates.

Retention is not a profile: real instances all prune activities, so the sandbox does too
unless ``activity_retention`` is switched off (see ``domain.retention``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NO_UPDATEDAT_FILTER = "no-updatedat-filter"
CRM_SYNCED = "crm-synced"
PARTITIONS = "partitions"
TWO_USERS = "two-users"
LEGACY_CSV = "legacy-csv"
SECOND_LEVEL_OBJECTS = "second-level-objects"


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    # Settings of SandboxConfig the profile sets when it is turned on.
    settings: dict[str, Any] = field(default_factory=dict)


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            NO_UPDATEDAT_FILTER,
            "the subscription refuses the bulk updatedAt filter (1035) for leads and "
            "custom objects",
            {"bulk_updated_at_filter": False, "custom_object_updated_at_filter": False},
        ),
        Profile(
            CRM_SYNCED,
            "native Salesforce / Dynamics sync: companies, opportunities, roles and sales "
            "persons are CRM-owned and refuse writes; leads carry CRM ids",
        ),
        Profile(
            PARTITIONS,
            "the API user's role sees only some lead partitions over REST, and only the "
            "assets of its workspaces (Default and EMEA Marketing, not APAC Marketing); "
            "bulk exports see every lead",
        ),
        Profile(
            TWO_USERS,
            "two API users; export and import jobs are visible only to their creator",
        ),
        Profile(
            LEGACY_CSV,
            "bulk files spelled as recorded from older instances: 0/1 booleans in program "
            "member files, quotes left unescaped inside quoted text cells, text/csv "
            "without charset (U+2028/U+2029 are in the seeded text under every profile)",
        ),
        Profile(
            SECOND_LEVEL_OBJECTS,
            "custom objects linked to another custom object or to companies, which bulk "
            "export refuses",
        ),
    )
}


class UnknownProfileError(ValueError):
    """A profile name the sandbox does not know."""


def parse(names: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Profile names from a comma list or a sequence, checked and in a stable order."""
    if names is None:
        return ()
    items = names.split(",") if isinstance(names, str) else list(names)
    chosen = [str(name).strip() for name in items if str(name).strip()]
    unknown = sorted(set(chosen) - set(PROFILES))
    if unknown:
        raise UnknownProfileError(
            f"unknown profile(s) {', '.join(unknown)}; known: {', '.join(sorted(PROFILES))}"
        )
    return tuple(name for name in PROFILES if name in chosen)
