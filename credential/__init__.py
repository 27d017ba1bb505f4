"""The credential format: pure model, canonical form, signatures, Merkle proofs, QR codec.

No network, no web3, no FastAPI; the clock is passed in.

>>> from datetime import UTC, datetime
>>> from talentproof.credential import integrity, keys, model
>>> issuer = keys.Ed25519SigningKey.from_seed(bytes(32))
>>> holder = keys.Ed25519SigningKey.from_seed(bytes([1]) * 32).public_key.did_key
>>> when = datetime(2026, 11, 21, tzinfo=UTC)
>>> doc = model.degree_credential(
...     "did:web:hku.hk", holder, "master", "Computer Science", "The University of Hong Kong",
...     "2020-06-30", id="urn:uuid:6f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0", valid_from=when)
>>> signed = integrity.sign(doc, issuer,
...     verification_method=issuer.public_key.verification_method, created=when)
>>> integrity.verify(signed).public_key == issuer.public_key
True

Modules: `errors`, `jcs`, `keys`, `integrity`, `merkle`, `anchor`, `types`, `model`, `schemas`,
`qr`, `presentation`, `cli` (holder commands), `examples` (sample credentials of each kind).
"""
