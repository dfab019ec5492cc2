"""The rules of messaging in pure Python: no web framework, database or HTTP client in here."""
