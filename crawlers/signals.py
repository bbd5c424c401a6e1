"""Signals between the crawl's components (crawlers.frontier settles leases on them)."""

# Sent by the index pipeline once a batch is durable (in the store, or in its spool): items.
items_committed = object()
# Sent by the index pipeline once a batch is in the store: changes, the listing and vendor
# documents it added or changed (contracts.documents ListingChange, VendorChange: before, after).
documents_changed = object()
# Sent by FrontierMiddleware once a page's callback has given all it will (response, items).
page_done = object()
# Sent by a spider whose errback handled a failed request: nothing more will come of it.
request_settled = object()
