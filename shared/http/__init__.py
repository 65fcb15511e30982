"""The HTTP layer every service shares: problem documents, bearer tokens, correlation ids,
idempotent POSTs, and `create_app` wiring them into one FastAPI application."""
