"""The credential format: pure model, canonical form, signatures, Merkle proofs, QR codec.

No network, no web3, no FastAPI; the clock is passed in.

>>> from datetime import UTC, datetime
>>> from talentproof.credential import integrity, keys, model, person
>>> issuer = keys.Ed25519SigningKey.from_seed(bytes(32))
>>> holder = keys.Ed25519SigningKey.from_seed(bytes([1]) * 32).public_key.did_key
>>> when = datetime(2026, 11, 21, tzinfo=UTC)
>>> salt = person.new_salt()  # the holder's, kept in their key file
>>> id_doc = {"documentType": "HKID", "issuingCountry": "HK",
...           "commitment": person.commit_identity_document("HKID", "HK", "A123456(7)", salt)}
>>> doc = model.degree_credential(
...     "did:web:hku.hk", holder, "master", "Computer Science", "The University of Hong Kong",
...     "2020-06-30", subject_name="CHAN Tai Man", birth_date="1990-04-01",
...     identity_document=id_doc, id="urn:uuid:6f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0",
...     valid_from=when)
>>> signed = integrity.sign(doc, issuer,
...     verification_method=issuer.public_key.verification_method, created=when)
>>> integrity.verify(signed).public_key == issuer.public_key
True

Modules: `errors`, `jcs`, `keys`, `integrity`, `merkle`, `anchor`, `types`, `model`, `schemas`,
`validation` (the one schema validator), `issuance` (build, validate and sign one credential or
many: the issuer's single, idempotent and bulk paths), `person` (the subject's name, birth date
and identity-document commitment), `claims` (impossible or future facts), `qr` (`payload`,
`base45`, `image`), `presentation`, `cli` (holder commands), `examples` (sample credentials of
each kind).
"""
