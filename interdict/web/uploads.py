"""Shipment uploads to the API: the body read within config api.max_upload_bytes, then its
shipments (JSON, CSV or JSON Lines) with every bad row named, within api.max_upload_rows."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from contracts.inputs import BadLine, InputLimits, Problems, csv_records, decode_line
from contracts.shipments import Shipment
from interdict.web.deps import ConfigDep
from matching.shipments import read_csv, read_jsonl


async def read_upload(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (never read
    whole into memory first)."""
    refused = HTTPException(413, f"upload larger than {limit:,} bytes (config api.max_upload_bytes)")
    if int(request.headers.get("content-length") or 0) > limit:
        raise refused
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise refused
    return bytes(body)


def shipments_from_body(body: bytes, content_type: str, limits: InputLimits,
                        max_rows: int) -> tuple[list[Shipment], Problems]:
    """Good shipments and the bad rows (the first ``limits.max_problems`` named, the rest
    counted) of an upload, read row by row; more than ``max_rows`` rows: 413."""
    text = body.decode("utf-8-sig", errors="replace")
    kind = content_type.split(";")[0].strip().lower()
    problems = Problems(limits.max_problems)
    too_many = HTTPException(413, f"upload has more than {max_rows:,} rows (config api.max_upload_rows)")
    if kind in ("application/json", ""):
        try:
            data = decode_line(text)  # as long as the upload may be (api.max_upload_bytes)
        except BadLine as exc:
            raise HTTPException(422, f"body is not usable JSON: {exc}") from None
        records = data if isinstance(data, list) else [data]
        if len(records) > max_rows:
            raise too_many
        shipments = []
        for number, record in enumerate(records, 1):
            try:
                shipments.append(Shipment.model_validate(record))
            except ValidationError as exc:
                for e in exc.errors():
                    problems.add(f"shipment {number}: {'.'.join(map(str, e['loc']))}: {e['msg']}")
        return shipments, problems
    if kind in ("text/csv", "application/csv"):
        items = read_csv(io.StringIO(text, newline=""), limits)
    elif kind in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        items = read_jsonl(io.StringIO(text), limits)
    else:
        raise HTTPException(415, "send application/json (a shipment or a list), text/csv or application/x-ndjson")
    if text.count("\n") + 1 > max_rows and _rows(text, kind, limits) > max_rows:  # lines bound rows from above
        raise too_many
    shipments = []
    for item in items:
        if isinstance(item, Shipment):
            shipments.append(item)
        else:
            problems.add(f"line {item.row}: {item.column}: {item.reason}")
    return shipments, problems


def _rows(text: str, kind: str, limits: InputLimits) -> int:
    """Data rows of a CSV (records after the header) or JSON Lines (lines not blank) body."""
    if kind.endswith("csv"):
        return sum(1 for _ in csv_records(io.StringIO(text, newline=""), limits.max_field_lines,
                                          limits.max_line_chars)) - 1
    return sum(1 for line in io.StringIO(text) if line.strip())


@dataclass
class ShipmentUpload:
    shipments: list[Shipment]
    problems: Problems


async def _uploaded(request: Request, settings: ConfigDep) -> ShipmentUpload:
    body = await read_upload(request, request.app.state.max_upload)
    # Up to api.max_upload_rows rows to read: on a worker thread, not the event loop that
    # serves every other request.
    shipments, problems = await run_in_threadpool(
        shipments_from_body, body, request.headers.get("content-type", ""),
        InputLimits(**settings.input.model_dump()), settings.api.max_upload_rows)
    return ShipmentUpload(shipments, problems)


UploadDep = Annotated[ShipmentUpload, Depends(_uploaded)]  # after the caller's check: no key, nothing read
