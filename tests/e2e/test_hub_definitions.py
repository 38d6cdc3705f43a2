"""The plugins' Meltano definitions say exactly what the plugins say about themselves.

Fast (each plugin's `--about` only): the Hub YAML files, meltano.yml's blocks and README's
reference are what scripts/hub_definitions.py would write today, and meltano.yml's
settings and capabilities match `--about --format=json` setting by setting.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = {"tap-marketo-crm": "extractors", "target-marketo-crm": "loaders"}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hub_definitions",
                                                  ROOT / "scripts" / "hub_definitions.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


hub = _generator()


def about(name: str) -> dict[str, Any]:
    described: dict[str, Any] = json.loads(hub.about(name, "json"))
    return described


def meltano_plugin(name: str) -> dict[str, Any]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
    (plugin,) = [p for p in project["plugins"][PLUGINS[name]] if p["name"] == name]
    found: dict[str, Any] = plugin
    return found


def test_generated_files_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "hub_definitions.py"), "--check"],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_meltano_yml_capabilities_are_the_plugins_own(name: str) -> None:
    assert meltano_plugin(name)["capabilities"] == about(name)["capabilities"]


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_meltano_yml_defines_every_setting_of_the_plugin(name: str) -> None:
    schema = about(name)["settings"]
    settings = {s["name"]: s for s in meltano_plugin(name)["settings"]}
    top_level = {s.split(".")[0] for s in settings}
    assert top_level == set(schema["properties"])
    for setting_name, setting in settings.items():
        assert setting.get("label"), setting_name
        assert setting.get("description"), setting_name
        assert setting.get("kind"), setting_name
    for prop_name, prop in schema["properties"].items():
        if prop.get("secret"):
            assert settings[prop_name]["sensitive"] is True, prop_name
            assert settings[prop_name]["kind"] == "password", prop_name
        if prop_name in settings and prop.get("description"):
            assert settings[prop_name]["description"] == " ".join(prop["description"].split())
    assert meltano_plugin(name).get("settings_group_validation", []) == (
        [schema["required"]] if schema.get("required") else [])


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_hub_definition_installs_the_plugin_with_marketo_core(name: str) -> None:
    path = ROOT / "plugins" / PLUGINS[name] / f"{name}--marketo-crm.yml"
    definition = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert definition["name"] == name
    assert definition["namespace"] == name.replace("-", "_")
    assert definition["capabilities"] == about(name)["capabilities"]
    assert "subdirectory=marketo-core" in definition["pip_url"]
    assert f"subdirectory={name}" in definition["pip_url"]
    assert definition["settings"] == meltano_plugin(name)["settings"]


def test_readme_documents_every_setting_as_about_does() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in PLUGINS:
        reference = hub.readme_reference(hub.about(name, "markdown"))
        assert reference in readme, f"README's reference of {name} is stale"
        for setting in about(name)["settings"]["properties"]:
            assert f"| {setting} |" in reference
