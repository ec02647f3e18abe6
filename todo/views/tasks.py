"""Tasks: GET/POST /v1/tasks, GET/PATCH/DELETE /v1/tasks/{id}, PATCH /v1/tasks/{id}/update,
PATCH /v1/tasks/{id}/assign.

Thin views: they read parameters and the body (todo.api.task_serializers), call one service
function (todo.selectors.tasks for reads, todo.services.task_service / task_assignment_service
for writes) and shape the response as the web
client reads it (docs/frontend-contract.md section 6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import task_serializers
from todo.api.domain_errors import error_sources, in_path, in_query
from todo.api.fields import validated
from todo.api.params import invalid, object_id, page_and_limit, paginated
from todo.auth.authentication import signed_in
from todo.models.enums import TaskStatus
from todo.selectors import tasks as task_selectors
from todo.services import task_assignment_service, task_service
from todo.views.task_assignments import assignment_response

# Errors about the task of the URL name it `id`, as the contract does (the URL's argument is task_id).
task_id_is_id = error_sources(task_id=in_path("id"))


def choice(request: Request, name: str, choices: Sequence[str], *, any_case: bool = False) -> str | None:
    """An optional query parameter that must be one of `choices` (absent or empty: None); with
    `any_case` the value is matched ignoring case and returned as spelled in `choices`."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    spelled = {c.upper(): c for c in choices} if any_case else {c: c for c in choices}
    found = spelled.get(raw.upper() if any_case else raw)
    if found is None:
        raise invalid(name, f"must be one of {', '.join(choices)}")
    return found


def task_list_body(
    request: Request, found: list[task_selectors.TaskDetails], page: int, limit: int, more: bool
) -> dict[str, Any]:
    """{links, error: null, tasks: [Task], page, limit}: uncounted (the client reads only `tasks`)."""
    items = [task_serializers.task_details(x) for x in found]
    body = paginated(request, "tasks", items, page, limit, more=more)
    return {**body, "error": None}


class TasksView(APIView):
    @error_sources(team_id=in_query("teamId"))
    @extend_schema(
        parameters=[
            OpenApiParameter("teamId", str, description="that team's tasks (members only)"),
            OpenApiParameter(
                "status",
                str,
                enum=TaskStatus.values,
                description="case-insensitive. None: not DONE and not deferred; DONE: every task not "
                "deferred; DEFERRED: deferred tasks only; others: the tasks showing that status",
            ),
            OpenApiParameter("sort_by", str, enum=list(task_selectors.SORT_FIELDS)),
            OpenApiParameter("order", str, enum=["asc", "desc"]),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
        ],
        responses={200: task_serializers.TaskListOut},
        operation_id="tasks_list",
        summary="Tasks assigned to me or to teams I am the point of contact of; or a team's tasks",
    )
    def get(self, request: Request) -> Response:
        team = request.query_params.get("teamId", "")
        page, limit = page_and_limit(request)
        found, more = task_selectors.task_list(
            actor=signed_in(request).id,
            team_id=object_id(team, "teamId", "parameter") if team else None,
            status=choice(request, "status", TaskStatus.values, any_case=True),
            sort_by=choice(request, "sort_by", task_selectors.SORT_FIELDS),
            order=choice(request, "order", ("asc", "desc")),
            page=page,
            limit=limit,
        )
        return Response(task_list_body(request, found, page, limit, more))

    @extend_schema(
        request=task_serializers.TaskCreateSerializer,
        responses={201: task_serializers.TaskCreatedOut},
        summary="Create a task",
    )
    def post(self, request: Request) -> Response:
        body = validated(task_serializers.TaskCreateSerializer, request.data)
        # The body's other keys are the new task's document keys (TaskCreateSerializer names them so).
        timezone, assignee, team_id = (body.pop(key, None) for key in ("timezone", "assignee", "team_id"))
        created = task_service.task_create(
            actor=signed_in(request).id, fields=body, timezone=timezone, assignee=assignee, team_id=team_id
        )
        return Response(
            {
                "statusCode": 201,
                "successMessage": "Task created successfully",
                "data": task_serializers.task_details(created),
            },
            status=http.HTTP_201_CREATED,
        )


class TaskDetailView(APIView):
    @task_id_is_id
    @extend_schema(
        responses={200: task_serializers.TaskEnvelopeOut}, operation_id="task_retrieve", summary="A task"
    )
    def get(self, request: Request, task_id: str) -> Response:
        found = task_selectors.task_get(task_id=object_id(task_id, "id"), viewer=signed_in(request).id)
        return Response({"statusCode": 200, "data": task_serializers.task_details(found)})

    @task_id_is_id
    @extend_schema(
        parameters=[OpenApiParameter("action", str, enum=["defer"])],
        request=task_serializers.TaskUpdateSerializer,
        responses={200: task_serializers.TaskOut},
        summary="Change a task (creator or assignee); `?action=defer` with deferredTill defers it",
    )
    def patch(self, request: Request, task_id: str) -> Response:
        action = choice(request, "action", ("defer",))
        task = object_id(task_id, "id")
        if action == "defer":
            body = validated(task_serializers.TaskDeferSerializer, request.data)
            changed = task_service.task_defer(
                actor=signed_in(request).id, task_id=task, deferred_till=body["deferredTill"]
            )
        else:
            body = validated(task_serializers.TaskUpdateSerializer, request.data)
            changed = task_service.task_update(actor=signed_in(request).id, task_id=task, changes=body)
        return Response(task_serializers.task_details(changed))

    @task_id_is_id
    @extend_schema(responses={204: None}, summary="Delete a task (soft delete; creator or assignee)")
    def delete(self, request: Request, task_id: str) -> Response:
        task_service.task_delete(actor=signed_in(request).id, task_id=object_id(task_id, "id"))
        return Response(status=http.HTTP_204_NO_CONTENT)


class TaskUpdateView(APIView):
    @task_id_is_id
    @extend_schema(
        request=task_serializers.TaskUpdateSerializer,
        responses={200: task_serializers.TaskOut},
        summary="Edit a task (creator or assignee): only the changed fields; answers the bare Task",
    )
    def patch(self, request: Request, task_id: str) -> Response:
        task = object_id(task_id, "id")
        body = validated(task_serializers.TaskUpdateSerializer, request.data)
        changed = task_service.task_update(actor=signed_in(request).id, task_id=task, changes=body)
        return Response(task_serializers.task_details(changed))


class TaskAssignView(APIView):
    @task_id_is_id
    @extend_schema(
        request=task_serializers.TaskAssignSerializer,
        responses={200: task_serializers.AssignmentEnvelopeOut},
        summary="Assign or reassign a task",
    )
    def patch(self, request: Request, task_id: str) -> Response:
        task = object_id(task_id, "id")
        body = validated(task_serializers.TaskAssignSerializer, request.data)
        assigned = task_assignment_service.task_assign(
            actor=signed_in(request).id,
            task_id=task,
            assignee_id=body["assignee_id"],
            user_type=body["user_type"],
        )
        return Response({"statusCode": 200, "data": assignment_response(assigned)})
