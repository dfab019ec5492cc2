"""Prometheus metrics, declared once; ``/metrics`` exposes the default registry."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_ACCEPTED = Counter("tidings_messages_accepted_total", "Outbound messages accepted by the API")
MESSAGES_CLAIMED = Counter("tidings_messages_claimed_total", "Messages claimed by this worker")
SEND_OUTCOMES = Counter(
    "tidings_send_outcomes_total", "Send attempts by outcome", ["channel_type", "outcome"]
)
LEASES_RECLAIMED = Counter(
    "tidings_leases_reclaimed_total",
    "Messages put back in the queue after their worker's lease expired (possible duplicates)",
)
RECEIPTS = Counter("tidings_receipts_total", "Delivery receipts by result", ["result"])
IN_FLIGHT = Gauge("tidings_dispatch_in_flight", "Messages claimed and not yet written back")
CLAIM_SIZE = Histogram(
    "tidings_claim_batch_size", "Messages per claim", buckets=(1, 10, 50, 100, 250, 500, 1000, 5000)
)
CIRCUIT_STATE = Gauge(
    "tidings_channel_circuit_state", "Channel circuit: 0 closed, 1 half-open, 2 open", ["channel_id"]
)
CHANNEL_CONCURRENCY = Gauge(
    "tidings_channel_concurrency_limit",
    "Provider calls a channel may have in flight in this worker (adapts to the calls' latency)",
    ["channel_id"],
)
SANDBOX_PROVIDER_CALLS = Counter(
    "tidings_sandbox_provider_calls_total",
    "Simulated provider calls made by sandbox channels (call: send or send_many)",
    ["channel_id", "call"],
)
CHANNEL_REOPENS = Counter(
    "tidings_channel_reopens_total", "Open channels retired by this worker because their row changed"
)
WEBHOOK_DELIVERIES = Counter(
    "tidings_webhook_deliveries_total",
    "Event webhook attempts by result: delivered, retried (will try again) or failed (gave up)",
    ["result"],
)
WEBHOOK_IN_FLIGHT = Gauge("tidings_webhook_in_flight", "Event webhook POSTs under way in this worker")
EVENT_STREAMS = Gauge("tidings_event_streams_open", "Server-sent event streams open in this process")
STATUS_POLLS = Counter(
    "tidings_status_polls_total",
    "Delivery-status polls of messages by outcome: final (a receipt was applied), pending (asked"
    " again later), error (the provider could not be asked)",
    ["channel_type", "outcome"],
)
