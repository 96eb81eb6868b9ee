"""Prometheus metrics, one registry per app so two apps in one process never share counters."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Up to a few seconds is the API's own work; the long tail is ?wait= and event streams.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "editstudio_http_requests",
            "HTTP requests answered, by route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "editstudio_http_request_duration_seconds",
            "Time to the end of the response, by route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.edits_submitted = Counter(
            "editstudio_edits_submitted",
            "Edits accepted as jobs, by operation and model.",
            ("operation", "model"),
            registry=self.registry,
        )
        self.edits_refused = Counter(
            "editstudio_edits_refused",
            "Edits refused before a job existed, by error code.",
            ("code",),
            registry=self.registry,
        )


class MetricsMiddleware:
    """Counts every HTTP request by its route template (``/jobs/{job_id}``), never its raw path,
    so ids cannot blow up the label space."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
