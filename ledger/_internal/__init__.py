"""Internals of ``talentproof.ledger``: not part of its API, no stability guarantees.

- `transport`: JSON-RPC over one keep-alive HTTP(S) connection (`HttpTransport`), and its
  reference twin over ``http.client`` (`StdlibTransport`).
- `verdict`: the ``verifyCredential`` calldata and verdict codec, and the calldata and answer of
  the batched read through ``contracts/utils/VerificationBatch.sol``.

Modules outside ``talentproof.ledger`` use `talentproof.ledger.reader.RegistryReader` instead.
"""
