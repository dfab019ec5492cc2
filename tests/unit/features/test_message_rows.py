"""The message rows intake writes: tuples built by position, pinned here to the schema's column
order (store/intake.py: MESSAGE_COLUMNS)."""

from __future__ import annotations


def test_intake_rows_follow_the_table_column_order() -> None:
    """message_rows builds tuples by position; this pins the positions to the schema."""
    from tidings.core.encoding import analyse
    from tidings.core.tenancy import Principal, Role
    from tidings.features.messages.origin import Limits, Origin, Send
    from tidings.features.messages.planning import Plan
    from tidings.features.messages.recipients import Addressed
    from tidings.features.messages.schemas import SendMessagesRequest
    from tidings.features.messages.writing import message_rows
    from tidings.store.intake import MESSAGE_COLUMNS

    request = SendMessagesRequest.model_construct(to="+14155550100", body="hi", status_callback="http://cb")
    send = Send(Principal("AC1", Role.SENDER, frozenset({"AC1"})), request, None, "")
    limits = Limits(10, 1600, 10, 35, None, None)
    origin = Origin(send, ("AC1",), {"id": "chn_1"}, limits, "+1", None)
    hi = [analyse("hi")]
    plan = Plan(origin, ["+14155550100"], ["hi"], hi, None, True, [], None, 5, 9, 0, '{"a":1}', None)
    addressed = Addressed(plan, ["+14155550100"], ["hi"], hi, [], 0, ["+14155550100"], None, None)
    [row] = message_rows(addressed, ids=["msg_1"], batch_id="bat_1", now=3)
    named = dict(zip(MESSAGE_COLUMNS, row, strict=True))
    assert named == {
        "id": "msg_1",
        "account_id": "AC1",
        "batch_id": "bat_1",
        "direction": "outbound",
        "status": "scheduled",
        "priority": 0,
        "channel_id": "chn_1",
        "sender": "+1",
        "recipient": "+14155550100",
        "body": "hi",
        "encoding": "GSM-7",
        "segments": 1,
        "due_at": 5,
        "send_at": 5,
        "expires_at": 9,
        "attempts": 0,
        "lease_owner": None,
        "lease_until": None,
        "provider_message_id": None,
        "error_code": None,
        "error_message": None,
        "status_callback": "http://cb",
        "metadata": '{"a":1}',
        "created_at": 3,
        "updated_at": 3,
        "route": None,
        "fallback_channel_id": None,
        "via_fallback": False,
    }
