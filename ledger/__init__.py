"""The chain: contract bindings, deployment, local nodes, transactions.

Modules (import what you need; nothing heavy is imported here):

- `talentproof.ledger.errors`: `LedgerError` and its leaves; typed custom-error reverts.
- `talentproof.ledger.nodes`: `anvil()`, `ganache()`, `LocalNode`, `embedded_chain()`.
- `talentproof.ledger.tx`: `TxSender` (local signing, nonces, fees, send / wait / replace),
  `PendingTx`, `FeeConfig`.
- `talentproof.ledger.deploy`: `deploy_registry`, `ensure_deployed`, the `Deployment` record.
- `talentproof.ledger.client`: `RegistryClient`, typed governance / issuer / anchor bindings.
- `talentproof.ledger.reader`: `RegistryReader`, the verifier's fast raw JSON-RPC read path.
- `talentproof.ledger.link`: `RegistryLink`, the issuer's reads (views, blocks, receipts, logs)
  and `TxSender` accounts on one failover transport.
- `talentproof.ledger.models`: `IssuerInfo`, `AnchorRecord`, `CredentialVerdict`, ...
- `talentproof.ledger.chain`: `connect`, `type_id`, `load_private_key`.
- `talentproof.ledger.artifacts` / `compiler`: the compiled contract artifacts.
"""
