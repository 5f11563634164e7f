"""The demo shop page."""

from __future__ import annotations

from django.urls import path

from apps.recommender import shop_views

urlpatterns: list = [
    path("", shop_views.shop_home, name="shop"),
    path("p/<str:external_id>/", shop_views.shop_product_page, name="shop-product"),
]
