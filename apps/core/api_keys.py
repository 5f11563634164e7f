"""Per-client API keys for machine clients (news pushers, shop front-ends).

Only a SHA-256 of a key is stored; the key itself is shown once, when it is made. Clients send it
in a header; an app subclasses `ApiKeyBase` for its own clients and `ApiKeyAuthentication` to read
its header, so each app's clients stay its own.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

KEY_PREFIX_LENGTH = 8


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyBase(models.Model):
    name = models.CharField(max_length=200, unique=True)
    key_prefix = models.CharField(
        max_length=KEY_PREFIX_LENGTH, editable=False, help_text="First characters of the key"
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…)"

    @classmethod
    def create_with_key(cls, *, name: str, **fields: Any) -> tuple[ApiKeyBase, str]:
        """A new client and its key; the key is not stored and cannot be shown again."""
        key = secrets.token_urlsafe(32)
        client = cls.objects.create(
            name=name, key_prefix=key[:KEY_PREFIX_LENGTH], key_hash=api_key_hash(key), **fields
        )
        return client, key

    def rotate_key(self) -> str:
        key = secrets.token_urlsafe(32)
        self.key_prefix = key[:KEY_PREFIX_LENGTH]
        self.key_hash = api_key_hash(key)
        self.save(update_fields=["key_prefix", "key_hash"])
        return key


class ApiKeyClient:
    """What `request.user` is for a machine client: authenticated, not a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, client: ApiKeyBase) -> None:
        self.client = client
        self.pk = None

    def __str__(self) -> str:
        return str(self.client)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Subclass with `model` and `header` (e.g. "X-Api-Key"); `request.auth` is the client row."""

    model: ClassVar[type[ApiKeyBase]]
    header: ClassVar[str] = "X-Api-Key"

    def authenticate(self, request: Any) -> tuple[ApiKeyClient, ApiKeyBase] | None:
        key = request.headers.get(self.header)
        if not key:
            return None
        client = self.model.objects.filter(key_hash=api_key_hash(key.strip())).first()
        if client is None or not client.active:
            raise exceptions.AuthenticationFailed(f"the {self.header} header holds no active key")
        now = timezone.now()
        if client.last_used_at is None or (now - client.last_used_at).total_seconds() > 60:
            type(client).objects.filter(pk=client.pk).update(last_used_at=now)
        return ApiKeyClient(client), client

    def authenticate_header(self, request: Any) -> str:
        return self.header


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents every ApiKeyAuthentication subclass in the OpenAPI schema as an API-key header."""

    target_class = "apps.core.api_keys.ApiKeyAuthentication"
    match_subclasses = True
    priority = -1

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": self.target.header}

    def get_security_requirement(self, auto_schema: Any) -> dict[str, list[str]]:
        return {self.name: []}

    @property
    def name(self) -> str:  # one scheme per subclass (each app's header)
        target = self.target if isinstance(self.target, type) else type(self.target)
        return target.__name__
