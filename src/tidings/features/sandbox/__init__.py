"""The sandbox's virtual handsets (``/v1/sandbox``): read what a number received, reply from it."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.sandbox.service import SANDBOX, SandboxService

__all__ = ["SANDBOX", "SandboxService"]
