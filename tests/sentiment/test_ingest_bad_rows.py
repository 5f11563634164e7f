"""A bad row gets field errors; the good rows of the same batch are stored anyway."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.sentiment.ingest.services import articles_ingest
from apps.sentiment.models import Article
from tests.sentiment.ingest_fixtures import PUBLISHED, article_row

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("bad_row", "field"),
    [
        (article_row(9, title=""), "title"),
        ({k: v for k, v in article_row(9).items() if k != "title"}, "title"),
        (article_row(9, published_at="yesterday-ish"), "published_at"),
        ({k: v for k, v in article_row(9).items() if k != "published_at"}, "published_at"),
        (article_row(9, url="ftp://files.example/x"), "url"),
        (article_row(9, url="not a url"), "url"),
        (article_row(9, language="English!"), "language"),
        (article_row(9, title="x" * 1001), "title"),
        ("just a string", "non_field_errors"),
    ],
)
def test_bad_row_is_reported_with_its_field_and_good_rows_land(bad_row, field: str) -> None:  # noqa: ANN001
    report = articles_ingest([article_row(1), bad_row, article_row(2)], now=PUBLISHED)

    assert [r.status for r in report.results] == ["created", "error", "created"]
    assert field in report.results[1].errors
    assert report.results[1].errors[field]  # a message a person can act on
    assert report.results[1].article_id is None
    assert Article.objects.count() == 2


def test_published_time_in_the_future_beyond_the_skew_is_refused(settings) -> None:  # noqa: ANN001
    settings.SENTIMENT_INGEST_FUTURE_SKEW_S = 300
    now = PUBLISHED
    rows = [
        article_row(1, published_at=(now + timedelta(seconds=290)).isoformat()),
        article_row(2, published_at=(now + timedelta(hours=2)).isoformat()),
    ]

    report = articles_ingest(rows, now=now)

    assert [r.status for r in report.results] == ["created", "error"]
    assert "in the future" in report.results[1].errors["published_at"][0]


def test_results_keep_the_rows_order_and_ids() -> None:
    rows = [article_row(1), article_row(2, title=""), article_row(1, id="again")]

    report = articles_ingest(rows, now=PUBLISHED)

    assert [(r.index, r.external_id, r.status) for r in report.results] == [
        (0, "wire-1", "created"),
        (1, "wire-2", "error"),
        (2, "again", "duplicate"),
    ]
    assert (report.created, report.failed, report.duplicates) == (1, 1, 1)


def test_language_defaults_to_en_and_is_normalised() -> None:
    row = article_row(1)
    del row["language"]
    report = articles_ingest([row, article_row(2, language="PT_BR")], now=PUBLISHED)
    assert [Article.objects.get(pk=i).language for i in report.created_ids] == ["en", "pt-br"]
