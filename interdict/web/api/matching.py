"""/api/match and /api/batches: shipments matched against the index, and batches kept for
review with each match confirmed or rejected (interdict/web/reviews.py)."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from contracts.matches import ShipmentMatches
from contracts.shipments import Shipment
from interdict.web.auth import CanMatch, CanReview
from interdict.web.deps import MatcherDep, ReviewsDep
from interdict.web.reviews import Batch, Decision, ReviewError, ReviewStore
from interdict.web.uploads import UploadDep
from matching.matcher import Matcher

router = APIRouter(tags=["matching"])


class MatchOut(BaseModel):
    results: list[dict]
    problems: list[str] = Field(description="bad rows, each with line, column and reason; good rows are matched "
                                            "(the first [input] max_problems)")
    problems_total: int = Field(0, description="every problem, named or not")


async def _matched(matcher: Matcher, shipments: list[Shipment]) -> list[ShipmentMatches]:
    return await run_in_threadpool(lambda: list(matcher.match(shipments)))


def _result_json(result: ShipmentMatches) -> dict:
    return json.loads(result.to_json())


@router.post("/match", response_model=MatchOut, summary="Match shipments (JSON, CSV or JSON Lines body)")
async def match(who: CanMatch, upload: UploadDep, matcher: MatcherDep) -> MatchOut:
    results = await _matched(matcher, upload.shipments)
    who.audit("match", f"{len(upload.shipments)} shipment(s)", items=[s.item_id for s in upload.shipments][:50],
              problems=upload.problems.count)
    return MatchOut(results=[_result_json(r) for r in results], problems=upload.problems.named,
                    problems_total=upload.problems.count)


@router.post("/batches", summary="Match an uploaded batch and keep it for review")
async def create_batch(who: CanReview, upload: UploadDep, matcher: MatcherDep, reviews: ReviewsDep,
                       name: str = "upload") -> dict:
    results = await _matched(matcher, upload.shipments)
    batch = reviews.add_batch(name[:200], who.key.name, results, upload.problems)
    who.audit("match", f"batch/{batch.id}", name=name, shipments=len(results), problems=upload.problems.count)
    return {**batch.__dict__, "matched": sum(bool(r.matches) for r in results)}


@router.get("/batches", summary="Batches kept for review, newest first")
def batches(who: CanReview, reviews: ReviewsDep) -> list[dict]:
    return [b.__dict__ for b in reviews.batches()]


def _batch_or_404(reviews: ReviewStore, batch_id: str) -> Batch:
    batch = reviews.batch(batch_id)
    if batch is None:
        raise HTTPException(404, f"no batch {batch_id}")
    return batch


@router.get("/batches/{batch_id}", summary="A batch's results with the reviews given so far")
def batch(batch_id: str, who: CanReview, reviews: ReviewsDep, offset: Annotated[int, Query(ge=0)] = 0,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict:
    found = _batch_or_404(reviews, batch_id)
    given = reviews.reviews(batch_id)
    who.audit("view", f"batch/{batch_id}")
    return {**found.__dict__, "results": [_result_json(r) for r in reviews.results(batch_id, offset, limit)],
            "reviews": [r.__dict__ for r in given.values()]}


class ReviewIn(BaseModel):
    item_id: str
    target: str = Field(description="the match's listing id, or vendor:<vendor id> for a vendor match")
    decision: Decision
    note: str = ""


@router.put("/batches/{batch_id}/reviews", summary="Confirm or reject a match")
def review(batch_id: str, who: CanReview, reviews: ReviewsDep, decision: Annotated[ReviewIn, Body()]) -> dict:
    _batch_or_404(reviews, batch_id)
    try:
        done = reviews.review(batch_id, decision.item_id, decision.target, decision.decision, decision.note,
                              who.key.name)
    except ReviewError as exc:
        raise HTTPException(404, str(exc)) from None
    who.audit("review", f"batch/{batch_id}/{decision.item_id}", target=decision.target, decision=decision.decision)
    return done.__dict__


@router.get("/batches/{batch_id}/export", summary="A batch's matches with their reviews (JSON Lines or CSV)")
def export_batch(batch_id: str, who: CanReview, reviews: ReviewsDep,
                 format: Literal["jsonl", "csv"] = "jsonl") -> Response:
    _batch_or_404(reviews, batch_id)
    body = reviews.export_csv(batch_id) if format == "csv" else reviews.export_jsonl(batch_id)
    who.audit("export", f"batch/{batch_id}", format=format)
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return Response(body, media_type=f"{media}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="interdict-batch-{batch_id}.{format}"'})
