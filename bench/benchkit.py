"""What the benchmark scripts share (not a benchmark: `run_all.py` leaves it out).

Each script still runs alone as ``python bench/<script>.py``: Python puts bench/ first on the
import path, so ``from benchkit import ...`` finds this file.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson

from talentproof.credential.examples import PERSON

HERE = Path(__file__).resolve().parent


def degree_request(holder: str, field_of_study: str, institution: str) -> bytes:
    """The JSON body of ``POST /credentials`` for a master's degree awarded to ``holder``."""
    return orjson.dumps(
        {
            "type": "DegreeCredential",
            "credentialSubject": {
                "id": holder,
                **PERSON,
                "degree": {
                    "type": "Degree",
                    "level": "master",
                    "fieldOfStudy": field_of_study,
                    "institution": {"name": institution},
                    "awardDate": "2026-06-30",
                },
            },
        }
    )


async def post_credential(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    token: str,
    key: str,
    body: bytes,
) -> bytes:
    """Send one ``POST /credentials`` on a keep-alive HTTP/1.1 connection (raw asyncio streams:
    a light load generator) and read the whole answer; its status line."""
    writer.write(
        (
            f"POST /credentials HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status_line


def write_results(text: str, script: str) -> None:
    """Put ``text`` in bench/results.md as the section ``## <script>`` (the script's stem),
    replaced; the other sections are kept."""
    path = HERE / "results.md"
    title = f"## {script}"
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    section = [
        title,
        "",
        f"Measured {when} by `bench/{script}.py --results` (this section only).",
        "",
        "```",
        text.rstrip(),
        "```",
        "",
    ]
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if title in lines:
        start = lines.index(title)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = section
    else:
        lines += ["", *section] if lines and lines[-1] else section
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
