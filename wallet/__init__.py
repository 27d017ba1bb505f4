"""The applicant's wallet: holder keys, credentials received over OpenID4VCI 1.0 and presented
over OpenID4VP 1.0 (docs/openid4vc.md), as the ``talentproof wallet`` CLI and a browser page.

It is the holder's side: it imports the credential format only, never the issuer, the verifier
or the ledger (import-linter contract ``wallet-holder-side``).
"""
