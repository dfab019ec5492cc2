"""One package per API feature: endpoints (HTTP) → service (use case) → repository (queries)."""
