"""/api/jobs, /api/metrics and /api/audit: what operators and auditors watch, and the API's
own description for key holders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from interdict.web.auth import AnyKey, CanSeeAudit, CanSeeJobs, CanSeeMetrics
from interdict.web.deps import AccessDep, ConfigDep, StoreDep

router = APIRouter(tags=["operations"])


@router.get("/jobs", summary="Crawl job history, latest first")
def jobs(who: CanSeeJobs, store: StoreDep, market: str | None = None,
         limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict]:
    return [job.model_dump(mode="json") for job in store.jobs(market=market, limit=limit)]


@router.get("/metrics", summary="Crawl and index metrics in Prometheus text format")
def metrics(who: CanSeeMetrics, store: StoreDep, config: ConfigDep) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    from interdict.monitoring import metrics_text

    return Response(metrics_text(config, store), media_type=CONTENT_TYPE_LATEST)


@router.get("/audit", summary="The audit log, latest first")
def audit(who: CanSeeAudit, access: AccessDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
          action: str | None = None, key_id: str | None = None) -> list[dict]:
    return [r.__dict__ for r in access.audit(limit, action, key_id)]


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, who: AnyKey) -> dict:
    return request.app.openapi()
