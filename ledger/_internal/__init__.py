"""Internals of ``talentproof.ledger``: not part of its API, no stability guarantees.

- `transport`: JSON-RPC over one keep-alive HTTP(S) connection (`HttpTransport`), and its
  reference twin over ``http.client`` (`StdlibTransport`).
- `verdict`: the ``verifyCredential`` calldata and verdict codec, and the calldata and answer of
  the batched read through ``contracts/utils/VerificationBatch.sol``.
- `views`: every read of a registry view (`RegistryViews`: ``call`` and the typed reads), the one
  block-head decoder and the argument parsers, shared by the reader, the link and the client.
- `web3views`: `RegistryViews` on a `web3.Web3` (`Web3Registry`: blocks, receipts, events,
  senders), what `link.RegistryLink` and `client.RegistryClient` are built on.
- `provider`: a web3 provider over the failover transport (`endpoints.RpcEndpoints`).

Modules outside ``talentproof.ledger`` use `talentproof.ledger.reader.RegistryReader` instead.
"""
