"""factory_boy factories for the sentiment models; shared by every sentiment test module."""

from __future__ import annotations

import hashlib

import factory
from django.utils import timezone

from apps.sentiment.models import Article, FeedSource, Topic, TopicMatch


class FeedSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedSource

    name = factory.Sequence(lambda n: f"Wire {n}")
    url = factory.Sequence(lambda n: f"http://127.0.0.1:9/feed-{n}.xml")
    poll_interval_s = 300


class ArticleFactory(factory.django.DjangoModelFactory):
    """An unscored article published now; its hash and canonical URL follow its number."""

    class Meta:
        model = Article

    title = factory.Sequence(lambda n: f"Company {n} reports quarterly results")
    body = ""
    url = factory.Sequence(lambda n: f"https://news.example.com/a/{n}")
    canonical_url = factory.SelfAttribute("url")
    content_hash = factory.LazyAttribute(lambda a: hashlib.sha256(a.title.encode()).hexdigest())
    published_at = factory.LazyFunction(timezone.now)
    language = "en"


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")
    kind = Topic.Kind.COMPANY
    aliases = factory.LazyAttribute(lambda t: [t.name])
    tickers = factory.LazyFunction(list)
    keywords = factory.LazyFunction(list)


class TopicMatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TopicMatch

    topic = factory.SubFactory(TopicFactory)
    article = factory.SubFactory(ArticleFactory)
    method = TopicMatch.Method.ALIAS
    matched_text = factory.LazyAttribute(lambda m: m.topic.name)
    published_at = factory.LazyAttribute(lambda m: m.article.published_at)
