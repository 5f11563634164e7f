"""Admin: a client's key is shown once and works, rotation kills the old key, feed status and
"poll now", articles are read-only."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.sentiment.models import Article, FeedSource, IngestClient
from config.celery import app as celery_app
from tests.sentiment.feed_server import Route, feed_server  # noqa: F401 (fixture)
from tests.sentiment.ingest_fixtures import PUSH_URL, article_row

pytestmark = pytest.mark.django_db

KEY = re.compile(r'<code class="api-key">([^<]+)</code>')


def _push_status(key: str) -> int:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)
    return client.post(PUSH_URL, {"articles": [article_row(1)]}, format="json").status_code


def test_adding_a_client_shows_a_working_key_once(admin_client) -> None:  # noqa: ANN001
    response = admin_client.post(
        reverse("admin:sentiment_ingestclient_add"), {"name": "Reuters pusher", "active": "on"}
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (key,) = KEY.findall(response.content.decode())
    client = IngestClient.objects.get(name="Reuters pusher")
    assert client.key_prefix == key[:8]
    assert key not in str(IngestClient.objects.values().get())  # only the hash is stored
    assert _push_status(key) == 200
    change_page = admin_client.get(reverse("admin:sentiment_ingestclient_change", args=[client.pk]))
    assert key not in change_page.content.decode()


def test_rotating_shows_the_new_key_and_the_old_one_stops(admin_client) -> None:  # noqa: ANN001
    client, old_key = IngestClient.create_with_key(name="wire")

    response = admin_client.post(
        reverse("admin:sentiment_ingestclient_changelist"),
        {"action": "rotate_keys", "_selected_action": [client.pk]},
    )

    (new_key,) = KEY.findall(response.content.decode())
    assert new_key != old_key
    assert _push_status(old_key) == 401
    assert _push_status(new_key) == 200


def test_feed_list_shows_polling_status_and_poll_now_polls(
    admin_client,  # noqa: ANN001
    feed_server,  # noqa: ANN001, F811
    monkeypatch,  # noqa: ANN001
) -> None:
    # The poll runs in this process (Celery's eager mode) so the page can show its outcome.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    feed_server.routes["/rss"] = Route(file="markets.rss.xml")
    feed_server.routes["/down"] = Route(status=502)
    good = FeedSource.objects.create(name="Markets", url=feed_server.url("/rss"))
    down = FeedSource.objects.create(name="Down", url=feed_server.url("/down"))
    changelist = reverse("admin:sentiment_feedsource_changelist")

    before = admin_client.get(changelist).content.decode()
    admin_client.post(
        changelist, {"action": "poll_now", "_selected_action": [good.pk, down.pk]}, follow=True
    )
    after = admin_client.get(changelist).content.decode()

    assert before.count("not polled yet") == 2
    assert "failing (1 in a row)" in after
    assert "HTTP 502 Bad Gateway" in after
    assert ">ok<" in after
    assert Article.objects.filter(source=good).count() == 3


def test_articles_are_read_only_and_searchable(admin_client) -> None:  # noqa: ANN001
    from apps.sentiment.ingest.services import articles_ingest

    report = articles_ingest([article_row(1), article_row(2)])
    article_id = report.created_ids[0]

    found = admin_client.get(
        reverse("admin:sentiment_article_changelist"), {"q": "Company 2", "sentiment__exact": ""}
    )
    assert "Company 2 cuts" in found.content.decode()
    assert "Company 1 cuts" not in found.content.decode()
    assert admin_client.get(reverse("admin:sentiment_article_add")).status_code == 403
    admin_client.post(
        reverse("admin:sentiment_article_change", args=[article_id]), {"title": "edited"}
    )
    assert Article.objects.get(pk=article_id).title == "Company 1 cuts its full-year guidance"
