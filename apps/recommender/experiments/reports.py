"""A/B report: what each variant's impressions led to, with intervals and a verdict.

Attribution is last touch: a click or purchase of item X by a user counts for that user's most
recent impression in this experiment that showed X, at or before the event and no more than the
experiment's attribution window earlier. So one event counts once, for one variant.

Rates and their units (the two-proportion test needs independent yes/no trials):
- CTR: impressions with at least one attributed click / impressions;
- conversion: exposed users with at least one attributed purchase / exposed users (users are
  what is randomised, so a user who buys twice is still one success).
Counting happens in SQL (one aggregate query per side); Python only does the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Count, Max, Min

from apps.recommender.experiments.stats import Comparison, Proportion, compare, proportion
from apps.recommender.models import Event, EventType, Experiment, Impression, Variant


@dataclass(frozen=True)
class VariantFigures:
    variant_id: int
    name: str
    strategy: str
    model_version: str | None
    traffic_share: float
    is_control: bool
    impressions: int
    users: int
    clicks: int  # attributed click events
    purchases: int  # attributed purchase events
    ctr: Proportion  # clicked impressions / impressions
    conversion: Proportion  # buying users / exposed users
    ctr_vs_control: Comparison | None
    conversion_vs_control: Comparison | None


@dataclass(frozen=True)
class ExperimentReport:
    experiment_id: int
    name: str
    status: str
    attribution_window_hours: int
    first_impression_at: datetime | None
    last_impression_at: datetime | None
    variants: list[VariantFigures]

    @property
    def control(self) -> VariantFigures | None:
        return next((v for v in self.variants if v.is_control), None)

    def chart_data(self) -> dict:
        """Rates and interval bounds in percent, per variant, for the report page's chart."""
        return {
            "labels": [v.name for v in self.variants],
            "ctr": [_percent_bar(v.ctr) for v in self.variants],
            "conversion": [_percent_bar(v.conversion) for v in self.variants],
        }


def _percent_bar(value: Proportion) -> dict[str, float]:
    return {
        "rate": round(100 * value.rate, 3),
        "low": round(100 * value.low, 3),
        "high": round(100 * value.high, 3),
    }


@dataclass(frozen=True)
class _Attributed:
    clicks: int = 0
    clicked_impressions: int = 0
    purchases: int = 0
    buyers: int = 0


def experiment_report(*, experiment: Experiment) -> ExperimentReport:
    """Figures per variant; the first variant (lowest id) is the control the others face."""
    variants = list(experiment.variants.select_related("model_version").order_by("id"))
    shown = {
        row["variant_id"]: row
        for row in Impression.objects.filter(variant__experiment=experiment)
        .values("variant_id")
        .annotate(impressions=Count("id"), users=Count("user_id", distinct=True))
        .order_by()
    }
    span = Impression.objects.filter(variant__experiment=experiment).aggregate(
        first=Min("shown_at"), last=Max("shown_at")
    )
    attributed = (
        _attributed_per_variant(experiment, first=span["first"], last=span["last"])
        if span["first"] is not None
        else {}
    )
    control_name = variants[0].name if variants else ""
    control_ctr = control_conversion = None
    figures = []
    for index, variant in enumerate(variants):
        counts = shown.get(variant.id, {"impressions": 0, "users": 0})
        touches = attributed.get(variant.id, _Attributed())
        ctr = proportion(touches.clicked_impressions, counts["impressions"])
        conversion = proportion(touches.buyers, counts["users"])
        if index == 0:
            control_ctr, control_conversion = ctr, conversion
        figures.append(
            VariantFigures(
                variant_id=variant.id,
                name=variant.name,
                strategy=variant.get_strategy_display(),
                model_version=str(variant.model_version) if variant.model_version else None,
                traffic_share=variant.traffic_share,
                is_control=index == 0,
                impressions=counts["impressions"],
                users=counts["users"],
                clicks=touches.clicks,
                purchases=touches.purchases,
                ctr=ctr,
                conversion=conversion,
                ctr_vs_control=None
                if index == 0
                else compare(
                    control_name=control_name,
                    control=control_ctr,
                    variant_name=variant.name,
                    variant=ctr,
                ),
                conversion_vs_control=None
                if index == 0
                else compare(
                    control_name=control_name,
                    control=control_conversion,
                    variant_name=variant.name,
                    variant=conversion,
                ),
            )
        )
    return ExperimentReport(
        experiment_id=experiment.id,
        name=experiment.name,
        status=experiment.get_status_display(),
        attribution_window_hours=experiment.attribution_window_hours,
        first_impression_at=span["first"],
        last_impression_at=span["last"],
        variants=figures,
    )


# Per database: "the event's item is in the impression's item list" and "the impression was
# shown no earlier than the window before the event" (jsonb containment / json_each; interval
# arithmetic / julianday, since SQLite keeps datetimes as text).
_DIALECTS = {
    "postgresql": {
        "item_shown": "i.item_ids @> to_jsonb(e.item_id)",
        "shown_before": "i.shown_at <= e.occurred_at",
        "within_window": "i.shown_at >= e.occurred_at - %(window)s",
    },
    "sqlite": {
        "item_shown": "EXISTS (SELECT 1 FROM json_each(i.item_ids) AS j WHERE j.value = e.item_id)",
        "shown_before": "julianday(i.shown_at) <= julianday(e.occurred_at)",
        "within_window": "julianday(i.shown_at) >= julianday(e.occurred_at) - %(window)s",
    },
}


def _attributed_per_variant(
    experiment: Experiment, *, first: datetime, last: datetime
) -> dict[int, _Attributed]:
    """One query: each click/purchase of an exposed user -> its last-touch impression's variant."""
    dialect = _DIALECTS.get(connection.vendor)
    if dialect is None:
        # The attribution query is written per SQL dialect; the project runs on these two only.
        raise ImproperlyConfigured(
            f"A/B reports run on PostgreSQL or SQLite, not {connection.vendor}"
        )
    window = timedelta(hours=experiment.attribution_window_hours)
    window_param = window if connection.vendor == "postgresql" else window.total_seconds() / 86400
    impression = Impression._meta.db_table
    event = Event._meta.db_table
    variant = Variant._meta.db_table
    conditions = {key: sql % {"window": "%s"} for key, sql in dialect.items()}
    sql = f"""
        WITH arms AS (SELECT id FROM {variant} WHERE experiment_id = %s),
        touches AS (
            SELECT e.type AS type, e.user_id AS user_id, (
                SELECT i.id FROM {impression} AS i
                WHERE i.variant_id IN (SELECT id FROM arms)
                  AND i.user_id = e.user_id
                  AND {conditions["shown_before"]}
                  AND {conditions["within_window"]}
                  AND {conditions["item_shown"]}
                ORDER BY i.shown_at DESC, i.id DESC
                LIMIT 1
            ) AS impression_id
            FROM {event} AS e
            WHERE e.client_id = %s
              AND e.type IN (%s, %s)
              AND e.occurred_at >= %s AND e.occurred_at <= %s
              AND e.user_id IN (
                  SELECT x.user_id FROM {impression} AS x
                  WHERE x.variant_id IN (SELECT id FROM arms)
              )
        )
        SELECT i.variant_id,
               SUM(CASE WHEN t.type = %s THEN 1 ELSE 0 END),
               COUNT(DISTINCT CASE WHEN t.type = %s THEN t.impression_id END),
               SUM(CASE WHEN t.type = %s THEN 1 ELSE 0 END),
               COUNT(DISTINCT CASE WHEN t.type = %s THEN t.user_id END)
        FROM touches AS t JOIN {impression} AS i ON i.id = t.impression_id
        GROUP BY i.variant_id
    """  # noqa: S608 - table names come from the models, values are parameters
    click, purchase = EventType.CLICK.value, EventType.PURCHASE.value
    params = [
        experiment.id,
        window_param,
        experiment.client_id,
        click,
        purchase,
        connection.ops.adapt_datetimefield_value(first),
        connection.ops.adapt_datetimefield_value(last + window),
        click,
        click,
        purchase,
        purchase,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        variant_id: _Attributed(
            clicks=int(clicks),
            clicked_impressions=int(clicked),
            purchases=int(purchases),
            buyers=int(buyers),
        )
        for variant_id, clicks, clicked, purchases, buyers in rows
    }
