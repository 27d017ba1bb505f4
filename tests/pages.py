"""What the page tests share: a service served on the loopback (uvicorn in a thread), the
browser wallet's page served, and headless Chromium (Debian's chromium + chromedriver)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any, port: int, start_s: float = 30) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on ``port`` of the loopback: its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_s
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def verifier_service(vchain: Any, folder: Path, **settings: Any) -> Iterator[str]:
    """The verifier service on ``vchain``, trusting its deployment (recorded in ``folder``);
    ``settings``: other ``ServiceSettings`` fields."""
    from talentproof.verifier.service import ServiceSettings, create_app

    record = folder / "deployment.json"
    vchain.deployment.save(record)
    app = create_app(ServiceSettings(rpc_url=vchain.rpc_url, trust=str(record), **settings))
    with served(app, free_port()) as url:
        yield url


@contextmanager
def wallet_page() -> Iterator[str]:
    """The browser wallet's page (``talentproof wallet serve``) on the loopback: its URL."""
    from talentproof.wallet.serve import make_server

    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium(
    profile: Any,
    width: int = 1200,
    height: int = 1600,
    extra: tuple[str, ...] = (),
    *,
    log_network: bool = False,
) -> Any:
    """A headless Chromium driver with its own profile folder and window size."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        *extra,
    ):
        opts.add_argument(arg)
    if log_network:  # every request the page makes, read back with get_log("performance")
        opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    return driver


@contextmanager
def chromium_open(profile: Any, width: int = 1200, height: int = 1600, **kw: Any) -> Iterator[Any]:
    """``chromium(...)``, quit when the block ends."""
    driver = chromium(profile, width, height, **kw)
    try:
        yield driver
    finally:
        driver.quit()
