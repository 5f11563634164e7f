"""Holes found by probing the widget, the console and the admin pages, in a real Chromium.

Each test failed before its fix (issue 15).
"""

from __future__ import annotations

import re
import time

import pytest

from tests.chat.conftest import LiveServer
from tests.chat.test_widget_browser import TIMEOUT_MS, ask, open_widget, shot, widget_token_script

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATUS = "tessera-chat .tw-status"
INPUT = "tessera-chat .tw-input"
NOTICE = "tessera-chat .tw-notice"


def staff_login(page, server: LiveServer, user, next_url: str = "/chat/console/") -> None:  # noqa: ANN001
    page.goto(f"{server.url}/admin/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", user.raw_password)
    page.locator("input[type=submit]").click()


def test_page_views_without_a_message_start_no_conversation(ws_live_server, ws_browser):
    from playwright.sync_api import expect

    from apps.chat.models import Conversation

    page = ws_browser.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    for _ in range(3):  # browsing: the widget is on every page, nobody opens it
        page.goto(f"{ws_live_server.url}/chat/demo/")
        expect(page.locator("tessera-chat .tw-launcher")).to_be_visible()
    assert sockets == []
    open_widget(page, ws_live_server)  # opened, but nothing typed
    assert len(sockets) == 1 and "/ws/chat/" in sockets[0] and "?" not in sockets[0]
    assert Conversation.objects.count() == 0

    ask(page, "hello")
    expect(page.locator("tessera-chat .tw-msg[data-sender='customer']")).to_have_count(1)
    page.reload()  # the conversation comes back with its token
    expect(page.locator(STATUS)).to_have_text("Online", timeout=TIMEOUT_MS)
    expect(page.locator("tessera-chat .tw-msg[data-sender='customer'] .tw-text")).to_have_text(
        ["hello"]
    )
    assert Conversation.objects.count() == 1
    assert all(str(Conversation.objects.get().public_id) not in url for url in sockets)


def test_message_length_counts_characters_and_refusals_keep_the_text(
    ws_live_server, ws_browser, settings
):
    from playwright.sync_api import expect

    from apps.chat.models import Conversation, Message

    page = open_widget(ws_browser.new_page(), ws_live_server)
    emoji = "\U0001f600" * 600  # 600 characters, 1,200 UTF-16 units
    box = page.locator(INPUT)
    box.fill(emoji)
    box.press("Enter")
    expect(page.locator("tessera-chat .tw-msg[data-sender='customer'] .tw-text")).to_have_text(
        emoji, timeout=TIMEOUT_MS
    )
    expect(box).to_have_value("")
    expect(page.locator("tessera-chat .tw-msg.tw-pending")).to_have_count(0, timeout=TIMEOUT_MS)
    assert Message.objects.get(sender="customer").text == emoji

    too_long = "x" * 1001
    box.fill(too_long)
    box.press("Enter")
    expect(page.locator(NOTICE)).to_contain_text("limited to 1000 characters")
    expect(box).to_have_value(too_long)  # not wiped: the customer can shorten it

    # The server refuses (the conversation was closed behind the widget's back): the text
    # comes back into the input, with the reason.
    Conversation.objects.update(status="closed")
    box.fill("are you still there?")
    box.press("Enter")
    expect(page.locator(NOTICE)).to_contain_text("closed")
    expect(box).to_have_value("are you still there?")
    assert Message.objects.filter(sender="customer").count() == 1


def test_handoff_leftovers_go_once_a_person_is_on_the_way(ws_live_server, ws_browser, ws_staff):
    from playwright.sync_api import expect

    from apps.chat import services
    from apps.chat.models import Conversation, Message
    from apps.chat.services.conversations import HANDOFF_OFFER_TEXT

    started = services.conversation_start()
    conversation = started.conversation
    question, _ = services.message_receive(
        conversation=conversation, text="something odd", client_msg_id="q1"
    )
    Message.objects.create(
        conversation=conversation,
        sender="bot",
        kind="handoff_offer",
        reply_to=question,
        text=HANDOFF_OFFER_TEXT,
    )
    page = ws_browser.new_page()
    page.add_init_script(widget_token_script(ws_live_server, started.token))
    open_widget(page, ws_live_server)
    offer = page.locator("tessera-chat .tw-offer")
    expect(offer).to_be_enabled()

    # Queued elsewhere (another tab, before this one heard of it): asking again is refused.
    Conversation.objects.filter(id=conversation.id).update(status="waiting")
    page.locator("tessera-chat .tw-handoff").click()
    expect(page.locator(NOTICE)).to_have_text("A person is already on the way.")

    console = ws_browser.new_context().new_page()
    staff_login(console, ws_live_server, ws_staff)
    console.locator("#waiting-list li.conv .take-inline").click()
    expect(page.locator(INPUT)).to_have_attribute(
        "placeholder", re.compile("Message Ann"), timeout=TIMEOUT_MS
    )
    expect(page.locator(NOTICE)).to_be_hidden()  # the person is here: the notice is stale
    expect(offer).to_be_disabled()  # and the old offer in the log cannot ask again


def test_console_counts_down_to_reconnecting_and_stops_when_signed_out(
    ws_live_server, ws_browser, ws_staff
):
    from playwright.sync_api import expect

    context = ws_browser.new_context()
    console = context.new_page()
    staff_login(console, ws_live_server, ws_staff)
    connection = console.locator("#connection")
    expect(connection).to_have_text("Live", timeout=TIMEOUT_MS)
    console.evaluate(
        """() => {
          window.__states = [];
          const node = document.getElementById('connection');
          new MutationObserver(() => window.__states.push(node.textContent))
            .observe(node, {childList: true, characterData: true, subtree: true});
        }"""
    )

    ws_live_server.stop()
    # Attempts wait 1 s, 2 s, 4 s...: the 2 s wait shows 2, then 1, then reconnects.
    two, one = "Offline — reconnecting in 2 s", "Offline — reconnecting in 1 s"
    deadline = time.monotonic() + 60
    states = console.evaluate("window.__states")
    while two not in states or len(states) == states.index(two) + 1:
        assert time.monotonic() < deadline, states
        console.wait_for_timeout(200)
        states = console.evaluate("window.__states")
    assert states[states.index(two) + 1] == one, states  # it ticks; it said "2 s" until then

    ws_live_server.start()
    expect(connection).to_have_text("Live", timeout=TIMEOUT_MS)

    # Logging out in another tab ends the console: it says so instead of reconnecting.
    admin = context.new_page()
    admin.goto(f"{ws_live_server.url}/admin/")
    admin.locator("#logout-form button").click()
    expect(connection).to_have_text(re.compile("Not signed in as staff"), timeout=TIMEOUT_MS)
    console.wait_for_timeout(2500)
    expect(connection).to_have_text(re.compile("Not signed in as staff"))


def test_admin_lists_fit_their_pages(ws_live_server, ws_browser):
    from django.contrib.auth import get_user_model

    from ml.registry.models import ModelVersion

    admin_user = get_user_model().objects.create_superuser("root", password="pw-root-123456")
    admin_user.raw_password = "pw-root-123456"
    for version in (1, 2):
        ModelVersion.objects.create(
            task="chat.intent",
            version=version,
            base_model="/models/all-MiniLM-L6-v2",
            status="training",
            progress=0.4,
            status_message="epoch 3/10: loss 0.4213, validation macro-F1 0.8123 on 1,204 rows",
            dataset_size=1204,
            device="cuda",
            train_seconds=812.4,
        )
    page = ws_browser.new_page(viewport={"width": 1400, "height": 900})
    staff_login(page, ws_live_server, admin_user, "/admin/chat/knowledgeentry/")
    page.wait_for_selector("#index-status")
    shot(page, "admin-knowledge-entries")
    boxes = page.evaluate(
        """() => [document.querySelector('#content h1'), document.getElementById('index-status'),
                  ...document.querySelectorAll('.object-tools li')].map((el) => {
            const r = el.getBoundingClientRect();
            return {name: el.textContent.trim().slice(0, 30),
                    left: r.left, right: r.right, top: r.top, bottom: r.bottom};
        })"""
    )
    # The title, the index status line and each button: no two of them overlap.
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["right"] <= b["left"]
                or b["right"] <= a["left"]
                or a["bottom"] <= b["top"]
                or b["bottom"] <= a["top"]
            )
            assert apart, (a, b)

    page.goto(f"{ws_live_server.url}/admin/registry/modelversion/")
    page.wait_for_selector("#result_list")
    shot(page, "admin-registry-1400")
    widths = page.evaluate(
        """() => {
          const results = document.querySelector('#changelist .results');
          return {viewport: document.documentElement.clientWidth,
                  page: document.documentElement.scrollWidth,
                  shown: results.clientWidth, table: results.scrollWidth};
        }"""
    )
    # Every column shows: the list neither scrolls sideways nor widens the page.
    assert widths["table"] <= widths["shown"], widths
    assert widths["page"] <= widths["viewport"], widths
