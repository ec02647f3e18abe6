"""Task assignments: POST /v1/task-assignments, GET/PATCH/DELETE /v1/task-assignments/{task_id}."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import task_serializers
from todo.api.fields import validated
from todo.api.params import object_id
from todo.auth.authentication import signed_in
from todo.models import documents as domain_models
from todo.services import task_assignment_service as service


def assignment_response(assignment: domain_models.TaskAssignment) -> dict[str, Any]:
    users, teams = service.assignment_details(assignment)
    return task_serializers.assignment_detail(assignment, users, teams)


class TaskAssignmentsView(APIView):
    @extend_schema(
        request=task_serializers.TaskAssignmentCreateSerializer,
        responses={201: task_serializers.AssignmentEnvelopeOut},
        summary="Assign or reassign a task to a user or a team",
    )
    def post(self, request: Request) -> Response:
        body = validated(task_serializers.TaskAssignmentCreateSerializer, request.data)
        assigned = service.task_assign(
            actor=signed_in(request).id,
            task_id=body["task_id"],
            assignee_id=body["assignee_id"],
            user_type=body["user_type"],
        )
        return Response(
            {"statusCode": 201, "data": assignment_response(assigned)}, status=http.HTTP_201_CREATED
        )


class TaskAssignmentDetailView(APIView):
    @extend_schema(
        responses={200: task_serializers.AssignmentEnvelopeOut}, summary="The task's active assignment"
    )
    def get(self, request: Request, task_id: str) -> Response:
        found = service.assignment_get(task_id=object_id(task_id, "task_id"))
        return Response({"statusCode": 200, "data": assignment_response(found)})

    @extend_schema(
        request=task_serializers.ExecutorSerializer,
        responses={200: task_serializers.ExecutorUpdatedOut},
        summary="Hand a team task to a member (the team's point of contact only)",
    )
    def patch(self, request: Request, task_id: str) -> Response:
        task = object_id(task_id, "task_id")
        body = validated(task_serializers.ExecutorSerializer, request.data)
        changed = service.assignment_set_executor(
            actor=signed_in(request).id, task_id=task, executor_id=body["executor_id"]
        )
        return Response({"message": "Executor updated successfully.", "data": assignment_response(changed)})

    @extend_schema(responses={204: None}, summary="Unassign the task")
    def delete(self, request: Request, task_id: str) -> Response:
        service.task_unassign(actor=signed_in(request).id, task_id=object_id(task_id, "task_id"))
        return Response(status=http.HTTP_204_NO_CONTENT)
