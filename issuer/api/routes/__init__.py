"""One router per resource of the issuer's API; `api.main.create_app` includes them in order."""
