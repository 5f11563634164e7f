"""An agent's console ends with the agent's session; customers never see an agent's login."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client

from apps.chat.models import AgentProfile, Conversation, Message
from tests.chat.conftest import CHAT_PATH, ws_conversation_seed

pytestmark = pytest.mark.django_db(transaction=True)

AGENT_PATH = "/ws/agent/"
PASSWORD = "a-long-test-password-7"  # noqa: S105


@database_sync_to_async
def signed_in_agent(username: str, **fields: object) -> tuple[Client, str]:
    """A staff user logged in through the real admin login view: (client, Cookie header)."""
    get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True, **fields)
    client = Client()
    response = client.post("/admin/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client, f"sessionid={client.cookies['sessionid'].value}"


@database_sync_to_async
def waiting_conversation() -> tuple[Conversation, str]:
    conversation, token, _ = ws_conversation_seed(["I need a person"])
    Conversation.objects.filter(id=conversation.id).update(status="waiting")
    return conversation, token


async def agent_owning_a_conversation(ws_open, cookie: str):  # noqa: ANN001, ANN201
    """(agent socket, customer socket, conversation) once the agent took it."""
    conversation, token = await waiting_conversation()
    customer, _ = await ws_open(CHAT_PATH, hello={"token": token})
    agent, _ = await ws_open(AGENT_PATH, cookie=cookie)
    await agent.send({"type": "take", "conversation_id": conversation.id})
    await agent.recv_until(lambda f: f["type"] == "conversation")
    await customer.recv_until(lambda f: f["type"] == "agent_joined")
    return agent, customer, conversation


@database_sync_to_async
def agent_messages(conversation: Conversation) -> list[str]:
    return list(
        Message.objects.filter(conversation=conversation, sender="agent").values_list(
            "text", flat=True
        )
    )


async def test_logging_out_in_another_tab_closes_the_console_socket(ws_open):
    client, cookie = await signed_in_agent("agent-lou")
    agent, customer, conversation = await agent_owning_a_conversation(ws_open, cookie)

    response = await database_sync_to_async(client.post)("/admin/logout/")
    assert response.status_code == 200

    frames = await agent.recv_until(lambda f: f["type"] == "error")
    assert frames[-1]["code"] == "not_authenticated"
    assert await agent.closed_with() == 4401  # the console says "not signed in as staff"
    await customer.assert_quiet(0.5)
    assert await agent_messages(conversation) == []

    # Reconnecting with the old cookie is refused with the same code, not a bare 403.
    again, error = await ws_open(AGENT_PATH, cookie=cookie)
    assert error["code"] == "not_authenticated" and await again.closed_with() == 4401


async def test_a_session_ended_without_a_logout_signal_refuses_the_next_reply(ws_open):
    """Expired or deleted elsewhere (clearsessions, another process): checked on every frame."""
    _, cookie = await signed_in_agent("agent-exp")
    agent, customer, conversation = await agent_owning_a_conversation(ws_open, cookie)

    await database_sync_to_async(Session.objects.all().delete)()
    await agent.send({"type": "reply", "conversation_id": conversation.id, "text": "still here?"})
    error = (await agent.recv_until(lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "not_authenticated"
    assert await agent.closed_with() == 4401
    await customer.assert_quiet(0.5)
    assert await agent_messages(conversation) == []


async def test_an_agent_who_loses_staff_rights_cannot_reply(ws_open):
    _, cookie = await signed_in_agent("agent-ex")
    agent, customer, conversation = await agent_owning_a_conversation(ws_open, cookie)
    await database_sync_to_async(
        lambda: get_user_model().objects.filter(username="agent-ex").update(is_staff=False)
    )()
    await agent.send({"type": "reply", "conversation_id": conversation.id, "text": "hi"})
    error = (await agent.recv_until(lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "not_authenticated"
    await customer.assert_quiet(0.5)
    assert await agent_messages(conversation) == []


async def test_customers_see_support_agent_not_the_login(ws_open):
    """No first name and no display name: the customer saw "admin joined the conversation"."""
    _, cookie = await signed_in_agent("admin")
    agent, customer, conversation = await agent_owning_a_conversation(ws_open, cookie)
    await agent.send(
        {"type": "reply", "conversation_id": conversation.id, "text": "How can I help?"}
    )
    seen = await customer.recv_until(lambda f: f.get("sender") == "agent")
    _, history = await ws_open(
        CHAT_PATH, hello={"token": await token_of(conversation)}
    )  # the transcript a reload shows
    await agent.send(
        {"type": "close", "conversation_id": conversation.id, "resolution": "agent_resolved"}
    )
    seen += await customer.recv_until(lambda f: f["type"] == "closed")

    customer_view = json.dumps([*seen, history])
    assert "admin" not in customer_view
    assert seen[-1]["type"] == "closed"
    reply = next(f for f in seen if f.get("sender") == "agent")
    assert reply["agent_name"] == "Support agent"
    joined = next(m for m in history["messages"] if m["sender"] == "system")
    assert joined["text"] == "Support agent joined the conversation."
    assert history["conversation"]["agent_name"] == "Support agent"


async def test_the_display_name_set_in_admin_is_what_customers_see(ws_open):
    client, cookie = await signed_in_agent("d.smith", first_name="Dorothy")

    def set_display_name() -> None:
        user = get_user_model().objects.get(username="d.smith")
        superuser = get_user_model().objects.create_superuser("root", password=PASSWORD)
        admin = Client()
        admin.force_login(superuser)
        response = admin.post(
            "/admin/chat/agentprofile/add/", {"user": user.pk, "display_name": "Dot"}
        )
        assert response.status_code == 302, response.content[:2000]
        assert AgentProfile.display_name_of(user) == "Dot"

    await database_sync_to_async(set_display_name)()
    agent, customer, conversation = await agent_owning_a_conversation(ws_open, cookie)
    _, history = await ws_open(CHAT_PATH, hello={"token": await token_of(conversation)})
    assert history["conversation"]["agent_name"] == "Dot"
    assert any(m["text"] == "Dot joined the conversation." for m in history["messages"])
    assert "d.smith" not in json.dumps(history) and "Dorothy" not in json.dumps(history)


@database_sync_to_async
def token_of(conversation: Conversation) -> str:
    from apps.chat import services

    return services.conversation_token_issue(conversation=conversation)


def test_join_messages_saved_before_display_names_no_longer_show_the_login():
    """Migration 0003 rewords stored "<login> joined the conversation." messages."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("apps.chat.migrations.0003_agent_profile")
    agent = get_user_model().objects.create_user("admin", is_staff=True, first_name="")
    named = get_user_model().objects.create_user("bob", is_staff=True, first_name="Bob")
    conversation, _, _ = ws_conversation_seed()
    leaked = Message.objects.create(
        conversation=conversation,
        sender="system",
        kind="system",
        agent=agent,
        text="admin joined the conversation.",
    )
    first_name = Message.objects.create(
        conversation=conversation,
        sender="system",
        kind="system",
        agent=named,
        text="Bob joined the conversation.",
    )
    migration.hide_logins_in_join_messages(apps, None)
    leaked.refresh_from_db()
    first_name.refresh_from_db()
    assert leaked.text == "Support agent joined the conversation."
    assert first_name.text == "Bob joined the conversation."
