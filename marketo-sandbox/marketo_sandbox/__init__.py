"""marketo-sandbox: a local emulator of Adobe Marketo Engage's REST, bulk and identity APIs."""

from marketo_sandbox.config import SandboxConfig
from marketo_sandbox.server import SandboxServer

__all__ = ["SandboxConfig", "SandboxServer"]
