"""Adobe's Swagger 2.0 files as a response validator, with the spec's known errors patched.

``OpenApi`` loads ``swagger-mapi.json``, ``swagger-asset.json`` and ``swagger-identity.json``,
finds the operation for a method and a concrete path (``/rest/v1/lead/5.json`` ->
``GET /rest/v1/lead/{leadId}.json``), and validates a JSON body against that operation's
200 response schema with Draft 4 semantics (Swagger 2.0 schemas are a Draft 4 subset).

Swagger keywords JSON Schema does not know (``example``, ``x-*``) are ignored, and
``format`` is not asserted: Swagger's formats (``int32``, ``int64``, ``"format":"string"``)
are not JSON Schema formats, and Marketo's asset timestamps (``2026-07-27T01:38:33Z+0000``,
docs/MARKETO.md section 4) are not RFC 3339 date-times.

Where the spec contradicts what Marketo documents, the schema is patched by one named entry
of :data:`SPEC_ERRATA`; nothing else is ever relaxed. Each entry must change the spec it
names, so an erratum that no longer applies to Adobe's files fails loudly.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

HERE = Path(__file__).resolve().parent
# Adobe's published files, copied unchanged (Apache-2.0); SHA256SUMS beside them records
# their digests, so every clone can tell that they are still Adobe's (see its README.md).
VENDORED_DIR = HERE / "marketo-openapi"
VENDORED_SHA256SUMS = VENDORED_DIR / "SHA256SUMS"
SPEC_FILES = ("swagger-mapi.json", "swagger-asset.json", "swagger-identity.json")

Schema = dict[str, Any]
Definitions = dict[str, dict[str, Schema]]  # spec file -> definition name -> schema
Responses = dict[str, tuple[str, Schema]]  # operationId -> (spec file, 200 schema)
Patch = Callable[[Definitions, Responses], int]


# -- the errata table ------------------------------------------------------------------


@dataclass(frozen=True)
class Erratum:
    """One place where Adobe's Swagger disagrees with Marketo's documented behaviour.

    ``patch`` edits the loaded definitions (``defs[spec file][name]``) and the operations'
    200 schemas (``responses[operationId]``) and returns how many schemas it changed.
    """

    name: str
    reason: str
    patch: Patch | None = None
    skip_operations: tuple[str, ...] = ()  # operationIds whose 200 body is not JSON


def _definitions(defs: Definitions, pattern: str) -> Iterator[tuple[str, Schema]]:
    regex = re.compile(pattern)
    for spec_defs in defs.values():
        for name, schema in spec_defs.items():
            if regex.fullmatch(name):
                yield name, schema


def unrequire(pattern: str, names: Iterable[str]) -> Patch:
    """Drop ``names`` from ``required`` of every definition whose name matches ``pattern``."""
    wanted = frozenset(names)

    def patch(defs: Definitions, responses: Responses) -> int:
        changed = 0
        for _, schema in _definitions(defs, pattern):
            required = schema.get("required") or []
            kept = [n for n in required if n not in wanted]
            if len(kept) != len(required):
                changed += 1
                if kept:
                    schema["required"] = kept
                else:
                    schema.pop("required")
        return changed

    return patch


def retype(pattern: str, prop: str, replacement: Schema) -> Patch:
    """Replace the schema of property ``prop`` in every definition matching ``pattern``."""

    def patch(defs: Definitions, responses: Responses) -> int:
        changed = 0
        for _, schema in _definitions(defs, pattern):
            props = schema.get("properties") or {}
            if prop in props and props[prop] != replacement:
                props[prop] = copy.deepcopy(replacement)
                changed += 1
        return changed

    return patch


def nullable_optionals() -> Patch:
    """Let every OPTIONAL property of every definition also be ``null``."""

    def patch(defs: Definitions, responses: Responses) -> int:
        changed = 0
        for _, schema in _definitions(defs, r".*"):
            required = set(schema.get("required") or ())
            for name, prop in (schema.get("properties") or {}).items():
                if name in required or not isinstance(prop, dict):
                    continue
                schema["properties"][name] = {"anyOf": [{"type": "null"}, prop]}
                changed += 1
        return changed

    return patch


def result_items(operation_ids: Iterable[str], item: Schema) -> Patch:
    """Make ``result`` items of these operations' envelopes validate against ``item``."""
    wanted = tuple(operation_ids)

    def patch(defs: Definitions, responses: Responses) -> int:
        changed = 0
        for op_id in wanted:
            spec, schema = responses[op_id]
            envelope = copy.deepcopy(_resolve(defs[spec], schema))
            envelope["properties"]["result"] = {"type": "array", "items": copy.deepcopy(item)}
            responses[op_id] = (spec, envelope)
            changed += 1
        return changed

    return patch


def chain(*patches: Patch) -> Patch:
    def patch(defs: Definitions, responses: Responses) -> int:
        return sum(p(defs, responses) for p in patches)

    return patch


def _resolve(spec_defs: dict[str, Schema], schema: Schema) -> Schema:
    ref = schema.get("$ref", "")
    return spec_defs[ref.rsplit("/", 1)[-1]] if ref.startswith("#/definitions/") else schema


_ANY_SCALAR: Schema = {"type": ["string", "number", "boolean", "null"]}
_FOLDER_REFERENCE: Schema = {
    "type": "object",
    "required": ["type", "value"],
    "properties": {
        "type": {"type": "string", "enum": ["Folder", "Program"]},
        "value": {"type": "integer"},
        "folderName": {"type": "string"},
    },
}
_PROGRAM_TYPES = ["Default", "Event", "Event with Webinar", "Email", "Engagement"]
_PROGRAM_STATUSES = ["", "locked", "unlocked", "on", "off"]

# ONE table. Each entry is a genuine error of Adobe's files with the source that shows
# Marketo's real behaviour; a sandbox bug is never patched here.
SPEC_ERRATA: tuple[Erratum, ...] = (
    Erratum(
        name="envelope-errors-warnings-optional",
        reason=(
            "Every ResponseOf* envelope marks errors and warnings required, but lead-database "
            "success responses omit them (docs/MARKETO.md section 2; Adobe's examples, e.g. "
            "Get Program Members, carry only requestId, result, success, moreResult)."
        ),
        patch=unrequire(r"ResponseOf.*", ("errors", "warnings")),
    ),
    Erratum(
        name="envelope-result-optional",
        reason=(
            "result is marked required, but a request-level failure carries only requestId, "
            "success:false and errors (docs/MARKETO.md section 2, 'Three levels of failure') "
            "and an asset search that finds nothing is a success WITHOUT result plus the "
            "'No assets found' warning (docs/MARKETO.md section 2)."
        ),
        patch=unrequire(r"ResponseOf.*", ("result",)),
    ),
    Erratum(
        name="optional-properties-may-be-null",
        reason=(
            "Swagger 2.0 cannot declare a nullable property, yet Marketo serializes unset "
            "optional values as null: the spec's own ExportResponse says fileSize, "
            "numberOfRecords, queuedAt, startedAt, finishedAt are 'otherwise null'; Adobe's "
            "Get Channels example has progressionStatuses[].description: null. Required "
            "properties stay non-null."
        ),
        patch=nullable_optionals(),
    ),
    Erratum(
        name="activity-attribute-value-is-scalar",
        reason=(
            "Attribute.value is typed 'object', but activity attribute values are strings, "
            "numbers or booleans (docs/MARKETO.md section 4: "
            "{'name':'Client IP Address','value':'10.0.0.1'})."
        ),
        patch=retype(r"Attribute", "value", _ANY_SCALAR),
    ),
    Erratum(
        name="activity-type-primary-attribute-optional",
        reason=(
            "ActivityType requires primaryAttribute, but standard types without one exist "
            "(12 New Lead has only secondary attributes); widely used clients such as "
            "singer-io/tap-marketo test 'if \"primaryAttribute\" in activity' for that reason."
        ),
        patch=unrequire(r"ActivityType", ("primaryAttribute",)),
    ),
    Erratum(
        name="object-describe-shape",
        reason=(
            "ObjectMetaData is shared with the custom-object-TYPE admin endpoints and requires "
            "their fields (apiName, version, pluralName, relationships, and 'status', which is "
            "not even a declared property; the property is 'state'). Describe and list of "
            "lead-database objects answer {name, displayName, idField, dedupeFields, "
            "searchableFields, fields, createdAt, updatedAt} (docs/MARKETO.md section 4; "
            "Adobe's Describe Opportunity example has no description), and List Custom "
            "Objects carries relationships but no fields."
        ),
        patch=unrequire(
            r"ObjectMetaData",
            (
                "apiName",
                "status",
                "version",
                "pluralName",
                "relationships",
                "description",
                "fields",
            ),
        ),
    ),
    Erratum(
        name="skipped-records-carry-no-key",
        reason=(
            "Record results require their key (id, marketoGUID, leadId), but a skipped record "
            "is {seq, status:'skipped', reasons} (docs/MARKETO.md section 2, record-level "
            "failures; Adobe's Program Members examples show skipped items without leadId)."
        ),
        patch=chain(
            unrequire(r"CompanyResponse", ("id",)),
            unrequire(r"CustomObject", ("marketoGUID",)),
            unrequire(r"ProgramMemberStatusResponse|ProgramMemberDeleteResponse", ("leadId",)),
        ),
    ),
    Erratum(
        name="program-member-status-created",
        reason=(
            "ProgramMemberStatusResponse.status enum is [updated, skipped], but Sync Program "
            'Member Status is an upsert that \'responds with a status of "updated", '
            '"created", or "skipped"\' (Adobe, Program Members page, with a \'created\' '
            "example)."
        ),
        patch=retype(
            r"ProgramMemberStatusResponse",
            "status",
            {"type": "string", "enum": ["created", "updated", "skipped"]},
        ),
    ),
    Erratum(
        name="asset-program-shape",
        reason=(
            "Programs are typed Default/Event/Event with Webinar/Email/Engagement, status is "
            "'' for programs without one, and folder is {type, value, folderName} with no id "
            "(docs/MARKETO.md section 4; Adobe's Browse Programs example: type 'Engagement', "
            "folder {'type':'Folder','value':28,'folderName':'Nurturing'}, status ''); the spec "
            "has lower-case type enums, no '' status and a folder requiring id."
        ),
        patch=chain(
            retype(
                r"BrowseAllPrograms|ProgramResponse",
                "type",
                {"type": "string", "enum": _PROGRAM_TYPES},
            ),
            retype(
                r"BrowseAllPrograms|ProgramResponse",
                "status",
                {"type": "string", "enum": _PROGRAM_STATUSES},
            ),
            retype(r"BrowseAllPrograms|ProgramResponse", "folder", _FOLDER_REFERENCE),
        ),
    ),
    Erratum(
        name="design-asset-folder-reference-null-preheader-root-parent",
        reason=(
            "Emails, forms, landing pages and snippets answer folder as {type, value, "
            "folderName} with no id, like programs (docs/MARKETO.md section 4), and an email "
            "without a preheader answers preHeader null (Adobe's Emails page, Get Email by "
            "Id example: \"preHeader\": null); the spec reuses the id-keyed Folder and "
            "types preHeader as a required string."
        ),
        patch=chain(
            retype(
                r"EmailResponse|LpFormResponse|LandingPageResponse|SnippetResponse",
                "folder",
                _FOLDER_REFERENCE,
            ),
            retype(r"EmailResponse", "preHeader", {"type": ["string", "null"]}),
            # A root folder has no parent: Adobe's Folders page (Browse Folders example,
            # "Marketing Activities": "parent": null); the spec requires a Folder object.
            retype(
                r"FolderResponse",
                "parent",
                {
                    "type": ["object", "null"],
                    "required": ["id", "type"],
                    "properties": {"id": {"type": "integer"}, "type": {"type": "string"}},
                },
            ),
        ),
    ),
    Erratum(
        name="library-asset-folder-reference",
        reason=(
            "Email templates, landing page templates and segmentations answer folder as "
            "{type, value, folderName} like the design assets (docs/MARKETO.md section 4; "
            "Adobe's Email Templates page, Get Email Template by Id example: folder "
            "{'type': 'Folder', 'value': 15}), and Get Tokens by Folder Id answers folder as "
            "the object {type, value} (Adobe's Tokens page example: {'type': 'Folder', "
            "'value': 416}); the spec reuses the id-keyed Folder and types the token "
            "folder as a string."
        ),
        patch=chain(
            retype(
                r"EmailTemplateResponse|LpTemplateResponse|SegmentationResponse",
                "folder",
                _FOLDER_REFERENCE,
            ),
            retype(
                r"TokenResponse",
                "folder",
                {
                    "type": "object",
                    "required": ["type", "value"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Folder", "Program"]},
                        "value": {"type": "integer"},
                    },
                },
            ),
        ),
    ),
    Erratum(
        name="campaign-request-result-is-id-only",
        reason=(
            "Request and Schedule Campaign reuse ResponseOfCampaign (name, type, createdAt, "
            "updatedAt required) but answer result:[{'id':3712}] (Adobe, Smart Campaigns page)."
        ),
        patch=result_items(
            ("triggerCampaignUsingPOST", "scheduleCampaignUsingPOST"),
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
        ),
    ),
    Erratum(
        name="lead-import-create-has-no-counters",
        reason=(
            "Import Lead reuses the batch-status item (numOfLeadsProcessed required) but "
            "answers [{batchId, importId, status:'Queued'}] (docs/MARKETO.md section 6; "
            "Adobe's Bulk Lead Import example)."
        ),
        patch=result_items(
            ("importLeadUsingPOST",),
            {
                "type": "object",
                "required": ["batchId", "importId", "status"],
                "properties": {
                    "batchId": {"type": "integer"},
                    "importId": {"type": "string"},
                    "status": {"type": "string"},
                },
            },
        ),
    ),
    Erratum(
        name="bulk-files-are-not-json",
        reason=(
            "Bulk export file.json and import failures/warnings answer CSV/TSV/SSV bytes "
            "(docs/MARKETO.md sections 5 and 6), not the JSON object the spec declares; the "
            "bulk tests compare those bytes with ground truth instead."
        ),
        skip_operations=(
            "getExportLeadsFileUsingGET",
            "getExportActivitiesFileUsingGET",
            "getExportProgramMembersFileUsingGET",
            "getExportCustomObjectsFileUsingGET",
            "getImportLeadFailuresUsingGET",
            "getImportLeadWarningsUsingGET",
            "getImportCustomObjectFailuresUsingGET",
            "getImportCustomObjectWarningsUsingGET",
            "getImportProgramMemberFailuresUsingGET",
            "getImportProgramMemberWarningsUsingGET",
        ),
    ),
)


# -- loading and resolving -------------------------------------------------------------


def spec_dir() -> Path:
    return VENDORED_DIR


def load_specs(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    directory = directory or spec_dir()
    return {name: json.loads((directory / name).read_text(encoding="utf-8")) for name in SPEC_FILES}


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") and p.endswith("}") else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{pattern}$")


@dataclass
class Operation:
    spec: str
    method: str
    template: str
    operation_id: str
    response_schema: Schema | None
    regex: re.Pattern[str] = field(repr=False)
    skipped_by: str | None = None

    @property
    def literal_length(self) -> int:
        return len(re.sub(r"\{[^}]+\}", "", self.template))


class OpenApi:
    def __init__(
        self, specs: dict[str, dict[str, Any]], errata: Iterable[Erratum] = SPEC_ERRATA
    ) -> None:
        self.specs = specs
        self.errata = tuple(errata)
        self.definitions: Definitions = {
            name: copy.deepcopy(spec.get("definitions") or {}) for name, spec in specs.items()
        }
        raw: list[tuple[str, str, str, str]] = []  # spec, method, template, operationId
        responses: Responses = {}
        for spec_name, spec in specs.items():
            for template, item in (spec.get("paths") or {}).items():
                for method, op in item.items():
                    if method == "parameters":
                        continue
                    op_id = op.get("operationId") or f"{method} {template}"
                    raw.append((spec_name, method.upper(), template, op_id))
                    schema = ((op.get("responses") or {}).get("200") or {}).get("schema")
                    responses[op_id] = (spec_name, copy.deepcopy(schema or {}))
        self.applied: dict[str, int] = {}
        skips: dict[str, str] = {}
        for erratum in self.errata:
            changed = erratum.patch(self.definitions, responses) if erratum.patch else 0
            for op_id in erratum.skip_operations:
                skips[op_id] = erratum.name
                changed += op_id in responses
            self.applied[erratum.name] = changed
        self.operations = [
            Operation(
                spec=spec_name,
                method=method,
                template=template,
                operation_id=op_id,
                response_schema=responses[op_id][1] or None,
                regex=_template_regex(template),
                skipped_by=skips.get(op_id),
            )
            for spec_name, method, template, op_id in raw
        ]
        # Literal paths win over templates (/customobjects/schema.json vs /{name}.json).
        self.operations.sort(key=lambda o: (o.template.count("{"), -o.literal_length))
        self.unknown_skips = sorted(set(skips) - set(responses))
        self._validators: dict[tuple[str, str], Draft4Validator] = {}

    def operation(self, method: str, path: str) -> Operation | None:
        path = path.split("?", 1)[0]
        method = method.upper()
        for op in self.operations:
            if op.method == method and op.regex.match(path):
                return op
        return None

    def by_id(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise KeyError(operation_id)

    def validator(self, op: Operation) -> Draft4Validator:
        key = (op.spec, op.operation_id)
        if key not in self._validators:
            assert op.response_schema is not None, f"{op.operation_id} declares no 200 schema"
            schema = {**op.response_schema, "definitions": self.definitions[op.spec]}
            Draft4Validator.check_schema(schema)
            self._validators[key] = Draft4Validator(schema)
        return self._validators[key]

    def errors(self, op: Operation, body: Any) -> list[str]:
        """Human-readable schema violations of ``body`` (empty when it validates)."""
        out: list[str] = []
        for error in sorted(self.validator(op).iter_errors(body), key=lambda e: list(e.path)):
            out.extend(_describe(error))
        return out


def _describe(error: ValidationError) -> list[str]:
    """The leaf causes of an error: an ``anyOf`` [null, X] reports why X did not match."""
    causes = [
        e for e in error.context or () if e.validator != "type" or e.validator_value != "null"
    ]
    if error.validator == "anyOf" and causes:
        return [line for cause in causes for line in _describe(cause)]
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return [f"{where}: {error.message[:300]}"]


def sandbox_rule_to_path(rule: str) -> str:
    """A werkzeug rule (``/rest/v1/lead/<int:lead_id>.json``) as a sample concrete path."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", "x1", rule)
