"""The sandbox's endpoints, one module per area of Marketo's API.

Importing this package registers every handler on ``marketo_sandbox.app.router``.
"""

import importlib
import importlib.util

from marketo_sandbox.api import control, identity  # noqa: F401

# Domain modules register their handlers on import.
for _name in (
    "leads",
    "activities",
    "objects",
    "programs",
    "lists",
    "campaigns",
    "bulk_export",
    "bulk_import",
    "stats",
):
    if importlib.util.find_spec(f"marketo_sandbox.api.{_name}") is not None:
        importlib.import_module(f"marketo_sandbox.api.{_name}")
