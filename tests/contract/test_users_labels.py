"""Sections 4-5 of the contract: the profile, the user search of "add teammates", and the labels
of the task form, exactly as the client reads them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tests.contract.conftest import browser, call
from todo.models.documents import Label, User
from todo.repositories.factory import get_repository
from todo.services.seed_service import seed_reference_data

pytestmark = pytest.mark.django_db(transaction=True)


def test_profile_is_the_signed_in_user_in_the_clients_shape(signed_in: Any) -> None:
    ada, client = signed_in("Ada")
    response = call(client, "get", "/v1/users?profile=true")
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "message": "Current user details fetched successfully",
        "data": {"id": ada.id, "name": "Ada", "email": "ada@example.com", "picture": ""},
    }
    assert call(browser(), "get", "/v1/users?profile=true").status_code == 401


def test_profile_picture_is_the_avatar_url(make_user: Any) -> None:
    lin = make_user("Lin")
    get_repository(User).update(lin.id, {"picture": "https://p.example/lin.png"})
    data = call(browser(lin), "get", "/v1/users?profile=true").json()["data"]
    assert data["picture"] == "https://p.example/lin.png"


def test_user_search_matches_name_or_email_in_any_case_sorted_by_name(signed_in: Any, make_user: Any) -> None:
    _, client = signed_in("Ada")
    grace = make_user("Grace", "grace@example.com")
    make_user("Zed", "zed.grac@example.com")
    make_user("Linus", "linus@example.com")
    response = call(client, "get", "/v1/users?search=GRAC")
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Users fetched successfully"
    data = body["data"]
    assert data["users"] == [
        {"id": grace.id, "name": "Grace", "email": "grace@example.com"},
        {"id": data["users"][1]["id"], "name": "Zed", "email": "zed.grac@example.com"},
    ]
    assert (data["total_count"], data["page"], data["limit"]) == (2, 1, 10)
    # Literal, not a pattern.
    assert call(client, "get", "/v1/users?search=.*.").json()["data"]["users"] == []


def test_user_search_pages(signed_in: Any, make_user: Any) -> None:
    _, client = signed_in("Ada")
    for name in ("Grace", "Gracie", "Graciela"):
        make_user(name)
    second = call(client, "get", "/v1/users?search=grac&page=2&limit=2").json()["data"]
    assert [u["name"] for u in second["users"]] == ["Graciela"]
    assert (second["total_count"], second["page"], second["limit"]) == (3, 2, 2)


def test_labels_are_the_seeded_defaults_in_one_call(signed_in: Any) -> None:
    _, client = signed_in()
    seed_reference_data()
    response = call(client, "get", "/v1/labels")
    assert response.status_code == 200
    labels = response.json()["labels"]
    assert len(labels) == 8 == response.json()["total"]  # every default label in the first page
    assert [x["name"] for x in labels] == sorted(x["name"] for x in labels)
    for label in labels:
        assert set(label) >= {"id", "name", "color"}
        assert re.fullmatch(r"#[0-9a-fA-F]{6}", label["color"]), label["color"]


def test_deleted_labels_are_not_offered(signed_in: Any) -> None:
    _, client = signed_in()
    labels = get_repository(Label)
    for name, color in (("Bug", "#ef4444"), ("API", "#3b82f6"), ("Old", "#000000")):
        made = labels.create({"name": name, "color": color})
    labels.update(made.id, {"isDeleted": True})
    body = call(client, "get", "/v1/labels").json()
    assert [(x["name"], x["color"]) for x in body["labels"]] == [("API", "#3b82f6"), ("Bug", "#ef4444")]
    assert body["total"] == 2 and body["error"] is None
    assert [x["name"] for x in call(client, "get", "/v1/labels?search=bu").json()["labels"]] == ["Bug"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/users?search=abc&limit=0", "limit"),
        ("/v1/users?search=abc&limit=101", "limit"),
        ("/v1/users?search=abc&page=0", "page"),
        ("/v1/users?search=abc&page=1e9", "page"),
        ("/v1/users", "search"),
        ("/v1/users?search=ab", "search"),
        ("/v1/users?profile=yes", "profile"),
        ("/v1/users?search=" + "x" * 201, "search"),
        ("/v1/labels?limit=abc", "limit"),
        ("/v1/labels?search=a%00b", "search"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(signed_in: Any, path: str, parameter: str) -> None:
    _, client = signed_in()
    response = call(client, "get", path)
    assert response.status_code == 400
    assert [e["source"] for e in response.json()["errors"]] == [{"parameter": parameter}]


def test_lists_need_sign_in(mongo_db: Any) -> None:
    assert Client().get("/v1/labels").status_code == 401
    assert Client().get("/v1/users?search=abc").status_code == 401
