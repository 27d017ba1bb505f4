"""The issuer's HTTP API (FastAPI), by resource.

- `main`: `create_app`, which assembles the routers, the middleware and the error handlers.
- `deps`: the dependencies every route uses (settings, the service, the caller, idempotent
  writes).
- `routes/`: one router per resource (credentials, status changes, bulk jobs, institutions,
  API keys, publication, health).
- `errors`: domain errors (`issuer.errors`) rendered as HTTP answers, in one place.
- `issuance`: the group commit and the fast path of ``POST /credentials``.
"""
