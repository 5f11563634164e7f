"""Shops (API clients), their catalogues and users' events, and A/B experiments."""

from apps.recommender.models.catalog import Event, EventType, Item, ShopClient, ShopUser
from apps.recommender.models.experiments import Experiment, Impression, Variant

__all__ = [
    "Event",
    "EventType",
    "Experiment",
    "Impression",
    "Item",
    "ShopClient",
    "ShopUser",
    "Variant",
]
