"""The credential format: pure model, canonical form, signatures, Merkle proofs, QR codec."""
