"""/api/keys: API keys (never the keys themselves), created and revoked by an admin."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, Field

from interdict.web.access import ROLES, AccessError
from interdict.web.auth import CanManageKeys
from interdict.web.deps import AccessDep

router = APIRouter(prefix="/keys", tags=["administration"])


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Literal[tuple(ROLES)]  # type: ignore[valid-type]


@router.get("", summary="API keys (never the keys themselves)")
def keys(who: CanManageKeys, access: AccessDep) -> list[dict]:
    return [k.__dict__ for k in access.keys()]


@router.post("", status_code=201, summary="Create a key; the response is the only time it is shown")
def create_key(who: CanManageKeys, access: AccessDep, wanted: Annotated[KeyIn, Body()]) -> dict:
    made, token = access.create_key(wanted.name, wanted.role)
    who.audit("keys", f"key/{made.id}", created=made.name, role=made.role)
    return {**made.__dict__, "key": token}


@router.delete("/{key_id}", summary="Revoke a key")
def revoke_key(key_id: str, who: CanManageKeys, access: AccessDep) -> dict:
    try:
        revoked = access.revoke(key_id)
    except AccessError as exc:
        raise HTTPException(404, str(exc)) from None
    who.audit("keys", f"key/{key_id}", revoked=revoked.name)
    return revoked.__dict__
