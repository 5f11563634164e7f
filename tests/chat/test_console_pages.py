"""The console and demo pages: who may open them, and what they embed."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_console_sends_anonymous_users_to_the_admin_login(client):
    response = client.get("/chat/console/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=/chat/console/")


def test_console_refuses_non_staff(client):
    user = get_user_model().objects.create_user("bob", password="pw-bob-123456")
    client.force_login(user)
    assert client.get("/chat/console/").status_code == 302


def test_console_renders_for_staff(client):
    user = get_user_model().objects.create_user("ann", password="pw-ann-123456", is_staff=True)
    client.force_login(user)
    response = client.get("/chat/console/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="waiting-list"' in body and "/static/chat/console.js" in body
    assert 'data-username="ann"' in body


def test_demo_page_embeds_the_widget_with_one_script_tag(client):
    response = client.get("/chat/demo/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("<script") == 1
    assert 'src="http://testserver/static/chat/widget.js"' in body
    assert 'data-server="http://testserver"' in body


@pytest.mark.parametrize(
    "path", ["/static/chat/widget.js", "/static/chat/widget.css", "/static/chat/console.js"]
)
def test_widget_and_console_assets_are_served_by_the_project(client, path):
    response = client.get(path)
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"innerHTML" not in content  # message text goes into the page as text only


def test_home_page_links_the_chat_pages(client):
    body = client.get("/").content.decode()
    assert "/chat/demo/" in body and "/chat/console/" in body
