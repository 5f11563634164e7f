"""The demo shop: server-rendered product pages whose recommendation rows the browser fetches
from the REST API with the demo client's key, as a real shop front-end would.

The shopper is known by a cookie (`shop_user`), made on the first visit; the page's script sends
their views and clicks to the events API, so the "for you" row follows what they do.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import get_script_prefix, reverse

from apps.recommender.demo_data import demo_shop_client, demo_shop_key
from apps.recommender.models import ShopClient
from apps.recommender.shop_selectors import shop_categories, shop_product, shop_products

USER_COOKIE = "shop_user"
USER_COOKIE_MAX_AGE_S = 365 * 24 * 3600
LIST_PAGE_SIZE = 60
API_PATH = "api/recommender/"  # where apps/recommender/urls.py mounts the client API


def _client_or_404() -> ShopClient:
    client = demo_shop_client()
    if client is None:
        raise Http404("The demo shop is off (RECOMMENDER_DEMO_SHOP) or its data is not loaded.")
    return client


def _shopper_id(request: HttpRequest) -> tuple[str, bool]:
    """The shopper's id from the cookie, or a new one (True: set the cookie)."""
    user_id = request.COOKIES.get(USER_COOKIE, "")
    if user_id and len(user_id) <= 64 and user_id.replace("-", "").isalnum():
        return user_id, False
    return f"shopper-{secrets.token_hex(6)}", True


def _page(
    request: HttpRequest, template: str, client: ShopClient, **context: object
) -> HttpResponse:
    user_id, is_new = _shopper_id(request)
    item = context.get("product")
    context["shop"] = {
        "api": get_script_prefix() + API_PATH,
        "key": demo_shop_key(client.name),
        "user_id": user_id,
        "item_id": item.external_id if item is not None else None,
        "product_url": reverse("recommender:shop-product", args=["__id__"]),
    }
    context.update(client=client, user_id=user_id, categories=shop_categories(client=client))
    response = render(request, template, context)
    if is_new:
        response.set_cookie(
            USER_COOKIE,
            user_id,
            max_age=USER_COOKIE_MAX_AGE_S,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def shop_home(request: HttpRequest) -> HttpResponse:
    client = _client_or_404()
    category = request.GET.get("category", "")
    products = list(shop_products(client=client, category=category)[:LIST_PAGE_SIZE])
    return _page(
        request,
        "recommender/shop/home.html",
        client,
        products=products,
        category=category,
        product=None,
    )


def shop_product_page(request: HttpRequest, external_id: str) -> HttpResponse:
    client = _client_or_404()
    product = shop_product(client=client, external_id=external_id)
    if product is None:
        raise Http404("No such product in the demo shop.")
    return _page(request, "recommender/shop/product.html", client, product=product)
