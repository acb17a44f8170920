"""The review web screen (issue 8): server-rendered pages served by the API's app.

`router` (a FastAPI APIRouter) holds every page: login, the queue, the document screen, the stock view
(review_ui/routes.py) and the admin pages (review_ui/admin.py: users, API keys, webhooks, learned facts);
api/app.py includes it when it is here.  Pages are Jinja2 templates (autoescaped) with a little plain JavaScript
from static files; a Content-Security-Policy forbids inline script, forms carry a CSRF token.
"""

from fastapi import APIRouter

from review_ui import admin, desk_routes, lines_routes, routes, stock_routes

router = APIRouter(include_in_schema=False)
router.include_router(routes.router)
router.include_router(admin.router)
router.include_router(lines_routes.router)
router.include_router(desk_routes.router)
router.include_router(stock_routes.router)

__all__ = ["router"]
