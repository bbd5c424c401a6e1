"""`interdict import` (interdict/commands/imports.py): pages, archives, WARC files and datasets
brought into the store."""
