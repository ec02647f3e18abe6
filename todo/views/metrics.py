"""GET /metrics: Prometheus text format. Not public: with METRICS_TOKEN set, the request must carry
`Authorization: Bearer <token>`; unset, only clients in METRICS_ALLOWED_NETWORKS (loopback by
default) may scrape. The client address is the connection's (REMOTE_ADDR), not a forwarded header.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from dualwrite.gauges import OperationsCollector, ReverseMirrorCollector
from todo.mappings import get_registry
from todo.phases import POSTGRES_ONLY, current_phase, reverse_mirroring
from todo.wiring import build_reverse_mirror, build_status


@functools.cache
def _operations_registry(phase: str) -> CollectorRegistry:
    """The gauges read at scrape time: the retry queue and verify results in MongoDB while it is
    the truth; in postgres_only, the writes back to MongoDB waiting in Postgres."""
    registry = CollectorRegistry(auto_describe=False)
    if phase != POSTGRES_ONLY:
        registry.register(OperationsCollector(build_status()))
    elif reverse_mirroring():
        mirror = build_reverse_mirror()
        registry.register(ReverseMirrorCollector(mirror.backlog, get_registry().collections))
    return registry


def _process_registry() -> CollectorRegistry:
    """The engine's counters: this process's, or with several web processes
    (PROMETHEUS_MULTIPROC_DIR) the sum over all of them."""
    if settings.PROMETHEUS_MULTIPROC_DIR is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(settings.PROMETHEUS_MULTIPROC_DIR))
    return registry


def _allowed(request: HttpRequest) -> tuple[bool, int]:
    token = settings.METRICS_TOKEN
    if token is not None:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
        return ok, 401
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False, 403
    return any(client in network for network in settings.METRICS_ALLOWED_NETWORKS), 403


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    ok, refusal = _allowed(request)
    if not ok:
        response = HttpResponse("not allowed\n", status=refusal, content_type="text/plain")
        if refusal == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(_process_registry()) + generate_latest(_operations_registry(current_phase()))
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
