"""The HTTP edge: app factory, authentication, error mapping, and the routers' shared helpers."""
