"""Events out: signed webhooks delivered from the outbox, and the live server-sent event stream."""
