"""Accounts, subaccounts and API keys (``/v1/accounts``, ``/v1/keys``), and the texts sent on an
account's behalf."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.accounts.repository import countries_from_json, primary_account_id
from tidings.features.accounts.service import ACCOUNTS, AccountService, Bootstrap
from tidings.features.accounts.texts import HELP, OPT_IN, OPT_OUT, save_texts, text_for

__all__ = [
    "ACCOUNTS",
    "HELP",
    "OPT_IN",
    "OPT_OUT",
    "AccountService",
    "Bootstrap",
    "countries_from_json",
    "primary_account_id",
    "save_texts",
    "text_for",
]
