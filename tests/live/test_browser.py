"""The web page in headless Chromium: fake microphone (a real recording) -> translated text and audio.

Chromium is driven through the DevTools protocol over `websockets` (no selenium needed).
Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from voxlate.server.app import create_app
from voxlate.server.config import ServerConfig

from .conftest import VOICE, serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def server(pool):
    """A real uvicorn server on 127.0.0.1 (random port) in a background thread."""
    with serving(create_app(ServerConfig(voice=VOICE, preload=()), pool), 30) as url:
        yield url


class Page:
    """A minimal DevTools-protocol client for one page."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.n = 0

    async def call(self, method: str, **params) -> dict:
        self.n += 1
        await self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise AssertionError(msg["error"])
                return msg["result"]

    async def js(self, expression: str):
        r = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in r:
            raise AssertionError(r["exceptionDetails"])
        return r["result"].get("value")


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install chromium)"
)
def test_page_translates_fake_microphone(server, padded_wav, tmp_path):
    import websockets

    profile = tmp_path / "profile"
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={padded_wav}",
        "--autoplay-policy=no-user-gesture-required",
        "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        f"{server}/",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert port_file.exists(), "chromium did not open its DevTools port"
        devtools = int(port_file.read_text().split()[0])

        async def drive() -> dict:
            page_ws = None
            for _ in range(100):
                targets = httpx.get(f"http://127.0.0.1:{devtools}/json", timeout=5).json()
                pages = [t for t in targets if t["type"] == "page" and t["url"].startswith(server)]
                if pages:
                    page_ws = pages[0]["webSocketDebuggerUrl"]
                    break
                await asyncio.sleep(0.2)
            assert page_ws, "the page did not open"
            async with websockets.connect(page_ws, max_size=2**24) as ws:
                page = Page(ws)
                ready = "!!(window.voxlate && document.getElementById('voice'))"
                for _ in range(300):  # the page and app.js loaded (at most 30 s)
                    if await page.js(ready):
                        break
                    await asyncio.sleep(0.1)
                assert await page.js(ready), "the page did not load"
                await page.js(f"document.getElementById('voice').value = '{VOICE}'")
                await page.js("document.getElementById('start').click()")
                counts: dict = {}
                for _ in range(900):  # at most 90 s
                    counts = await page.js("window.voxlate.counts")
                    if counts["translations"] >= 1 and counts["samples"] > 8000:
                        break
                    await asyncio.sleep(0.1)
                counts["heard"] = await page.js(
                    "Array.from(document.querySelectorAll('#rows .heard')).map(e => e.textContent)"
                )
                counts["said"] = await page.js(
                    "Array.from(document.querySelectorAll('#rows .said')).map(e => e.textContent)"
                )
                counts["status"] = await page.js("document.getElementById('status').textContent")
                # Pairs and voices come from the server; no token box without a token.
                counts["pairs"] = await page.js(
                    "Array.from(document.querySelectorAll('#pair option')).map(o => o.value)"
                )
                counts["token_box_hidden"] = await page.js(
                    "document.getElementById('token-box').hidden"
                )
                counts["samples_shown"] = await page.js(
                    "document.body.innerText.includes('samples')"
                )
                # Each translated utterance can be replayed and downloaded as a wav.
                for _ in range(300):
                    if await page.js("document.querySelectorAll('#rows a.download').length"):
                        break
                    await asyncio.sleep(0.1)
                counts["download"] = await page.js(
                    "Array.from(document.querySelectorAll('#rows a.download')).map(a => a.download)"
                )
                counts["wav_bytes"] = await page.js(
                    "(async () => { const a = document.querySelector('#rows a.download');"
                    " if (!a) return 0; const b = await (await fetch(a.href)).arrayBuffer();"
                    " return b.byteLength; })()"
                )
                counts["replay"] = await page.js(
                    "document.querySelectorAll('#rows button.replay').length"
                )
                # A file uploaded to /v1/translate comes back as text and a playable wav.
                await page.js("document.getElementById('stop').click()")
                doc = await page.call("DOM.getDocument")
                node = await page.call(
                    "DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#file"
                )
                await page.call(
                    "DOM.setFileInputFiles", files=[str(padded_wav)], nodeId=node["nodeId"]
                )
                await page.js("document.getElementById('upload').click()")
                for _ in range(900):  # at most 90 s
                    if await page.js("!!document.querySelector('#upload-result audio')"):
                        break
                    if "error" in (
                        await page.js("document.getElementById('upload-result').textContent")
                    ):
                        break
                    await asyncio.sleep(0.1)
                counts["upload_text"] = await page.js(
                    "document.getElementById('upload-result').textContent"
                )
                counts["upload_audio"] = await page.js(
                    "!!document.querySelector('#upload-result audio')"
                )
                return counts

        result = asyncio.run(drive())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert result["errors"] == 0, result
    assert result["translations"] >= 1 and result["audio"] >= 1 and result["samples"] > 8000, result
    assert any("young man" in h.lower() for h in result["heard"]), result
    assert any(s.strip() for s in result["said"]), result
    assert "en-es" in result["pairs"] and result["token_box_hidden"], result
    assert not result["samples_shown"], result
    assert result["download"] and result["download"][0].endswith(".wav"), result
    assert result["wav_bytes"] > 44 + 8000 and result["replay"] >= 1, result
    assert result["upload_audio"] and "error" not in result["upload_text"], result
    assert result["upload_text"].strip(), result
