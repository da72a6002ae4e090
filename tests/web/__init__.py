"""The web adapter: the API, its security and bounds, the pages in Chromium."""
