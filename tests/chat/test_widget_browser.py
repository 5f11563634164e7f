"""The widget and the agent console in a real Chromium against a real Daphne process.

Set TESSERA_SCREENSHOT_DIR=/some/dir to keep screenshots of each step.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.chat.conftest import LiveServer, ws_server_env

TIMEOUT_MS = 60_000  # the first answer loads the encoder in the server process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:  # noqa: ANN001
    folder = os.environ.get("TESSERA_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def open_widget(page, server: LiveServer):  # noqa: ANN001, ANN201
    from playwright.sync_api import expect

    page.goto(f"{server.url}/chat/demo/")
    page.locator("tessera-chat .tw-launcher").click()
    expect(page.locator("tessera-chat .tw-status")).to_have_text("Online", timeout=TIMEOUT_MS)
    return page


def widget_token_script(server: LiveServer, token: str) -> str:
    """An init script that gives the widget the token of a conversation (as if it started it)."""
    import json

    key = f"tessera-chat:127.0.0.1:{server.port}:token"
    return f"localStorage.setItem({json.dumps(key)}, {json.dumps(json.dumps(token))})"


def ask(page, text: str) -> None:  # noqa: ANN001
    box = page.locator("tessera-chat .tw-input")
    box.fill(text)
    box.press("Enter")


def bot_messages(page):  # noqa: ANN001, ANN201
    return page.locator("tessera-chat .tw-msg[data-sender='bot']")


def test_customer_gets_an_answer_and_history_survives_a_reload(ws_live_server, ws_browser, ws_kb):
    from playwright.sync_api import expect

    from apps.chat.models import Message

    page = open_widget(ws_browser.new_page(), ws_live_server)
    ask(page, "my card hasn't arrived yet")
    answer = bot_messages(page).last
    expect(answer).to_contain_text("5 working days", timeout=TIMEOUT_MS)
    expect(page.locator("tessera-chat .tw-msg[data-sender='customer']")).to_have_text(
        re.compile("my card hasn't arrived yet")
    )
    # URLs in answers become links, built as elements (never from HTML).
    expect(answer.locator("a.tw-link")).to_have_attribute(
        "href", "https://help.example.com/cards/delivery"
    )
    answer.locator(".tw-thumb-up").click()
    expect(answer.locator(".tw-thumb-up")).to_have_attribute("aria-pressed", "true")
    shot(page, "widget-answer")

    deadline = time.monotonic() + 10
    while Message.objects.filter(sender="bot", feedback=1).count() != 1:
        assert time.monotonic() < deadline, "the thumbs-up never reached the database"
        time.sleep(0.2)

    page.reload()
    # The panel stays open across page loads, and the conversation comes back from the server.
    expect(page.locator("tessera-chat .tw-status")).to_have_text("Online", timeout=TIMEOUT_MS)
    expect(page.locator("tessera-chat .tw-msg")).to_have_count(2)
    expect(bot_messages(page).last).to_contain_text("5 working days")
    expect(bot_messages(page).last.locator(".tw-thumb-up")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert Message.objects.count() == 2


def test_quick_replies_send_the_suggested_question(ws_live_server, ws_browser, ws_kb):
    """A suggestions message (saved earlier) comes back as buttons that ask that question."""
    from playwright.sync_api import expect

    from apps.chat import services
    from apps.chat.models import Message

    started = services.conversation_start()
    conversation = started.conversation
    question, _ = services.message_receive(
        conversation=conversation, text="pin problem", client_msg_id="seed-1"
    )
    pin, lost = ws_kb["change_pin"], ws_kb["lost_or_stolen_card"]
    Message.objects.create(
        conversation=conversation,
        sender="bot",
        kind="suggestions",
        reply_to=question,
        text="I'm not completely sure. Did you mean one of these?",
        suggestions=[
            {"entry_id": pin.id, "title": pin.title},
            {"entry_id": lost.id, "title": lost.title},
        ],
    )
    page = ws_browser.new_page()
    page.add_init_script(widget_token_script(ws_live_server, started.token))
    open_widget(page, ws_live_server)
    buttons = page.locator("tessera-chat .tw-quick-reply")
    expect(buttons).to_have_text([pin.title, lost.title])
    shot(page, "widget-suggestions")

    buttons.first.click()
    expect(bot_messages(page)).to_have_count(2, timeout=TIMEOUT_MS)
    expect(bot_messages(page).last).to_contain_text("Cards > PIN")
    assert Message.objects.filter(sender="customer", text=pin.title).count() == 1


def test_markup_in_messages_is_shown_as_text(ws_live_server, ws_browser):
    from playwright.sync_api import expect

    page = open_widget(ws_browser.new_page(), ws_live_server)
    payload = '<img src=x onerror="window.__pwned=1"><b>bold</b> & more'
    ask(page, payload)
    mine = page.locator("tessera-chat .tw-msg[data-sender='customer'] .tw-text")
    expect(mine).to_have_text(payload)
    expect(bot_messages(page)).to_have_count(1, timeout=TIMEOUT_MS)
    counts = page.evaluate(
        """() => {
          const root = document.querySelector('tessera-chat').shadowRoot;
          return {img: root.querySelectorAll('img').length, b: root.querySelectorAll('b').length,
                  pwned: window.__pwned === 1};
        }"""
    )
    assert counts == {"img": 0, "b": 0, "pwned": False}


def test_agent_takes_over_and_the_customer_sees_the_reply(
    ws_live_server, ws_browser, ws_staff, ws_kb
):
    from playwright.sync_api import expect

    from apps.chat.models import Conversation

    customer = open_widget(ws_browser.new_context().new_page(), ws_live_server)
    ask(customer, "I lost my card")
    expect(bot_messages(customer).last).to_contain_text("Freeze the card", timeout=TIMEOUT_MS)
    customer.locator("tessera-chat .tw-handoff").click()
    expect(customer.locator("tessera-chat .tw-input")).to_have_attribute(
        "placeholder", re.compile("A person will be with you")
    )
    shot(customer, "widget-waiting")

    agent = ws_browser.new_context().new_page()
    agent.goto(f"{ws_live_server.url}/admin/login/?next=/chat/console/")
    agent.fill("#id_username", ws_staff.username)
    agent.fill("#id_password", ws_staff.raw_password)
    agent.locator("input[type=submit]").click()
    expect(agent.locator("#connection")).to_have_text("Live", timeout=TIMEOUT_MS)
    waiting = agent.locator("#waiting-list li.conv")
    expect(waiting).to_have_count(1)
    shot(agent, "console-waiting")
    waiting.locator(".take-inline").click()

    expect(agent.locator("#conv-status")).to_have_text("agent")
    bot_row = agent.locator("#messages .msg[data-sender='bot']")
    expect(bot_row.locator(".evidence summary")).to_contain_text("Evidence: answer")
    bot_row.locator(".evidence summary").click()
    expect(bot_row.locator(".evidence table")).to_contain_text("I lost my card or it was stolen")

    expect(customer.locator("tessera-chat .tw-input")).to_have_attribute(
        "placeholder", re.compile("Message Ann")
    )
    agent.fill("#reply", "Hi, this is Ann. I have frozen the card for you.")
    agent.press("#reply", "Enter")
    from_agent = customer.locator("tessera-chat .tw-msg[data-sender='agent']")
    expect(from_agent).to_contain_text("I have frozen the card for you.")
    expect(from_agent.locator(".tw-sender")).to_have_text("Ann")
    shot(agent, "console-conversation")
    shot(customer, "widget-agent")

    # While the agent owns the conversation the bot stays silent.
    ask(customer, "thanks, and how do I change my pin?")
    expect(agent.locator("#messages .msg[data-sender='customer']").last).to_contain_text(
        "change my pin"
    )
    customer.wait_for_timeout(1500)
    expect(bot_messages(customer)).to_have_count(1)

    agent.select_option("#resolution", "agent_resolved")
    agent.locator("#close").click()
    csat = customer.locator("tessera-chat .tw-csat")
    expect(csat).to_be_visible()
    shot(customer, "widget-csat")
    csat.locator(".tw-csat-score", has_text="4").click()
    expect(customer.locator("tessera-chat .tw-notice")).to_contain_text("Thank you")
    expect(customer.locator("tessera-chat .tw-new")).to_be_visible()

    conversation = Conversation.objects.get()
    assert (conversation.status, conversation.resolution) == ("closed", "agent_resolved")
    deadline = time.monotonic() + 10
    while conversation.csat is None and time.monotonic() < deadline:
        time.sleep(0.2)
        conversation.refresh_from_db()
    assert conversation.csat == 4


def test_widget_reconnects_and_sends_what_was_typed_while_offline(
    ws_live_server, ws_browser, ws_kb
):
    from playwright.sync_api import expect

    from apps.chat.models import Message

    page = open_widget(ws_browser.new_page(), ws_live_server)
    ask(page, "how do I change my pin")
    expect(bot_messages(page)).to_have_count(1, timeout=TIMEOUT_MS)

    ws_live_server.stop()
    status = page.locator("tessera-chat .tw-status")
    expect(status).to_contain_text("reconnecting in", timeout=TIMEOUT_MS)
    shot(page, "widget-offline")
    ask(page, "my card hasn't arrived yet")
    pending = page.locator("tessera-chat .tw-msg.tw-pending")
    expect(pending).to_have_count(1)

    ws_live_server.start()
    expect(status).to_have_text("Online", timeout=TIMEOUT_MS)
    expect(pending).to_have_count(0, timeout=TIMEOUT_MS)
    expect(bot_messages(page)).to_have_count(2, timeout=TIMEOUT_MS)
    expect(bot_messages(page).last).to_contain_text("5 working days")
    expect(page.locator("tessera-chat .tw-msg")).to_have_count(4)
    assert list(Message.objects.order_by("id").values_list("sender", flat=True)) == [
        "customer",
        "bot",
        "customer",
        "bot",
    ]


@pytest.mark.redis
def test_agent_on_another_web_process_reaches_the_customer(
    ws_live_server, ws_browser, ws_staff, ws_kb, artifacts_dir, tmp_path
):
    """Two Daphne processes behind one Redis: customer on one, agent console on the other."""
    from playwright.sync_api import expect

    second = LiveServer(ws_server_env(artifacts_dir), tmp_path / "daphne-2.log")
    second.start()
    try:
        customer = open_widget(ws_browser.new_context().new_page(), ws_live_server)
        ask(customer, "I lost my card")
        expect(bot_messages(customer)).to_have_count(1, timeout=TIMEOUT_MS)
        customer.locator("tessera-chat .tw-handoff").click()

        agent = ws_browser.new_context().new_page()
        agent.goto(f"{second.url}/admin/login/?next=/chat/console/")
        agent.fill("#id_username", ws_staff.username)
        agent.fill("#id_password", ws_staff.raw_password)
        agent.locator("input[type=submit]").click()
        agent.locator("#waiting-list li.conv .take-inline").click()
        expect(agent.locator("#conv-status")).to_have_text("agent", timeout=TIMEOUT_MS)

        agent.fill("#reply", "Hello from the other process.")
        agent.press("#reply", "Enter")
        expect(customer.locator("tessera-chat .tw-msg[data-sender='agent']")).to_contain_text(
            "Hello from the other process."
        )
        ask(customer, "great, thanks")
        expect(agent.locator("#messages .msg[data-sender='customer']").last).to_contain_text(
            "great, thanks"
        )
    finally:
        second.stop()
