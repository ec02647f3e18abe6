"""todo/api/domain_errors.py: a domain error becomes the common error body, with its kind's status
and each input it names found where the view says, else in the URL, else in the body."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from todo.api.domain_errors import error_sources, in_path, in_query
from todo.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Inconsistent,
    Invalid,
    NotFound,
    Problem,
)


class Probe(APIView):
    """Raises the error it is made with; GET declares where two of its inputs are, POST nothing."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    error: DomainError = DomainError("unset")

    @error_sources(task_id=in_path("id"), team_id=in_query("teamId"))
    def get(self, request: Request, **url: str) -> Response:
        raise self.error

    def post(self, request: Request, **url: str) -> Response:
        raise self.error


def answer(method: str, error: DomainError, **url: str) -> tuple[int, Any]:
    request = getattr(APIRequestFactory(), method)("/probe")
    response = Probe.as_view(error=error)(request, **url)
    return response.status_code, response.data


@pytest.mark.parametrize(
    ("error", "status"),
    [(NotFound("gone"), 404), (Forbidden("gone"), 403), (Conflict("gone"), 409), (Invalid("gone"), 400),
     (Inconsistent("gone"), 422)],
)  # fmt: skip
def test_each_kind_has_its_status_and_no_entries_without_an_input(error: DomainError, status: int) -> None:
    assert answer("post", error) == (status, {"statusCode": status, "message": "gone", "errors": []})


def test_an_input_is_named_where_the_view_says_else_in_the_url_else_in_the_body() -> None:
    error = NotFound(
        "Several",
        problems=[Problem("task_id", "T", "t"), Problem("team_id", "U", "u"), Problem("dueAt", "V", "v")],
    )
    declared = [{"path": "id"}, {"parameter": "teamId"}, {"pointer": "dueAt"}]
    undeclared = [{"path": "task_id"}, {"pointer": "team_id"}, {"pointer": "dueAt"}]
    for method, found in (("get", declared), ("post", undeclared)):
        status, data = answer(method, error, task_id="abc")
        assert status == 404 and [e["source"] for e in data["errors"]] == found, method
    assert [(e["title"], e["detail"]) for e in data["errors"]] == [("T", "t"), ("U", "u"), ("V", "v")]


def test_the_wordings_of_the_error_helpers() -> None:
    def entry(source: dict[str, str], title: str, detail: str) -> list[dict[str, Any]]:
        return [{"source": source, "title": title, "detail": detail}]

    cases = [
        (NotFound.no_such("Watchlist entry", "task_id"), 404, "Watchlist entry not found",
         entry({"path": "id"}, "Not found", "No such watchlist entry")),
        (Forbidden.not_allowed("Only the creator", "task_id"), 403, "Not allowed",
         entry({"path": "id"}, "Forbidden", "Only the creator")),
        (Conflict.with_state("Already done", "status"), 409, "Already done",
         entry({"pointer": "status"}, "Conflict", "Already done")),
        (Invalid.value("title", "must not be blank"), 400, "Invalid title",
         entry({"pointer": "title"}, "Invalid value", "must not be blank")),
        (Inconsistent.value("deferredTill", "too late"), 422, "Invalid deferredTill",
         entry({"pointer": "deferredTill"}, "Invalid value", "too late")),
        (Forbidden("Only members of this team may see it", about="team_id"), 403,
         "Only members of this team may see it",
         entry({"parameter": "teamId"}, "Only members of this team may see it", "Only members of this team may see it")),
    ]  # fmt: skip
    for error, status, message, errors in cases:
        assert answer("get", error, task_id="abc") == (
            status,
            {"statusCode": status, "message": message, "errors": errors},
        )


def test_a_unique_key_no_service_expected_is_a_conflict_naming_the_fields_not_the_values() -> None:
    from todo.repositories.errors import DuplicateKey

    class Colliding(Probe):
        def post(self, request: Request, **url: str) -> Response:
            raise DuplicateKey("watchlists", ("userId", "taskId"))

    response = Colliding.as_view()(APIRequestFactory().post("/probe"))
    assert (response.status_code, response.data) == (
        409,
        {
            "statusCode": 409,
            "message": "Conflict",
            "errors": [
                {
                    "source": {"pointer": "body"},
                    "title": "Conflict",
                    "detail": "another record already holds the same userId, taskId",
                }
            ],
        },
    )
