"""The issuer's use cases, one module per resource.

Each takes the service's collaborators (`Collaborators`: settings, database sessions, the chain
gateway, the caches, the key vault, metrics), returns domain results (plain JSON-ready bodies or
dataclasses) and raises `issuer.errors` leaves; none knows HTTP. The SQL they need is in
`issuer.store`. `issuer.service.IssuerService` builds them and delegates to them.
"""

from .collaborators import Collaborators

__all__ = ["Collaborators"]
