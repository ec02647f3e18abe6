"""A response shape takes the values it shows as stored from the domain model by document key
(todo.api.task_serializers.stored_values): a key the shape declares and the model reads is filled,
other keys are left to the caller."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from todo.api.task_serializers import TaskOut, stored_values
from todo.models import documents as domain_models


class Shape(serializers.Serializer):
    id = serializers.CharField()
    displayId = serializers.CharField(allow_null=True)
    isAcknowledged = serializers.BooleanField()
    dueAt = serializers.DateTimeField(allow_null=True)
    notAField = serializers.CharField()


def test_the_keys_the_model_reads_take_its_values() -> None:
    due = dt.datetime(2030, 1, 2, tzinfo=dt.UTC)
    task = domain_models.Task.model_validate(
        {"_id": "6650f0c2a1b2c3d4e5f60718", "displayId": "#7", "isAcknowledged": True, "dueAt": due}
    )
    # `id` is the model's `_id`, not a document key of the shape; `notAField` is the caller's.
    assert stored_values(task, Shape) == {"displayId": "#7", "isAcknowledged": True, "dueAt": due}


def test_the_task_shape_takes_every_plain_task_field() -> None:
    task = domain_models.Task.model_validate({"_id": "6650f0c2a1b2c3d4e5f60718", "title": "T"})
    assert set(stored_values(task, TaskOut)) == {
        "displayId", "title", "description", "priority", "status", "isAcknowledged", "labels",
        "startedAt", "dueAt", "deferredDetails", "createdAt", "updatedAt", "createdBy", "updatedBy",
    }  # fmt: skip
