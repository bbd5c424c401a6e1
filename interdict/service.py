"""`interdict serve` (the HTTP API and web app), `interdict keys` and `interdict audit`."""

from __future__ import annotations

import json
import sys
from functools import partial

from index import open_store
from interdict.errors import UserError
from interdict.web.access import ROLES, AccessError, AccessStore


def access_store(config) -> AccessStore:
    return AccessStore(config.api.path, config.api.audit_key_file, config.api.audit_head_file)


def build_app(config, store_target: str | None = None):
    from interdict.web.app import create_app

    return create_app(partial(open_store, config, store_target), config.api.path, config)


def cmd_serve(args, config) -> int:
    import uvicorn

    host, port = args.host or config.api.host, args.port or config.api.port
    with open_store(config, args.store):  # fail now, with a clear message, if the store cannot open
        pass
    access = access_store(config)
    _ = access.heads  # the audit key is made (or its file checked) now, not at the first request
    active = [k for k in access.keys() if k.revoked is None]
    access.close()
    print(f"Interdict on http://{host}:{port}/ (API under /api; every route but /health needs a key)", file=sys.stderr)
    if not active:
        print("no API key yet: create one with `interdict keys create NAME --role analyst`", file=sys.stderr)
    uvicorn.run(build_app(config, args.store), host=host, port=port, log_level="warning", access_log=False)
    return 0


def cmd_keys(args, config) -> int:
    access = access_store(config)
    try:
        if args.action == "create":
            if not args.name or not args.role:
                raise UserError(f"keys create NAME --role ROLE (roles: {', '.join(ROLES)})")
            key, token = access.create_key(args.name, args.role)
            print(token)
            print(f"key {key.id} for {key.name} ({key.role}) created; it is shown this once and stored hashed",
                  file=sys.stderr)
        elif args.action == "revoke":
            if not args.name:
                raise UserError("keys revoke KEY_ID (`interdict keys list` shows the ids)")
            key = access.revoke(args.name)
            print(f"key {key.id} ({key.name}, {key.role}) revoked", file=sys.stderr)
        else:
            for key in access.keys():
                status = f"revoked {key.revoked}" if key.revoked else "active"
                print(f"{key.id}  {key.role:<12} {status:<36} {key.created}  {key.name}")
    except AccessError as exc:
        raise UserError(str(exc)) from None
    finally:
        access.close()
    return 0


def cmd_audit(args, config) -> int:
    access = access_store(config)
    try:
        if args.verify:
            verification = access.verify()
            print(verification.summary(), file=sys.stderr)
            return 1 if verification.problem else 0
        for record in reversed(access.audit(args.limit, args.action, args.key)):
            if args.json:
                print(json.dumps(record.__dict__, ensure_ascii=False))
            else:
                who = f"{record.key_name} ({record.role})" if record.key_name else "no key"
                detail = json.dumps(record.detail, ensure_ascii=False) if record.detail else ""
                print(f"{record.at}  {record.status}  {who:<28} {record.action:<8} {record.target}  {detail}")
    finally:
        access.close()
    return 0
