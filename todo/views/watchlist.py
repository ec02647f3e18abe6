"""My watchlist: GET/POST /v1/watchlist/tasks, PATCH /v1/watchlist/tasks/{task_id},
GET /v1/watchlist/tasks/check?task_id=."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from todo.api import task_serializers
from todo.api.domain_errors import error_sources, in_body, in_query
from todo.api.fields import validated
from todo.api.params import invalid, object_id, page_and_limit, paginated
from todo.auth.authentication import signed_in
from todo.selectors import watchlist as watchlist_selectors
from todo.services import watchlist_service


class WatchlistTasksView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("limit", int)],
        responses={200: task_serializers.WatchListOut},
        summary="The live tasks I watch, most recent task activity first",
    )
    def get(self, request: Request) -> Response:
        page, limit = page_and_limit(request)
        found, more = watchlist_selectors.watchlist_tasks(actor=signed_in(request).id, page=page, limit=limit)
        items = [task_serializers.watch_item(details, entry) for details, entry in found]
        return Response({**paginated(request, "tasks", items, page, limit, more=more), "error": None})

    @error_sources(task_id=in_body("taskId"))
    @extend_schema(
        request=task_serializers.WatchlistCreateSerializer,
        responses={201: task_serializers.WatchlistEntryEnvelopeOut},
        summary="Watch a task (400 when I already have an entry for it, active or not)",
    )
    def post(self, request: Request) -> Response:
        body = validated(task_serializers.WatchlistCreateSerializer, request.data)
        entry = watchlist_service.watchlist_add(actor=signed_in(request).id, task_id=body["taskId"])
        return Response(
            {
                "statusCode": http.HTTP_201_CREATED,
                "successMessage": "Task added to watchlist successfully",
                "data": task_serializers.watchlist_entry(entry),
            },
            status=http.HTTP_201_CREATED,
        )


class WatchlistTaskView(APIView):
    @extend_schema(
        request=task_serializers.WatchlistUpdateSerializer,
        responses={200: task_serializers.WatchlistEntryEnvelopeOut},
        summary="Set my watchlist entry of a task active or not (an empty body toggles it)",
    )
    def patch(self, request: Request, task_id: str) -> Response:
        task = object_id(task_id, "task_id")
        body = validated(task_serializers.WatchlistUpdateSerializer, request.data)
        entry = watchlist_service.watchlist_update(
            actor=signed_in(request).id, task_id=task, is_active=body.get("isActive")
        )
        return Response({"statusCode": 200, "data": task_serializers.watchlist_entry(entry)})


class WatchlistCheckView(APIView):
    @error_sources(task_id=in_query("task_id"))
    @extend_schema(
        parameters=[OpenApiParameter("task_id", str, required=True)],
        responses={200: task_serializers.WatchCheckEnvelopeOut},
        summary="Whether I watch a task",
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("task_id")
        if raw is None or raw == "":
            raise invalid("task_id", "is required")
        task = object_id(raw, "task_id", "parameter")
        watched = watchlist_service.watchlist_check(actor=signed_in(request).id, task_id=task)
        return Response({"statusCode": 200, "data": {"taskId": task, "in_watchlist": watched}})
