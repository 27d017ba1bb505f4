"""The chain: contract bindings, deployment, local nodes, transactions."""
