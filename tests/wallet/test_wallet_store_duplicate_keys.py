"""The CLI wallet reads its stored credentials as the verifier reads a file: a stored file
giving a key twice is refused, naming the key and the file (``wallet list`` and ``wallet
present`` read them through `Wallet.credentials`).

The wallet writes its files itself (no duplicate), but its folder is the user's: a credential
file copied in, or edited, was read with ``json.loads`` keeping the last of two values, and
listed and offered as that document, where a reader keeping the first (and the verifier, which
refuses it at check 1) reads another.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talentproof.credential.examples import degree
from talentproof.wallet.errors import WalletError
from talentproof.wallet.store import Wallet


def test_a_stored_credential_giving_a_key_twice_is_refused_naming_it(tmp_path: Path) -> None:
    wallet = Wallet.init(tmp_path / "w")
    doc = degree(wallet.did())
    stored = wallet.add_credential(doc)
    assert [s.document for s in wallet.credentials()] == [doc]
    text = json.dumps(doc)
    stored.path.write_text('{"id": "urn:uuid:another", ' + text[1:])
    with pytest.raises(WalletError) as exc:
        wallet.credentials()
    assert "'id'" in str(exc.value) and str(stored.path) in str(exc.value), exc.value
    stored.path.write_text(json.dumps(doc, indent=1))
    assert [s.document for s in wallet.credentials()] == [doc]
