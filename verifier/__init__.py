"""The verifier: checks, talent-list policy, CLI and service."""
