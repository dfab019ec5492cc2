"""The opt-out vocabulary shared by the keyword step (features/optouts) and the refusal at send
(store/opt_out_refusal.py), which runs inside the dispatcher's claim."""

from __future__ import annotations

ALL_SENDERS = "*"  # an opt-out from every sender of the account (STOPALL, API default)
OPTED_OUT = "opted_out"  # the error code of a send refused because its recipient opted out

# ``metadata.system`` of the keyword step's own replies, which an opt-out never blocks (the STOP
# confirmation must reach the person who just opted out).
OPT_OUT_CONFIRMATION = "opt_out_confirmation"
OPT_IN_CONFIRMATION = "opt_in_confirmation"
HELP_REPLY = "help"
SYSTEM_REPLIES = frozenset({OPT_OUT_CONFIRMATION, OPT_IN_CONFIRMATION, HELP_REPLY})
