"""What every router uses: authentication, typed service keys, error mapping, idempotency, the
body-size guard. The app factory that puts the routers together is ``tidings/app.py``."""
