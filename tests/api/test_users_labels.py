"""GET /v1/users and GET /v1/labels: results, pagination links, and bad parameters."""

from __future__ import annotations

import pytest
from django.test import Client

from todo.models.documents import Label
from todo.repositories.factory import get_repository

pytestmark = pytest.mark.django_db(transaction=True)


def test_profile_is_the_signed_in_user(api: Client, user) -> None:
    data = api.get("/v1/users", {"profile": "true"}).json()["data"]
    assert (data["id"], data["name"], data["email"]) == (user.id, "Ada", "ada@example.com")


def test_user_search_is_literal_case_insensitive_and_paginated(api: Client, make_user) -> None:
    for name in ("Grace", "Gracie", "G.race", "Linus"):
        make_user(name)
    body = api.get("/v1/users", {"search": "GRAC", "limit": 1}).json()
    assert [u["name"] for u in body["users"]] == ["Grace"] and body["total"] == 2
    assert body["links"]["prev"] is None and "page=2" in body["links"]["next"]
    second = api.get(body["links"]["next"]).json()
    assert [u["name"] for u in second["users"]] == ["Gracie"] and second["links"]["next"] is None
    assert [u["name"] for u in api.get("/v1/users", {"search": "g.r"}).json()["users"]] == ["G.race"]
    assert api.get("/v1/users", {"search": ".*"}).json()["users"] == []


def test_labels_sorted_by_name_without_deleted_ones(api: Client) -> None:
    labels = get_repository(Label)
    for name, color in (("Bug", "#ef4444"), ("API", "#3b82f6"), ("Old", "#000000")):
        made = labels.create({"name": name, "color": color})
    labels.update(made.id, {"isDeleted": True})
    body = api.get("/v1/labels").json()
    assert [(x["name"], x["color"]) for x in body["labels"]] == [("API", "#3b82f6"), ("Bug", "#ef4444")]
    assert body["total"] == 2
    assert [x["name"] for x in api.get("/v1/labels", {"search": "bu"}).json()["labels"]] == ["Bug"]


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/v1/users", {"limit": "0"}, "limit"),
        ("/v1/users", {"limit": "201"}, "limit"),
        ("/v1/users", {"page": "0"}, "page"),
        ("/v1/users", {"page": "-1"}, "page"),
        ("/v1/users", {"page": "1e9"}, "page"),
        ("/v1/users", {"profile": "yes"}, "profile"),
        ("/v1/users", {"search": "x" * 201}, "search"),
        ("/v1/labels", {"limit": "abc"}, "limit"),
        ("/v1/labels", {"search": "a\x00b"}, "search"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(
    api: Client, path: str, params: dict, parameter: str
) -> None:
    response = api.get(path, params)
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert [e["source"] for e in body["errors"]] == [{"parameter": parameter}]


def test_lists_need_sign_in() -> None:
    assert Client().get("/v1/labels").status_code == 401
    assert Client().get("/v1/users?search=a").status_code == 401
