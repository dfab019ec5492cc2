"""Contacts (``/v1/contacts``, docs/contacts.md): an account's address book, used to address
messages and to link inbound ones."""

# The public face: other features, the runtime and the declarations import only these names
# (an import-linter contract in pyproject.toml holds it).
from tidings.features.contacts.repository import addresses_by_external_id, contacts_by_address
from tidings.features.contacts.service import CONTACTS, ContactService

__all__ = ["CONTACTS", "ContactService", "addresses_by_external_id", "contacts_by_address"]
