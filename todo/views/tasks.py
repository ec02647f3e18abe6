"""Tasks: GET/POST /v1/tasks, GET/PATCH/DELETE /v1/tasks/{id}, PATCH /v1/tasks/{id}/assign.

Thin views: they read parameters and the body (todo.api.task_serializers), call one service
function (todo.services.task_service / task_assignment_service) and shape the response.
"""

from __future__ import annotations

from collections.abc import Sequence

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import task_serializers as ts
from todo.api.fields import validated
from todo.api.params import invalid, object_id, page_and_limit, paginated
from todo.models.enums import TaskStatus
from todo.services import task_assignment_service, task_service
from todo.views.task_assignments import assignment_response


def choice(request: Request, name: str, choices: Sequence[str]) -> str | None:
    """An optional query parameter that must be one of `choices` (absent or empty: None)."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    if raw not in choices:
        raise invalid(name, f"must be one of {', '.join(choices)}")
    return raw


class TasksView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("teamId", str, description="that team's tasks (members only)"),
            OpenApiParameter("status", str, enum=TaskStatus.values),
            OpenApiParameter("sort_by", str, enum=list(task_service.SORT_FIELDS)),
            OpenApiParameter("order", str, enum=["asc", "desc"]),
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
        ],
        responses={200: dict},
        operation_id="tasks_list",
        summary="Tasks assigned to me or to teams I am the point of contact of; or a team's tasks",
    )
    def get(self, request: Request) -> Response:
        team = request.query_params.get("teamId", "")
        page, limit = page_and_limit(request)
        found, total = task_service.task_list(
            actor=request.user.id,
            team_id=object_id(team, "teamId", "parameter") if team else None,
            status=choice(request, "status", TaskStatus.values),
            sort_by=choice(request, "sort_by", task_service.SORT_FIELDS) or task_service.DEFAULT_SORT,
            order=choice(request, "order", ("asc", "desc")),
            page=page,
            limit=limit,
        )
        items = [ts.task_details(x) for x in found]
        return Response(paginated(request, "tasks", items, page, limit, total))

    @extend_schema(request=ts.TaskCreateSerializer, responses={201: dict}, summary="Create a task")
    def post(self, request: Request) -> Response:
        body = validated(ts.TaskCreateSerializer, request.data)
        created = task_service.task_create(
            actor=request.user.id,
            title=body["title"],
            description=body.get("description"),
            priority=body.get("priority", "LOW"),
            status=body.get("status", TaskStatus.TODO),
            labels=body.get("labels", []),
            due_at=body.get("dueAt"),
            assignee=body.get("assignee"),
        )
        return Response({"statusCode": 201, "data": ts.task_details(created)}, status=http.HTTP_201_CREATED)


class TaskDetailView(APIView):
    @extend_schema(responses={200: dict}, operation_id="task_retrieve", summary="A task")
    def get(self, request: Request, task_id: str) -> Response:
        found = task_service.task_get(task_id=object_id(task_id, "id"))
        return Response({"statusCode": 200, "data": ts.task_details(found)})

    @extend_schema(
        parameters=[OpenApiParameter("action", str, enum=["defer"])],
        request=ts.TaskUpdateSerializer,
        responses={200: dict},
        summary="Change a task (creator or assignee); `?action=defer` with deferredTill defers it",
    )
    def patch(self, request: Request, task_id: str) -> Response:
        action = choice(request, "action", ("defer",))
        task = object_id(task_id, "id")
        if action == "defer":
            body = validated(ts.TaskDeferSerializer, request.data)
            changed = task_service.task_defer(
                actor=request.user.id, task_id=task, deferred_till=body["deferredTill"]
            )
        else:
            body = validated(ts.TaskUpdateSerializer, request.data)
            changed = task_service.task_update(actor=request.user.id, task_id=task, changes=body)
        return Response({"statusCode": 200, "data": ts.task_details(changed)})

    @extend_schema(responses={204: None}, summary="Delete a task (soft delete; creator or assignee)")
    def delete(self, request: Request, task_id: str) -> Response:
        task_service.task_delete(actor=request.user.id, task_id=object_id(task_id, "id"))
        return Response(status=http.HTTP_204_NO_CONTENT)


class TaskAssignView(APIView):
    @extend_schema(
        request=ts.TaskAssignSerializer, responses={200: dict}, summary="Assign or reassign a task"
    )
    def patch(self, request: Request, task_id: str) -> Response:
        task = object_id(task_id, "id")
        body = validated(ts.TaskAssignSerializer, request.data)
        assigned = task_assignment_service.task_assign(
            actor=request.user.id, task_id=task, assignee_id=body["assignee_id"], user_type=body["user_type"]
        )
        return Response({"statusCode": 200, "data": assignment_response(assigned)})
