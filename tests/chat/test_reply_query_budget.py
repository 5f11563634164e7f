"""A customer message and the bot's answer cost a fixed, small number of SQL statements.

Every message runs this path; a query added to it is paid on every message under load
(bench/chat_load.py), so the budget is exact and a change to it has to be deliberate.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.chat import services
from apps.chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as on the socket


def test_a_message_and_its_answer_take_six_statements(ws_kb) -> None:
    conversation = services.conversation_get_or_create(public_id=uuid.uuid4(), customer_ref="c")
    services.answering_warm_up()  # model and index loads are not per message
    with CaptureQueriesContext(connection) as statements:
        message, created = services.message_receive(
            conversation=conversation, text="When will my new card arrive?", client_msg_id="m1"
        )
        reply = services.conversation_reply(conversation=conversation, message=message)
    assert created and reply.kind == Message.Kind.ANSWER
    # The registry's "which intent model is in production?" runs once per ML_MODEL_REFRESH_S
    # per process, not per message.
    per_message = [
        q["sql"] for q in statements.captured_queries if "registry_modelversion" not in q["sql"]
    ]
    sql = [statement.split()[0].upper() for statement in per_message]
    # touch the conversation, save the message, owner + already answered?, hits' entries
    # (pairs, then rows), save the answer
    assert sql == ["UPDATE", "INSERT", "SELECT", "SELECT", "SELECT", "INSERT"], sql


def test_a_resent_message_is_found_without_a_second_row(ws_kb) -> None:
    conversation = services.conversation_get_or_create(public_id=uuid.uuid4(), customer_ref="c")
    first, _ = services.message_receive(conversation=conversation, text="hi", client_msg_id="r")
    again, created = services.message_receive(
        conversation=conversation, text="hi", client_msg_id="r"
    )
    assert not created and again.id == first.id
    assert conversation.messages.count() == 1
    # The failed INSERT left the connection usable (no transaction to break).
    assert services.message_receive(conversation=conversation, text="next", client_msg_id="s")[1]
