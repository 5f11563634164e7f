"""Analyst pages: topics overview, one topic's timeline, the labelling queue.

Each page renders its first data into the HTML (json_script) so it draws without a second
request; the page scripts refresh from the JSON endpoints in apps.sentiment.dashboard.api.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from apps.sentiment import labelling, selectors
from apps.sentiment.access import analyst_required
from apps.sentiment.dashboard.api import TimelineQuerySerializer
from apps.sentiment.models import Topic

# Pages of other parts that the analyst pages link to when they exist (title, URL name).
RELATED_PAGES = (
    ("Topics in admin", "admin:sentiment_topic_changelist"),
    ("Alerts in admin", "admin:sentiment_alert_changelist"),
    ("Received mail", "sentiment:mailbox"),
)
MODEL_PAGES = (
    ("Train and compare sentiment versions", "admin:sentiment_model_versions"),
    ("Labels in admin", "admin:sentiment_articlelabel_changelist"),
    ("Sentiment model versions", "admin:registry_modelversion_changelist"),
)


def _links(pages: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    links = []
    for title, name in pages:
        try:
            links.append({"title": title, "url": reverse(name)})
        except NoReverseMatch:
            continue
    return links


@require_GET
@analyst_required
def overview(request: HttpRequest) -> HttpResponse:
    states = selectors.topics_overview()
    return render(
        request,
        "sentiment/overview.html",
        {
            "states": states,
            "overview_data": {"topics": [s.to_dict() for s in states]},
            "links": _links(RELATED_PAGES),
        },
    )


@require_GET
@analyst_required
def topic_detail(request: HttpRequest, slug: str) -> HttpResponse:
    topic = get_object_or_404(Topic, slug=slug)
    query = TimelineQuerySerializer(data=request.GET)
    if not query.is_valid():
        return HttpResponseBadRequest(
            f"Unknown range; choose one of {', '.join(selectors.TIME_RANGES)}"
        )
    page = selectors.topic_page(
        topic=topic,
        range_key=query.validated_data["range"],
        source=query.validated_data["source"],
    )
    return render(
        request,
        "sentiment/topic.html",
        {
            "topic": topic,
            "page": page,
            "data": page.to_dict(),
            "ranges": selectors.TIME_RANGES.values(),
            "selected_range": query.validated_data["range"],
            "selected_source": query.validated_data["source"],
            "links": _links(RELATED_PAGES),
        },
    )


@require_GET
@analyst_required
def labelling_queue(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "sentiment/labelling.html",
        {
            "queue_data": {
                "items": [i.to_dict() for i in labelling.labelling_queue(limit=5)],
                "progress": labelling.labelling_progress().to_dict(),
            },
            "recent": labelling.labels_recent(),
            "links": _links(MODEL_PAGES),
        },
    )
