"""Page-object fixtures: tests/fixtures/page_objects/<profile>/<case>/ holds case.json (the inputs:
a URL, which page object reads it, and where the HTML is) and expected.json (what the page
object reads). test_page_fixtures.py runs every case; `python tests/page_fixtures.py
PROFILE` writes the expected.json files of a profile's cases for review
(docs/adding-a-market.md).

Where the HTML is, in case.json, one of:
- "saved": a page of the demo markets under tests/fixtures/html;
- "shared": a page under ../shared/data (named, never copied into the repository);
- "shared" with "member": a file inside an archive under ../shared/data.
Text taken from real pages is kept as a digest in expected.json (``description_sha256``)."""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic_core import to_jsonable_python

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CASES = TESTS / "fixtures" / "page_objects"
SAVED = TESTS / "fixtures" / "html"
SHARED = REPO.parent / "shared" / "data"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def cases(root: Path = CASES) -> list[Path]:
    return sorted(p.parent for p in root.glob("*/*/case.json"))


def inputs(case: Path) -> tuple[dict, str | None]:
    """(case.json, the page's HTML or None when it lives in shared data that is absent)."""
    spec = json.loads((case / "case.json").read_text(encoding="utf-8"))
    if "saved" in spec:
        return spec, (SAVED / spec["saved"]).read_bytes().decode("utf-8", "replace")
    source = SHARED / spec["shared"]
    if not source.exists():
        return spec, None
    if "member" in spec:
        with tarfile.open(source) as archive:
            member = archive.extractfile(spec["member"])
            data = member.read() if member else b""
    else:
        data = source.read_bytes()
    return spec, data.decode("utf-8", "replace")


def read(case: Path, spec: dict, html: str) -> dict:
    """What the case's page object reads, as JSON data."""
    from crawlers.pages import PROFILES
    from crawlers.pages.base import PageError, listing_of, vendor_of

    profile = PROFILES[case.parent.name]
    page = getattr(profile, f"{spec['page']}_page")(spec["url"], html)
    out: dict = {"kind": profile.kind(spec["url"]), "recognised": profile.recognises(html)}
    if spec["page"] == "index":
        out.update(listing_urls=page.listing_urls(), follow_urls=page.follow_urls())
        return out
    build = listing_of if spec["page"] == "listing" else vendor_of
    try:
        build(page, market=profile.name, crawled_at=NOW)
    except PageError as exc:
        out["error"] = exc.reason
    fields = to_jsonable_python(page.fields())
    if "shared" in spec and fields.get("description"):
        fields["description_sha256"] = hashlib.sha256(fields.pop("description").encode()).hexdigest()
    out["fields"] = fields
    return out


def write_expected(profile: str, root: Path = CASES) -> None:
    for case in cases(root):
        if case.parent.name != profile:
            continue
        spec, html = inputs(case)
        if html is None:
            print(f"{case}: its page is not here ({spec['shared']})", file=sys.stderr)
            continue
        (case / "expected.json").write_text(json.dumps(read(case, spec, html), indent=1, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
        print(f"{case}/expected.json written: review it before committing")


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/page_fixtures.py PROFILE")
    write_expected(sys.argv[1])
