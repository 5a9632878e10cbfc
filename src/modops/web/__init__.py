"""Server-rendered UI: Jinja2 templates (autoescaped), vendored htmx, Korean and English."""
