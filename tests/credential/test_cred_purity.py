"""`talentproof.credential` is pure: importing all of it pulls in no network or web stack."""

from __future__ import annotations

import subprocess
import sys


def test_credential_package_imports_no_network_stack() -> None:
    code = (
        "import sys\n"
        "import talentproof.credential.anchor, talentproof.credential.integrity\n"
        "import talentproof.credential.merkle, talentproof.credential.model\n"
        "import talentproof.credential.presentation, talentproof.credential.qr\n"
        "import talentproof.credential.jcs, talentproof.credential.keys\n"
        "import talentproof.credential.examples\n"
        "bad = [m for m in ('web3', 'fastapi', 'httpx', 'requests', 'urllib3', 'starlette',\n"
        "                   'talentproof.ledger', 'talentproof.issuer', 'talentproof.verifier')\n"
        "       if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
