"""Opt-outs (SPEC §3 "Inbound and webhooks"): STOP-type keywords, the refusal of sends to
opted-out addresses, and ``/v1/opt-outs``. docs/opt-out.md explains the choices."""
