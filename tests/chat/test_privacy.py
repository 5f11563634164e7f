"""Personal data is masked before it is stored, indexed or shown to a model."""

from __future__ import annotations

import uuid

import pytest

from apps.chat import services
from apps.chat.models import Message
from apps.chat.privacy import mask_pii


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+bank@example.co.uk please", "write to [email] please"),
        ("my card 4111 1111 1111 1111 was charged", "my card [card] was charged"),
        ("card 4111-1111-1111-1111", "card [card]"),
        ("call me on +44 20 7946 0958", "call me on [phone]"),
        ("or 0207 946 0958", "or [phone]"),
        ("IBAN GB82 WEST 1234 5698 7654 32 is mine", "IBAN [iban] is mine"),
    ],
)
def test_personal_data_is_masked(text, expected):
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 12345678 is late",
        "I paid on 2024-01-15",
        "it cost 1,250.00",
        "not luhn 1234 5678 9012 3456",
    ],
)
def test_ordinary_numbers_survive(text):
    assert mask_pii(text) == text


@pytest.mark.django_db
def test_stored_customer_message_is_masked():
    conversation = services.conversation_get_or_create(public_id=uuid.uuid4())
    message, created = services.message_receive(
        conversation=conversation,
        text="I'm bob@example.com, card 5555 5555 5555 4444",
        client_msg_id="c1",
    )
    assert created
    stored = Message.objects.get(id=message.id).text
    assert "bob@example.com" not in stored and "5555" not in stored
    assert stored == "I'm [email], card [card]"
