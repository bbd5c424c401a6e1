"""Listing photos in the web app: the photo files (only images that passed the blocklist were
ever kept, so only those can be shown), a listing's and a vendor's photos with their EXIF
flagged, the same photo elsewhere side by side with its distance, vendors linked by shared
photos, and a search by an uploaded photo (a seized parcel's)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from contracts.documents import ListingDocument
from contracts.images import ImageFacts, ImageRow
from index.image_files import FlagLog, ImageFiles
from index.photo_links import PhotoCatalog
from index.store import Store
from interdict.web.auth import CanRead
from interdict.web.deps import ConfigDep, PhotosDep, StoreDep
from interdict.web.uploads import read_upload

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["photos"])
SHOWN_ELSEWHERE = 30  # near-duplicates listed per page
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF8", "image/gif"),
          (b"RIFF", "image/webp"))


def _media_type(data: bytes) -> str:
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), "application/octet-stream")


def _other_listings(store: Store, rows: list[ImageRow]) -> dict[str, ListingDocument]:
    docs = {}
    for listing_id in dict.fromkeys(r.listing_id for r in rows):
        if (doc := store.get_listing(listing_id)) is not None:
            docs[listing_id] = doc
    return docs


def same_photo_elsewhere(store: Store, photos: PhotoCatalog, rows: list[ImageRow], max_sum: int) -> list[dict]:
    """Each near-duplicate of these photos on another listing: both photos, the distance,
    and the other listing (market, vendor, title)."""
    pairs = photos.elsewhere(rows, max_sum)[:SHOWN_ELSEWHERE]
    docs = _other_listings(store, [match.row for _, match in pairs])
    return [{"photo": photo, "other": match.row, "phash": match.phash_distance, "dhash": match.dhash_distance,
             "distance": match.distance, "listing": docs.get(match.row.listing_id), "vendor_id": match.vendor_id}
            for photo, match in pairs]


def listing_photos(store: Store, photos: PhotoCatalog, doc: ListingDocument, max_sum: int) -> dict:
    rows = photos.of_listing(doc.id)
    return {"images": doc.data.listing.images, "elsewhere": same_photo_elsewhere(store, photos, rows, max_sum)}


def vendor_photos(store: Store, photos: PhotoCatalog, vendor_doc_id: str, max_sum: int) -> dict:
    """The vendor's photos (with what their EXIF says), and the vendors sharing one of them."""
    rows = photos.of_vendor(vendor_doc_id)
    docs = _other_listings(store, rows)
    facts: dict[str, tuple[ImageFacts, ListingDocument]] = {}
    for doc in docs.values():
        for image in doc.data.listing.images:
            if image.facts is not None:
                facts.setdefault(image.facts.sha256, (image.facts, doc))
    links = photos.vendor_links(max_sum, vendor=vendor_doc_id)
    shown = [{"link": link, "own": link.photo_a if link.vendor_a == vendor_doc_id else link.photo_b,
              "other": link.photo_b if link.vendor_a == vendor_doc_id else link.photo_a,
              "other_vendor": link.vendor_b if link.vendor_a == vendor_doc_id else link.vendor_a} for link in links]
    with_exif = [(f, doc) for f, doc in facts.values() if not f.metadata.stripped]
    return {"count": len(facts), "with_exif": with_exif, "stripped": len(facts) - len(with_exif), "links": shown}


@pages.get("/photos/{sha256}")
def photo_file(sha256: str, who: CanRead, config: ConfigDep) -> Response:
    files = ImageFiles(config.images.dir)
    try:
        data = files.get(sha256)
    except ValueError:
        raise HTTPException(404, "no such photo") from None
    who.audit("view", f"photo/{sha256}", found=data is not None)
    if data is None:
        raise HTTPException(404, "no such photo")
    # Crawled bytes: shown as an image and nothing else (no sniffing into HTML, no script).
    return Response(data, media_type=_media_type(data), headers={
        "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'inline; filename="{sha256}"'})


@pages.get("/photos")
def photo_search_form(request: Request, who: CanRead) -> HTMLResponse:
    from interdict.web.ui import page

    return page(request, "photo_search.html", key=who.key)


@api.post("/photos/search", summary="Listings showing a photo near-identical to the uploaded one (the body: "
          "the image's bytes); a blocklisted image is refused and flagged, never searched")
async def photo_search(request: Request, who: CanRead, config: ConfigDep, store: StoreDep,
                       photos: PhotosDep) -> dict:
    """Read under the crawl's limits and blocklist, then looked up among the stored listing
    photos. The upload itself is not kept."""
    data = await read_upload(request, config.images.max_bytes)
    refused, facts, results = await run_in_threadpool(_search_by_photo, data, config, store, photos, who)
    if refused is not None:
        raise HTTPException(422, "this image matches the agency blocklist: not searched, flagged for the operator"
                            if refused.reason == "blocklisted" else f"refused ({refused.reason}): {refused.detail}")
    return {"photo": facts.model_dump(mode="json"), "max_sum": config.images.link_max_sum, "matches": [
        {"listing_id": r["other"].listing_id, "market": r["other"].market, "vendor": r["other"].vendor,
         "vendor_id": r["vendor_id"], "sha256": r["other"].sha256, "phash_distance": r["phash"],
         "dhash_distance": r["dhash"], "distance": r["distance"],
         "title": r["listing"].data.listing.title if r["listing"] else None,
         "url": r["listing"].data.listing.url if r["listing"] else None} for r in results]}


def _search_by_photo(data: bytes, config, store: Store, photos: PhotoCatalog, who):
    from enrichment.images import Blocklist, ImageLimits, Refused, read_image

    settings = config.images
    blocklist = Blocklist.current(settings.blocklist_sha256, settings.blocklist_phash, settings.blocklist_radius)
    try:
        facts = read_image(data, ImageLimits(settings.max_bytes, settings.max_pixels), blocklist)
    except Refused as refused:
        if refused.refusal.reason == "blocklisted":
            FlagLog(settings.flagged_file).flag(market="", listing_url="", image_url="photo search upload",
                                                sha256=refused.refusal.sha256, detail=refused.refusal.detail,
                                                uploaded_by=who.key.name)
        who.audit("photo_search", "upload", refused=refused.refusal.reason)
        return refused.refusal, None, []
    row = ImageRow(listing_id="", market="", vendor="", sha256=facts.sha256, phash=facts.phash, dhash=facts.dhash)
    results = same_photo_elsewhere(store, photos, [row], settings.link_max_sum)
    who.audit("photo_search", f"photo/{facts.sha256}", found=len(results))
    return None, facts, results
