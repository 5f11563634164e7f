"""Who may see the monitor: staff in the "analyst" group (and superusers), nobody else.

Chat agents are staff too, so being staff is not enough; customers are not staff at all.
Pages send anonymous visitors to the login page and answer 403 to signed-in non-analysts;
the JSON endpoints answer 403 in the API's error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

ANALYST_GROUP = "analyst"
# What the group may do in admin: read the monitor's data and correct the model's labels.
ANALYST_PERMISSIONS = (
    ("sentiment", "view_article"),
    ("sentiment", "view_topic"),
    ("sentiment", "view_alert"),
    ("sentiment", "view_articlelabel"),
    ("sentiment", "add_articlelabel"),
    ("sentiment", "change_articlelabel"),
    ("registry", "view_modelversion"),  # compare sentiment versions before a promotion
)


def is_analyst(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.is_staff and user.groups.filter(name=ANALYST_GROUP).exists()


def analyst_group_ensure(**_kwargs: Any) -> Group:
    """Create the group with its permissions if missing; run after every migrate (idempotent)."""
    group, _ = Group.objects.get_or_create(name=ANALYST_GROUP)
    for app_label, codename in ANALYST_PERMISSIONS:
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is not None:
            group.permissions.add(permission)
    return group


def analyst_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Page decorator: login page for anonymous visitors, 403 for signed-in non-analysts."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_analyst(request.user):
            raise PermissionDenied("The sentiment monitor is for analysts")
        return view(request, *args, **kwargs)

    return wrapped


class IsAnalyst(BasePermission):
    message = "The sentiment monitor is for analysts."

    def has_permission(self, request: HttpRequest, view: Any) -> bool:
        return is_analyst(request.user)
