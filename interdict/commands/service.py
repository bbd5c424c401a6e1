"""The service and its access: `interdict serve` (the HTTP API and web app), `interdict keys`
and `interdict audit`."""

from __future__ import annotations

import json
import sys

from interdict.commands.base import Command, add_store_option
from interdict.errors import UserError
from interdict.web.access import ROLES


class Serve(Command):
    name = "serve"
    help = "the HTTP API and analyst web app (config [api]; docs/api.md)"
    description = ("Search, listings, vendors, shipment matching, match review and the watchlist feed over HTTP. "
                   "Every route but /health needs an API key: `interdict keys create`.")

    def add_options(self, parser):
        add_store_option(parser)
        parser.add_argument("--host", help="address to listen on (default: config api.host, loopback)")
        parser.add_argument("--port", type=int, help="port (default: config api.port)")

    def run(self, args, config) -> int:
        import uvicorn

        from index import open_store
        from interdict.web.access import access_store
        from interdict.web.app import service_app

        host, port = args.host or config.api.host, args.port or config.api.port
        with open_store(config, args.store):  # fail now, with a clear message, if the store cannot open
            pass
        access = access_store(config)
        _ = access.heads  # the audit key is made (or its file checked) now, not at the first request
        active = [k for k in access.keys() if k.revoked is None]
        access.close()
        print(f"Interdict on http://{host}:{port}/ (API under /api; every route but /health needs a key)",
              file=sys.stderr)
        if not active:
            print("no API key yet: create one with `interdict keys create NAME --role analyst`", file=sys.stderr)
        uvicorn.run(service_app(config, args.store), host=host, port=port, log_level="warning", access_log=False)
        return 0


class Keys(Command):
    name = "keys"
    help = "API keys: `keys create NAME --role ROLE`, `keys list`, `keys revoke KEY_ID`"
    description = ("Roles: analyst (search, read, match, review), risk-engine (watchlist, match), admin (keys, "
                   "audit, crawl jobs, metrics), monitor (metrics). A key is printed once, at creation, and kept "
                   "only as a digest.")

    def add_options(self, parser):
        parser.add_argument("action", nargs="?", default="list", choices=["create", "list", "revoke"])
        parser.add_argument("name", nargs="?", metavar="NAME|KEY_ID",
                            help="create: who or what uses it; revoke: its id")
        parser.add_argument("--role", choices=list(ROLES))

    def run(self, args, config) -> int:
        from interdict.web.access import AccessError, access_store

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


class Audit(Command):
    name = "audit"
    help = "the API's audit log: who searched, viewed, exported or matched what, when"
    description = ("Oldest first of the latest --limit records. --verify checks the hash chain that links every "
                   "record to the one before it (exit 1 if a record was altered or removed).")

    def add_options(self, parser):
        parser.add_argument("--limit", type=int, default=100)
        parser.add_argument("--action", help="only this action: search, view, match, review, export, keys, denied")
        parser.add_argument("--key", metavar="KEY_ID", help="only this key's records")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--verify", action="store_true")

    def run(self, args, config) -> int:
        from interdict.web.access import access_store

        access = access_store(config)
        try:
            if args.verify:
                verification = access.verify()
                print(verification.summary(), file=sys.stderr)
                return 1 if verification.problem else 0
            records = access.audit(args.limit, args.action, args.key)
            if not records:
                print("no audit records" + (f" of action {args.action!r}" if args.action else "")
                      + (f" by key {args.key}" if args.key else ""), file=sys.stderr)
            for record in reversed(records):
                if args.json:
                    print(json.dumps(record.__dict__, ensure_ascii=False))
                else:
                    who = f"{record.key_name} ({record.role})" if record.key_name else "no key"
                    detail = json.dumps(record.detail, ensure_ascii=False) if record.detail else ""
                    print(f"{record.at}  {record.status}  {who:<28} {record.action:<8} {record.target}  {detail}")
        finally:
            access.close()
        return 0
