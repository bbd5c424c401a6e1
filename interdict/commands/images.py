"""`interdict images`: listing photos as links — the listings showing a photo near-identical to
a listing's or to a file (a seized parcel's photo), and the vendors linked by shared photos
(docs/images.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from interdict.commands.base import Command, add_store_option
from interdict.errors import UserError


class Images(Command):
    name = "images"
    help = "listing photos: `images similar LISTING_ID|FILE`, `images links`, `images flagged`"
    description = ("similar TARGET: the stored listings whose photos are near-identical (pHash + dHash distance at "
                   "most images.link_max_sum) to the photos of listing TARGET, or to the image file TARGET. "
                   "links: vendors (on any market, under any name) whose listings show the same photo, with the "
                   "pair of photos and their distance. flagged: images that matched the blocklist (for the "
                   "operator: where and when; their bytes were never kept).")

    def add_options(self, parser):
        parser.add_argument("action", choices=["similar", "links", "flagged"])
        parser.add_argument("target", nargs="?", metavar="LISTING_ID|FILE")
        parser.add_argument("--max-sum", type=int, metavar="BITS",
                            help="pHash + dHash distance of one photo (default: config images.link_max_sum)")
        parser.add_argument("--json", action="store_true", help="JSON Lines instead of text")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store
        from index.image_files import FlagLog
        from index.photo_links import PhotoCatalog

        max_sum = config.images.link_max_sum if args.max_sum is None else args.max_sum
        if not 0 <= max_sum <= 64:
            raise UserError("--max-sum: 0 to 64 bits")
        if args.action == "flagged":
            entries = FlagLog(config.images.flagged_file).entries()
            for entry in entries:
                print(json.dumps(entry, ensure_ascii=False) if args.json else
                      f"{entry['flagged_at']}  {entry['market']}  {entry['listing_url']}  {entry['detail']}")
            print(f"{len(entries)} image(s) flagged by the blocklist ({config.images.flagged_file})", file=sys.stderr)
            return 0
        with open_store(config, args.store) as store:
            photos = PhotoCatalog.of(store)
            if args.action == "links":
                return _links(store, photos, max_sum, args.json)
            if not args.target:
                raise UserError("images similar needs a listing id (`search --json` prints it) or an image file")
            return _similar(store, photos, args.target, max_sum, args.json, config)


def _asked(store, photos, target: str, config):
    """The photos to look for: the stored listing's, or the file's (read under the crawl's
    limits and blocklist — a listed image is refused, never searched or shown)."""
    from contracts.images import ImageRow
    from enrichment.images import Blocklist, ImageLimits, Refused, read_image

    if store.get_listing(target) is not None:
        rows = photos.of_listing(target)
        if not rows:
            raise UserError(f"listing {target} has no stored photo")
        return rows
    path = Path(target)
    if not path.is_file():
        raise UserError(f"{target}: neither a stored listing id nor an image file")
    settings = config.images
    try:
        blocklist = Blocklist.current(settings.blocklist_sha256, settings.blocklist_phash, settings.blocklist_radius)
        facts = read_image(path.read_bytes(), ImageLimits(settings.max_bytes, settings.max_pixels), blocklist)
    except Refused as refused:
        raise UserError(f"{target}: refused ({refused.refusal.reason}: {refused.refusal.detail})") from None
    except (OSError, ValueError) as exc:
        raise UserError(str(exc)) from None
    return [ImageRow(listing_id="", market="", vendor="", sha256=facts.sha256, phash=facts.phash, dhash=facts.dhash)]


def _similar(store, photos, target: str, max_sum: int, as_json: bool, config) -> int:
    asked = _asked(store, photos, target, config)
    found = photos.elsewhere(asked, max_sum)
    titles: dict[str, str] = {}
    for photo, match in found:
        row = match.row
        if row.listing_id not in titles:
            doc = store.get_listing(row.listing_id)
            titles[row.listing_id] = doc.data.listing.title if doc else ""
        if as_json:
            print(json.dumps({"photo": photo.sha256, "listing_id": row.listing_id, "market": row.market,
                              "vendor": row.vendor, "sha256": row.sha256, "phash_distance": match.phash_distance,
                              "dhash_distance": match.dhash_distance, "title": titles[row.listing_id]},
                             ensure_ascii=False))
        else:
            print(f"distance {match.distance:2d} (pHash {match.phash_distance} + dHash {match.dhash_distance})  "
                  f"{row.market} · {row.vendor} · {titles[row.listing_id]!r}  listing {row.listing_id}  "
                  f"photo {row.sha256[:12]}")
    print(f"{len(found)} near-identical photo(s) on other listings (pHash + dHash ≤ {max_sum}) among "
          f"{len(photos)} stored photos", file=sys.stderr)
    return 0


def _links(store, photos, max_sum: int, as_json: bool) -> int:
    links = photos.vendor_links(max_sum)
    for link in links:
        if as_json:
            print(json.dumps({"vendor_a": link.vendor_a, "vendor_b": link.vendor_b,
                              "photo_a": link.photo_a.model_dump(), "photo_b": link.photo_b.model_dump(),
                              "phash_distance": link.phash_distance, "dhash_distance": link.dhash_distance,
                              "shared_photos": link.shared_photos}, ensure_ascii=False))
        else:
            print(f"{link.photo_a.market} · {link.photo_a.vendor}  ⇄  {link.photo_b.market} · {link.photo_b.vendor}"
                  f"  distance {link.distance} (pHash {link.phash_distance} + dHash {link.dhash_distance}), "
                  f"{link.shared_photos} shared photo(s); listings {link.photo_a.listing_id} / "
                  f"{link.photo_b.listing_id}")
    print(f"{len(links)} pair(s) of vendors linked by a shared photo among {len(photos)} stored photos",
          file=sys.stderr)
    return 0
