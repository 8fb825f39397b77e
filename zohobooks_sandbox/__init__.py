"""A faithful local emulator of Zoho Books API v3 and Zoho Accounts OAuth.

Public interface: ``create_app(config=None) -> FastAPI`` (live state at
``app.state.sandbox``), ``SandboxConfig``, ``SandboxTransport(app)`` (sync in-process httpx
transport), ``Sandbox``. See HOOKS.md for how the parts fit.
"""
from .app import create_app
from .config import SandboxConfig
from .state import Sandbox
from .transport import SandboxTransport

__all__ = ["create_app", "SandboxConfig", "SandboxTransport", "Sandbox"]
