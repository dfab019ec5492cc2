"""Opt-outs: STOP-type keywords and ``/v1/opt-outs``. The refusal of sends to opted-out addresses
runs in the dispatcher's claim (store/opt_out_refusal.py); docs/opt-out.md explains the choices."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.optouts.keywords import OptOutKeywords
from tidings.features.optouts.service import OPT_OUTS, OptOutService

__all__ = ["OPT_OUTS", "OptOutKeywords", "OptOutService"]
