"""Re-delivered articles (same client id, canonical URL or normalised text) change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.sentiment.ingest.services import articles_ingest
from apps.sentiment.models import Article, FeedSource, IngestClient
from apps.sentiment.signals import articles_ingested
from tests.sentiment.ingest_fixtures import PUBLISHED, article_row

pytestmark = pytest.mark.django_db


def _stored() -> list[tuple]:
    return list(
        Article.objects.order_by("id").values_list(
            "id", "external_id", "title", "body", "canonical_url", "content_hash", "fetched_at"
        )
    )


def test_redelivering_a_batch_reports_duplicates_and_changes_no_row() -> None:
    client, _ = IngestClient.create_with_key(name="wire")
    rows = [article_row(n) for n in range(3)]
    first = articles_ingest(rows, client=client)
    before = _stored()

    second = articles_ingest(rows, client=client)

    assert [r.status for r in first.results] == ["created"] * 3
    assert [r.status for r in second.results] == ["duplicate"] * 3
    assert [r.duplicate_of for r in second.results] == ["external_id"] * 3
    assert [r.article_id for r in second.results] == first.created_ids
    assert _stored() == before


def test_same_client_id_with_edited_text_is_still_the_stored_article() -> None:
    client, _ = IngestClient.create_with_key(name="wire")
    articles_ingest([article_row(1)], client=client)
    edited = article_row(1, title="A rewritten headline", url="https://other.example/x")

    report = articles_ingest([edited], client=client)

    assert report.results[0].status == "duplicate"
    assert Article.objects.get().title == "Company 1 cuts its full-year guidance"


def test_another_clients_id_is_its_own_article() -> None:
    first, _ = IngestClient.create_with_key(name="wire-a")
    second, _ = IngestClient.create_with_key(name="wire-b")
    articles_ingest([article_row(1)], client=first)

    report = articles_ingest([article_row(2, id="wire-1")], client=second)

    assert report.results[0].status == "created"
    assert Article.objects.filter(external_id="wire-1").count() == 2


def test_tracking_variant_of_a_stored_url_is_a_duplicate() -> None:
    articles_ingest([article_row(1, id="")])
    variant = article_row(
        2,
        id="",
        url="HTTPS://News.Example.com/markets/story-1/?utm_source=rss&fbclid=x#top",
    )

    report = articles_ingest([variant])

    assert (report.results[0].status, report.results[0].duplicate_of) == (
        "duplicate",
        "canonical_url",
    )
    assert Article.objects.count() == 1


def test_same_story_under_another_url_is_a_duplicate_by_its_text() -> None:
    articles_ingest([article_row(1, id="")])
    syndicated = article_row(
        1,
        id="",
        url="https://aggregator.example/item/991",
        title="COMPANY 1 CUTS ITS FULL-YEAR GUIDANCE!",
        body="Company 1 lowered its outlook — after weak orders in quarter 1",
    )

    report = articles_ingest([syndicated])

    assert (report.results[0].status, report.results[0].duplicate_of) == (
        "duplicate",
        "content_hash",
    )
    assert Article.objects.count() == 1


def test_repeats_inside_one_batch_are_stored_once_the_first_wins() -> None:
    rows = [article_row(1), article_row(2), article_row(1, id="copy-of-1")]

    report = articles_ingest(rows)

    assert [r.status for r in report.results] == ["created", "created", "duplicate"]
    assert report.results[2].article_id == report.results[0].article_id
    assert Article.objects.count() == 2


def test_feed_entries_are_deduplicated_by_their_guid_within_the_source() -> None:
    source = FeedSource.objects.create(name="Wire", url="http://127.0.0.1:9/f.xml")
    articles_ingest([article_row(1, id="guid-1", source="")], source=source, channel="feed")
    moved = article_row(2, id="guid-1")  # same entry, its link and text edited upstream

    report = articles_ingest([moved], source=source, channel="feed")

    assert report.results[0].duplicate_of == "external_id"
    source.refresh_from_db()
    assert source.articles_added == 1
    assert Article.objects.get().source_name == "Wire"


def test_signal_names_only_new_articles_and_waits_for_the_commit(
    django_capture_on_commit_callbacks,
) -> None:
    articles_ingest([article_row(1)])
    received: list[list[int]] = []

    def receiver(sender, article_ids, **kwargs):  # noqa: ANN001, ANN202
        received.append(article_ids)

    articles_ingested.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            report = articles_ingest([article_row(1), article_row(2), article_row(3)])
        assert received == []  # nothing is announced before the rows are committed
        for callback in callbacks:
            callback()
    finally:
        articles_ingested.disconnect(receiver)

    assert received == [sorted(report.created_ids)]
    assert len(report.created_ids) == 2


def test_nothing_new_sends_no_signal(django_capture_on_commit_callbacks) -> None:
    articles_ingest([article_row(1)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        articles_ingest([article_row(1)])
    assert callbacks == []


def test_published_time_is_stored_as_sent() -> None:
    report = articles_ingest([article_row(1, published_at="2026-06-12T11:30:00+02:00")])
    article = Article.objects.get(pk=report.created_ids[0])
    assert article.published_at == PUBLISHED
    assert article.fetched_at - article.published_at > timedelta(0)
