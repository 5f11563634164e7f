"""The analytics admin page: numbers from chat_analytics and a server-rendered SVG chart."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.chat.admin import per_day_chart
from apps.chat.models import Conversation, Message, UnansweredQuestion
from tests.chat.factories import (
    ConversationFactory,
    KnowledgeEntryFactory,
    MessageFactory,
    UnansweredQuestionFactory,
)

pytestmark = pytest.mark.django_db


def _stat(html: str, stat_id: str) -> str:
    match = re.search(rf'id="{stat_id}">[^<]*<b>(.*?)</b>', html, re.S)
    assert match, f"{stat_id} not on the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_analytics_page_renders_the_numbers_and_an_svg_chart(admin_client):
    entry = KnowledgeEntryFactory(title="When will my new card arrive?", intent="card_arrival")
    resolved = ConversationFactory(
        status=Conversation.Status.CLOSED,
        resolution=Conversation.Resolution.BOT_RESOLVED,
        csat=5,
    )
    question = MessageFactory(conversation=resolved, text="where is my card")
    MessageFactory(
        conversation=resolved,
        sender=Message.Sender.BOT,
        kind=Message.Kind.ANSWER,
        text=entry.answer,
        entry=entry,
        reply_to=question,
        feedback=1,
    )
    handed_off = ConversationFactory(
        status=Conversation.Status.CLOSED,
        resolution=Conversation.Resolution.AGENT_RESOLVED,
        handoff_reason="customer asked",
        csat=2,
    )
    older = ConversationFactory()
    ConversationFactory()
    Conversation.objects.filter(id__in=[handed_off.id, older.id]).update(
        created_at=timezone.now() - timedelta(days=3)
    )
    UnansweredQuestionFactory(message=question, reason=UnansweredQuestion.Reason.LOW_CONFIDENCE)
    UnansweredQuestionFactory(
        message=question,
        reason=UnansweredQuestion.Reason.THUMBS_DOWN,
        state=UnansweredQuestion.State.DISMISSED,
    )

    response = admin_client.get(reverse("admin:chat_analytics"))

    assert response.status_code == 200
    html = response.content.decode()
    assert _stat(html, "stat-total") == "4"
    assert _stat(html, "stat-bot-resolved") == "25%"
    assert _stat(html, "stat-handoff") == "25%"
    assert _stat(html, "stat-csat") == "3.50"
    assert _stat(html, "stat-feedback") == "1 / 0"
    assert _stat(html, "stat-unanswered") == "1"
    assert reverse("admin:chat_unansweredquestion_changelist") + "?state__exact=open" in html
    start = html.index('<svg id="per-day-chart"')
    svg = html[start : html.index("</svg>", start)]
    assert svg.count("<rect") == 30  # one bar per day, zero days included
    today = timezone.localdate()
    assert f"<title>{today.isoformat()}: 2</title>" in svg
    assert f"<title>{(today - timedelta(days=3)).isoformat()}: 2</title>" in svg
    top = html[html.index('id="top-intents"') :]
    assert "card_arrival</td><td>1</td>" in top
    assert "<script" not in svg


def test_chart_geometry_scales_bars_to_the_busiest_day():
    today = timezone.localdate()
    chart = per_day_chart(
        [
            {"day": today.isoformat(), "n": 4},
            {"day": (today - timedelta(days=1)).isoformat(), "n": 2},
        ],
        days=7,
        today=today,
    )
    heights = [bar["height"] for bar in chart["bars"]]
    assert len(heights) == 7
    assert heights[-1] == chart["baseline"]  # today, the peak, is full height
    assert heights[-2] == chart["baseline"] / 2
    assert heights[:5] == [0] * 5


def test_analytics_is_for_staff_only(client, django_user_model):
    url = reverse("admin:chat_analytics")
    assert client.get(url).status_code == 302
    client.force_login(django_user_model.objects.create_user("visitor", password="pw-0987654321"))
    response = client.get(url)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
