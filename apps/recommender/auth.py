"""Shop front-ends authenticate with their ShopClient key in the `X-Api-Key` header."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from apps.core.api_keys import ApiKeyAuthentication
from apps.recommender.models import ShopClient


class ShopClientKeyAuthentication(ApiKeyAuthentication):
    """`request.auth` is the ShopClient; every query of a view is filtered by it."""

    model = ShopClient
    header = "X-Api-Key"


class IsShopClient(BasePermission):
    """Only a request carrying a ShopClient key: a staff session has no catalogue of its own."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.auth, ShopClient)
