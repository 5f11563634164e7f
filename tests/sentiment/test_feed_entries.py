"""RSS items and Atom entries become articles: plain text, canonical link, feed's own times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from apps.sentiment.ingest.feeds import feed_poll
from apps.sentiment.models import Article, FeedSource
from tests.sentiment.feed_server import Route, feed_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 12, 12, 0, tzinfo=UTC)


def test_rss_items_are_stored_with_plain_text_and_canonical_links(feed_server) -> None:  # noqa: ANN001, F811
    feed_server.routes["/rss"] = Route(file="markets.rss.xml")
    source = FeedSource.objects.create(name="Markets wire", url=feed_server.url("/rss"))

    feed_poll(source_id=source.id, now=NOW)

    acme = Article.objects.get(external_id="mkt-2026-06-12-0001")
    assert acme.title == "Acme Corp cuts full-year guidance as orders slump"
    assert acme.body == (
        "Acme Corp lowered its outlook for the year after weaker orders from industrial customers."
    )
    assert acme.canonical_url == "https://markets.example.com/news/acme-cuts-guidance"
    assert acme.published_at == datetime(2026, 6, 12, 9, 30, tzinfo=UTC)
    assert (acme.source, acme.source_name, acme.client) == (source, "Markets wire", None)
    initech = Article.objects.get(external_id="mkt-2026-06-12-0003")
    assert initech.canonical_url == "https://markets.example.com/news/initech-probe"


def test_atom_entries_use_published_then_updated_and_the_sources_language(feed_server) -> None:  # noqa: ANN001, F811
    feed_server.routes["/atom"] = Route(
        file="companies.atom.xml", content_type="application/atom+xml"
    )
    source = FeedSource.objects.create(name="Filings", url=feed_server.url("/atom"), language="de")

    result = feed_poll(source_id=source.id, now=NOW)

    assert result.report.created == 2
    hooli = Article.objects.get(url="https://filings.example.org/2026/06/hooli-merger-talks/")
    assert hooli.title == "Hooli & Partners announce merger talks"
    assert hooli.published_at == datetime(2026, 6, 12, 7, 0, tzinfo=UTC)
    assert hooli.canonical_url == "https://filings.example.org/2026/06/hooli-merger-talks"
    assert hooli.language == "de"
    umbrella = Article.objects.get(title="Umbrella Corp withdraws bond offering")
    assert (
        umbrella.body == "Umbrella Corp pulled a planned $500m bond sale, citing market conditions."
    )
    assert umbrella.published_at == datetime(2026, 6, 12, 8, 30, tzinfo=UTC)
