"""Write what Meltano and readers know about our plugins from the plugins themselves.

From each plugin's ``--about --format=json`` (and ``--format=markdown``) this writes:

- ``plugins/<extractors|loaders>/<name>--marketo-crm.yml``: the Meltano Hub definition;
- the ``capabilities`` / ``settings`` / ``settings_group_validation`` block of the plugin in
  ``meltano.yml`` (between its ``# >>> generated`` and ``# <<< generated`` lines);
- the plugin's settings reference in ``README.md`` (between its ``BEGIN generated`` and
  ``END generated`` comments).

``--check`` writes nothing and exits 1 when any of them is out of date (CI runs it through
tests/e2e/test_hub_definitions.py). The plugins' executables are looked up in the
repository's ``.venv`` first, then on PATH.

    python scripts/hub_definitions.py [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
VARIANT = "marketo-crm"
# Where the monorepo is published; the Hub installs the packages from its subdirectories
# (marketo-core, which both plugins depend on, is not on PyPI).
REPOSITORY = "https://github.com/marketo-crm/marketo-crm"


@dataclass(frozen=True)
class PluginSpec:
    name: str
    plugin_type: str  # extractors | loaders
    label: str
    keywords: tuple[str, ...]
    domain_url: str = "https://experienceleague.adobe.com/en/docs/marketo-developer/marketo/rest/rest-api"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return self.name.replace("-", "_")

    @property
    def hub_file(self) -> Path:
        return ROOT / "plugins" / self.plugin_type / f"{self.name}--{VARIANT}.yml"

    @property
    def pip_url(self) -> str:
        core = f"git+{REPOSITORY}.git#subdirectory=marketo-core"
        return f"{core} git+{REPOSITORY}.git#subdirectory={self.name}"


PLUGINS = (
    PluginSpec(
        name="tap-marketo-crm",
        plugin_type="extractors",
        label="Adobe Marketo Engage",
        keywords=("marketing automation", "crm", "meltano_sdk", "api"),
    ),
    PluginSpec(
        name="target-marketo-crm",
        plugin_type="loaders",
        label="Adobe Marketo Engage (write-back)",
        keywords=("marketing automation", "crm", "reverse etl", "meltano_sdk", "api"),
    ),
)

# Words that read better upper-cased in a label than title-cased.
_LABEL_WORDS = {"id": "ID", "url": "URL", "mb": "MB", "api": "API", "sdk": "SDK"}


class AboutError(RuntimeError):
    """A plugin's --about could not be read (not installed, or it failed)."""


# --- reading the plugins -----------------------------------------------------------------


def executable(name: str) -> str:
    venv = Path(os.environ.get("MARKETO_CRM_VENV", ROOT / ".venv"))
    local = venv / "bin" / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise AboutError(f"{name} is not installed: run `bash scripts/bootstrap` first")
    return found


def about(name: str, fmt: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own executables, fixed arguments
        [executable(name), "--about", f"--format={fmt}"],
        capture_output=True, text=True, check=False, timeout=120,
    )
    if result.returncode != 0:
        raise AboutError(f"`{name} --about --format={fmt}` failed:\n{result.stderr[-2000:]}")
    return result.stdout


# --- JSON schema -> Meltano settings -------------------------------------------------------


def label_for(name: str) -> str:
    words = [w for w in re.split(r"[._]+", name) if w]
    return " ".join(_LABEL_WORDS.get(w, w.capitalize()) for w in words)


def _types(prop: dict[str, Any]) -> set[str]:
    declared = prop.get("type")
    if isinstance(declared, str):
        return {declared} - {"null"}
    if isinstance(declared, list):
        return set(declared) - {"null"}
    return set()


def _kind(prop: dict[str, Any]) -> str:
    if prop.get("secret") or prop.get("writeOnly"):
        return "password"
    if "enum" in prop:
        return "options"
    types = _types(prop)
    if types == {"string"} and prop.get("format") == "date-time":
        return "date_iso8601"
    for json_type, kind in (("boolean", "boolean"), ("integer", "integer"),
                            ("number", "decimal"), ("object", "object"), ("array", "array")):
        if types == {json_type}:
            return kind
    return "string"


def _flattened(name: str, prop: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Settings whose object has fixed sub-settings (e.g. faker_config.seed) are listed
    by their dotted leaves, as the Hub does; maps (additionalProperties) stay objects."""
    children = prop.get("properties") or {}
    if _types(prop) == {"object"} and children and not prop.get("additionalProperties"):
        out: list[tuple[str, dict[str, Any]]] = []
        for child, child_prop in children.items():
            out.extend(_flattened(f"{name}.{child}", child_prop))
        return out
    return [(name, prop)]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def meltano_settings(schema: dict[str, Any]) -> list[dict[str, Any]]:
    settings: list[dict[str, Any]] = []
    for top, top_prop in schema.get("properties", {}).items():
        for name, prop in _flattened(top, top_prop):
            kind = _kind(prop)
            setting: dict[str, Any] = {
                "name": name,
                "label": prop.get("title") or label_for(name),
                "kind": kind,
                "description": _one_line(prop.get("description") or label_for(name)),
            }
            if kind == "options":
                setting["options"] = [
                    {"label": label_for(str(v).replace("-", "_")), "value": v}
                    for v in prop["enum"] if v is not None
                ]
            default = prop.get("default")
            if default is not None and not isinstance(default, dict | list):
                setting["value"] = default
            if kind == "password":
                setting["sensitive"] = True
            settings.append(setting)
    return settings


def group_validation(schema: dict[str, Any]) -> list[list[str]]:
    required = list(schema.get("required") or [])
    return [required] if required else []


# --- the three outputs ---------------------------------------------------------------------


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=92,
                          default_flow_style=False)


def plugin_block(info: dict[str, Any]) -> dict[str, Any]:
    """What meltano.yml holds between the markers: exactly what --about reports."""
    block: dict[str, Any] = {
        "capabilities": list(info["capabilities"]),
        "settings": meltano_settings(info["settings"]),
    }
    groups = group_validation(info["settings"])
    if groups:
        block["settings_group_validation"] = groups
    return block


def hub_definition(spec: PluginSpec, info: dict[str, Any]) -> dict[str, Any]:
    block = plugin_block(info)
    hub: dict[str, Any] = {
        "name": spec.name,
        "namespace": spec.namespace,
        "variant": VARIANT,
        "label": spec.label,
        "description": info["description"],
        "domain_url": spec.domain_url,
        "repo": REPOSITORY,
        "pip_url": spec.pip_url,
        "executable": spec.name,
        "capabilities": block["capabilities"],
        "keywords": list(spec.keywords),
        "maintenance_status": "active",
        "settings": block["settings"],
    }
    if "settings_group_validation" in block:
        hub["settings_group_validation"] = block["settings_group_validation"]
    hub.update(spec.extra)
    return hub


def hub_text(spec: PluginSpec, info: dict[str, Any]) -> str:
    header = (f"# Meltano Hub definition of {spec.name} ({VARIANT} variant), generated from\n"
              f"# `{spec.name} --about --format=json` by scripts/hub_definitions.py.\n")
    return header + dump_yaml(hub_definition(spec, info))


def replace_meltano_block(text: str, name: str, info: dict[str, Any]) -> str:
    pattern = re.compile(
        rf"^(?P<indent>[ \t]*)# >>> generated from `{re.escape(name)} --about[^\n]*\n"
        rf".*?^[ \t]*# <<< generated[^\n]*\n",
        re.MULTILINE | re.DOTALL,
    )
    match = pattern.search(text)
    if match is None:
        raise AboutError(f"meltano.yml has no generated block for {name}")
    indent = match.group("indent")
    body = "".join(f"{indent}{line}\n" if line else "\n"
                   for line in dump_yaml(plugin_block(info)).splitlines())
    start_marker = (f"{indent}# >>> generated from `{name} --about --format=json` by "
                    "scripts/hub_definitions.py\n")
    block = f"{start_marker}{body}{indent}# <<< generated\n"
    return text[: match.start()] + block + text[match.end():]


_CODE_SPAN = re.compile(r"(`[^`]*`)")


def readme_reference(markdown: str) -> str:
    """The SDK's --about markdown, fitted into README: headings two levels down, and the
    angle brackets of placeholders such as <munchkin-id> escaped outside code spans so a
    Markdown renderer shows them instead of swallowing them as HTML."""
    out: list[str] = []
    for line in markdown.strip().splitlines():
        if line.startswith("#"):
            line = "##" + line  # noqa: PLW2901
        parts = _CODE_SPAN.split(line)
        parts = [p if p.startswith("`") else p.replace("<", "&lt;").replace(">", "&gt;")
                 for p in parts]
        out.append("".join(parts))
    return "\n".join(out) + "\n"


def replace_readme_block(text: str, name: str, markdown: str) -> str:
    begin = f"<!-- BEGIN generated: {name} --about --format=markdown -->"
    end = f"<!-- END generated: {name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise AboutError(f"README.md has no generated block for {name}")
    block = f"{begin}\n{readme_reference(markdown)}{end}"
    return pattern.sub(lambda _: block, text, count=1)


# --- driver ----------------------------------------------------------------------------------


def expected_files(names: list[str] | None = None) -> dict[Path, str]:
    """Every file this script owns (in part), with the content it should have; ``names``
    limits it to some plugins (the others' blocks are left as they are)."""
    meltano_path, readme_path = ROOT / "meltano.yml", ROOT / "README.md"
    meltano_text = meltano_path.read_text(encoding="utf-8")
    readme_text = readme_path.read_text(encoding="utf-8")
    files: dict[Path, str] = {}
    for spec in PLUGINS:
        if names and spec.name not in names:
            continue
        info = json.loads(about(spec.name, "json"))
        files[spec.hub_file] = hub_text(spec, info)
        meltano_text = replace_meltano_block(meltano_text, spec.name, info)
        readme_text = replace_readme_block(readme_text, spec.name, about(spec.name, "markdown"))
    files[meltano_path] = meltano_text
    files[readme_path] = readme_text
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a generated file is out of date")
    parser.add_argument("--plugin", action="append", choices=[s.name for s in PLUGINS],
                        help="only this plugin (repeatable; default: all)")
    args = parser.parse_args(argv)
    try:
        files = expected_files(args.plugin)
    except AboutError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    stale = [path for path, text in files.items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    for path in stale:
        rel = path.relative_to(ROOT)
        if args.check:
            sys.stderr.write(f"out of date: {rel}\n")
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path], encoding="utf-8")
            sys.stdout.write(f"wrote {rel}\n")
    if args.check and stale:
        sys.stderr.write("run `python scripts/hub_definitions.py` and commit the result\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
