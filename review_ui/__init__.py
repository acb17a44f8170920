"""The review web screen (issue 8): server-rendered pages served by the API's app.

`router` (a FastAPI APIRouter) holds every page: login, the queue, the document screen, the stock view; api/app.py
includes it when it is here.  Pages are Jinja2 templates (autoescaped) with a little plain JavaScript from
static files; a Content-Security-Policy forbids inline script, forms carry a CSRF token.
"""

from review_ui.routes import router

__all__ = ["router"]
