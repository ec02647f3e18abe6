"""URL patterns of the API, one module per area (included by todo/urls.py under /v1)."""
