"""FastAPI app: REST API, auth, webhooks (issue 7)."""
