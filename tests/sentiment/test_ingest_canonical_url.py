"""URL variants of one article (tracking, case, fragment, slash, port) map to one spelling."""

from __future__ import annotations

import pytest

from apps.sentiment.ingest.canonical import url_canonical

CANONICAL = "https://news.example.com/markets/acme-cuts-guidance"


@pytest.mark.parametrize(
    "variant",
    [
        CANONICAL,
        "HTTPS://News.Example.COM/markets/acme-cuts-guidance",
        "https://news.example.com/markets/acme-cuts-guidance/",
        "https://news.example.com/markets/acme-cuts-guidance#comments",
        "https://news.example.com:443/markets/acme-cuts-guidance",
        "https://news.example.com/markets/acme-cuts-guidance?utm_source=x&utm_medium=rss",
        "https://news.example.com/markets/acme-cuts-guidance?fbclid=abc&gclid=def",
        "https://news.example.com/markets/acme-cuts-guidance?UTM_Campaign=spring&mc_cid=1",
        "  https://news.example.com/markets/acme-cuts-guidance  ",
    ],
)
def test_variants_of_one_article_share_its_canonical_url(variant: str) -> None:
    assert url_canonical(variant) == CANONICAL


def test_query_parameters_that_name_the_article_are_kept_in_a_stable_order() -> None:
    first = url_canonical("https://n.example/story?id=7&page=2&utm_source=rss")
    second = url_canonical("https://n.example/story?page=2&id=7")
    assert first == second == "https://n.example/story?id=7&page=2"


def test_different_articles_keep_different_urls() -> None:
    assert url_canonical("https://n.example/story?id=7") != url_canonical(
        "https://n.example/story?id=8"
    )
    assert url_canonical("https://n.example/a") != url_canonical("https://n.example/b")


def test_path_case_scheme_and_non_default_port_are_kept() -> None:
    assert url_canonical("http://N.example:8080/Story/") == "http://n.example:8080/Story"
    assert url_canonical("http://n.example/x") != url_canonical("https://n.example/x")


def test_root_keeps_its_slash_and_empty_stays_empty() -> None:
    assert url_canonical("https://N.example") == "https://n.example/"
    assert url_canonical("https://n.example/") == "https://n.example/"
    assert url_canonical("") == ""
