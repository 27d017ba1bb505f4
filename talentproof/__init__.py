"""TalentProof: verifiable, ledger-anchored credentials for talent-list claims."""
