"""Pictures of TalentProof QR codes for the tests of reading them (several codes in one picture,
plain and inverted), the credentials they show, and the verifier (service and CLI) they go to."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image
from typer.testing import CliRunner

from talentproof.credential.anchor import split_anchor
from talentproof.credential.merkle import credential_hash
from tests.chainkit import DEGREE, holder, issue


def gray(png: bytes) -> Image.Image:
    """A PNG as a grayscale image."""
    return Image.open(io.BytesIO(png)).convert("L")


def side_by_side(*images: Image.Image, gap: int = 0) -> bytes:
    """One white PNG showing ``images`` left to right, ``gap`` pixels apart."""
    width = sum(i.width for i in images) + gap * (len(images) - 1)
    page = Image.new("L", (width, max(i.height for i in images)), 255)
    x = 0
    for image in images:
        page.paste(image, (x, 0))
        x += image.width + gap
    out = io.BytesIO()
    page.save(out, format="PNG")
    return out.getvalue()


def two_codes(scheme: str) -> tuple[str, str]:
    """Two different codes of one kind for the wallet to read from one picture: the one asked for
    and an attacker's. ``scheme`` "openid4vp" (an officer's presentation request), else
    "openid-credential-offer" (an institution's offer); nothing listens on port 9, so a wallet
    that goes on fails at once, at the network."""
    if scheme == "openid4vp":
        a, b = (
            f"openid4vp://?client_id=decentralized_identifier%3Adid%3Akey%3Az6Mk{who}"
            f"&request_uri=http%3A%2F%2F127.0.0.1%3A9%2F{who}%2Frequest.jwt"
            for who in ("officer", "attacker")
        )
    elif scheme == "openid-credential-offer":
        a, b = (
            f"openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A9%2F{who}"
            for who in ("institution", "attacker")
        )
    else:
        raise ValueError(f"scheme {scheme!r}: expected 'openid4vp' or 'openid-credential-offer'")
    return a, b


def valid_and_revoked_degrees(vchain: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two anchored degrees of one holder from the University of Hong Kong, the second revoked."""
    uni = vchain.issuers["University of Hong Kong"]
    s = holder().public_key.did_key
    valid = issue(vchain, uni, DEGREE, s)
    revoked = issue(vchain, uni, DEGREE, s)
    uni.client.revoke_credential(credential_hash(split_anchor(revoked)[0]))
    return valid, revoked


@contextmanager
def verifier_on(vchain: Any, folder: Path, pictures: dict[str, bytes]) -> Iterator[dict[str, Any]]:
    """``pictures`` (file name -> PNG) written in ``folder``, and the verifier service (a
    TestClient) trusting ``vchain``'s deployment, recorded there: {dir, record, chain, client}."""
    from fastapi.testclient import TestClient

    from talentproof.verifier.service import ServiceSettings, create_app

    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    record = folder / "deployment.json"
    vchain.deployment.save(record)
    app_ = create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record)))
    with TestClient(app_) as client:
        yield {"dir": folder, "record": str(record), "chain": vchain, "client": client}


def verify_cli(env: dict[str, Any], *args: Any) -> Any:
    """``talentproof verify`` against ``env``'s chain and recorded deployment."""
    from talentproof.cli import app

    return CliRunner().invoke(
        app, ["verify", "--rpc", env["chain"].rpc_url, "--trust", env["record"], *map(str, args)]
    )
