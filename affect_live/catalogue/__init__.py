"""Published per-frame models, fetched when the user asks: the catalogue (entries), where they
are installed (store), the download (download) and the import into a bundle (install)."""
