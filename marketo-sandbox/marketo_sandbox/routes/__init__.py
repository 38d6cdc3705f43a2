"""Marketo's HTTP endpoints, one module per area of its API: parse the request, call the
domain, wrap the envelope. Importing this package registers every handler on
``marketo_sandbox.app.router`` (the ``/_sandbox`` control endpoints live in ``control``).
"""

from marketo_sandbox.control import api as _control_api  # noqa: F401
from marketo_sandbox.routes import (  # noqa: F401
    activities,
    asset_library,
    assets,
    bulk_export,
    bulk_import,
    campaigns,
    form_fields,
    identity,
    leads,
    lists,
    objects,
    programs,
    segmentations,
    stats,
    tokens,
)
