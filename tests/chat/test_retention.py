"""Retention deletes old conversations; idle bot chats close as resolved or abandoned."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.chat import services
from apps.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db


def make_conversation(age: timedelta, **fields) -> Conversation:
    conversation = Conversation.objects.create(public_id=uuid.uuid4(), **fields)
    Conversation.objects.filter(id=conversation.id).update(updated_at=timezone.now() - age)
    return conversation


def test_conversations_older_than_retention_are_deleted_with_their_messages(settings):
    old = make_conversation(timedelta(days=settings.CHAT_RETENTION_DAYS + 1))
    Message.objects.create(conversation=old, sender="customer", text="old")
    recent = make_conversation(timedelta(days=1))

    services.conversations_purge_expired()

    assert list(Conversation.objects.values_list("id", flat=True)) == [recent.id]
    assert not Message.objects.filter(conversation_id=old.id).exists()


def test_idle_bot_conversations_close_with_the_right_resolution(settings):
    idle = timedelta(minutes=settings.CHAT_IDLE_CLOSE_MINUTES + 1)
    answered = make_conversation(idle)
    Message.objects.create(conversation=answered, sender="bot", kind="answer", text="a")
    unanswered = make_conversation(idle)
    Message.objects.create(conversation=unanswered, sender="bot", kind="handoff_offer", text="?")
    fresh = make_conversation(timedelta(minutes=1))

    closing = services.conversations_close_idle()
    assert sorted(m.conversation_id for m in closing) == sorted([answered.id, unanswered.id])

    answered.refresh_from_db()
    unanswered.refresh_from_db()
    fresh.refresh_from_db()
    assert answered.resolution == Conversation.Resolution.BOT_RESOLVED
    assert unanswered.resolution == Conversation.Resolution.ABANDONED
    assert fresh.status == Conversation.Status.BOT


def test_customer_export_and_erase_cover_only_that_customer():
    mine = Conversation.objects.create(customer_ref="cust-a")
    Message.objects.create(conversation=mine, sender="customer", text="hello")
    other = Conversation.objects.create(customer_ref="cust-b")

    export = services.customer_conversations_export(customer_ref="cust-a")
    assert [m["text"] for m in export["conversations"][0]["messages"]] == ["hello"]

    assert services.customer_conversations_erase(customer_ref="cust-a") == 1
    assert list(Conversation.objects.values_list("id", flat=True)) == [other.id]
