"""Storage: the SQLAlchemy schema, the engine, and every query the gateway runs."""
