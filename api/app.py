"""The FastAPI application: `create_app(settings)` (started by `inbound serve`, by tests with TestClient).

Start-up (lifespan) runs pipeline.service.start_service: schema upgrade, bootstrap key, dispatcher, webhook
sender, and the demo when asked.  Routers: documents, master data and stock, access and webhooks, the layout
model's versions, operations; the review screen (issue 8) mounts itself if `review_ui.router` exists.
"""

from __future__ import annotations

import importlib
from contextlib import asynccontextmanager
from typing import Callable

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from api import problems
from api.routes import admin, documents, layout_models, learned, master, ops
from pipeline.config import Settings
from pipeline.runtime import Services

API_VERSION = "1.0.0"


def create_app(settings: Settings, *, services: Services | None = None, demo: bool | None = None,
               announce: Callable[[object], None] | None = None) -> FastAPI:
    """The app; `services` already started (tests) or None: started and stopped with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from pipeline.service import load_demo, start_service, stop_service
        own = services is None
        running = start_service(settings) if own else services
        app.state.services = running
        app.state.demo = None
        if (settings.demo if demo is None else demo):
            app.state.demo = load_demo(running)
        if announce is not None:
            announce(app.state)
        try:
            yield
        finally:
            if own:
                stop_service(running)

    app = FastAPI(title="Inbound", version=API_VERSION, lifespan=lifespan,
                  description="Supplier documents in, draft goods receipts out; see DESIGN.md, Contracts.")
    problems.install(app)
    for module in (documents, master, admin, layout_models, learned, ops):
        app.include_router(module.router)
    _mount_review_ui(app)
    return app


def _mount_review_ui(app: FastAPI) -> None:
    """The review screen's routes when review_ui provides a `router`; until then / points to the API docs."""
    try:
        router = getattr(importlib.import_module("review_ui"), "router", None)
    except ImportError:
        router = None
    if router is not None:
        app.include_router(router)
        return

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/docs")
