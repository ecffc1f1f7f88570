#!/usr/bin/env python3
"""Screenshots for the README, taken from a running ``make run``.

Logs in, drives headless Chromium over its DevTools websocket (the protocol
Odoo's browser tests use) and saves PNGs under ``docs/``:

- ``docs/screenshot-dashboard.png``: Marketplace > Dashboard;
- ``docs/screenshot-order.png``: a Cartona order, its Cartona tab open;
- ``docs/screenshot-assistant.png``: the catalogue mapping assistant's review
  list, opened by "Map Catalogue" on the marketplace's configuration.

    python scripts/screenshots.py --url http://127.0.0.1:8069 --database cartona
"""

import argparse
import base64
import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests
import websocket

DOCS = Path(__file__).resolve().parent.parent / "docs"
WIDTH, HEIGHT = 1440, 900


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8069", help="the Odoo of make run")
    parser.add_argument("--database", default="cartona")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("google-chrome") or "chromium")
    return parser.parse_args()


class Odoo:
    def __init__(self, url, database, login, password):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        answer = self.rpc("/web/session/authenticate", {"db": database, "login": login, "password": password})
        if not answer.get("uid"):
            raise SystemExit(f"cannot log in as {login}")

    def rpc(self, path, params):
        answer = self.session.post(self.url + path, json={"jsonrpc": "2.0", "params": params}, timeout=30).json()
        if "error" in answer:
            raise SystemExit(f"{path}: {answer['error']['data']['message']}")
        return answer["result"]

    def call(self, model, method, *args, **kwargs):
        params = {"model": model, "method": method, "args": list(args), "kwargs": kwargs}
        return self.rpc("/web/dataset/call_kw", params)


class Chromium:
    """Headless Chromium, one page, spoken to over the DevTools protocol."""

    def __init__(self, binary):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.profile = tempfile.mkdtemp(prefix="cartona-shots-")
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--window-size={WIDTH},{HEIGHT}",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        page = self._page(port)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)

    def _page(self, port):
        for _attempt in range(100):
            try:
                pages = requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json()
                page = next((p for p in pages if p.get("type") == "page"), None)
                if page:
                    return page
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise SystemExit("Chromium did not start")

    def send(self, method, **params):
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise SystemExit(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_for(self, selector, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(f"!!document.querySelector({json.dumps(selector)})"):
                return
            time.sleep(0.2)
        raise SystemExit(f"{selector} did not show")

    def shoot(self, path):
        time.sleep(1)  # animations and late figures settle
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print(f"saved {path.relative_to(DOCS.parent)}")

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=10)
            shutil.rmtree(self.profile, ignore_errors=True)


def main():
    args = parse_args()
    odoo = Odoo(args.url, args.database, args.login, args.password)
    order = odoo.call(
        "sale.order",
        "search_read",
        [("is_marketplace_order", "=", True)],
        ["id", "marketplace_config_id"],
        limit=1,
        order="state desc, id desc",  # a confirmed one when there is one
    )
    if not order:
        raise SystemExit("no Cartona order yet: let make run pull a few")
    browser = Chromium(args.chromium)
    try:
        host = args.url.split("://", 1)[1].split("/", 1)[0].split(":")[0]
        browser.send("Network.enable")
        browser.send(
            "Network.setCookie",
            name="session_id",
            value=odoo.session.cookies["session_id"],
            domain=host,
            path="/",
        )
        base = args.url.rstrip("/")
        DOCS.mkdir(exist_ok=True)

        browser.send("Page.navigate", url=f"{base}/odoo/action-cartona_marketplace.action_marketplace_dashboard")
        browser.wait_for(".o_marketplace_dashboard .o_kanban_record")
        browser.shoot(DOCS / "screenshot-dashboard.png")

        browser.send(
            "Page.navigate", url=f"{base}/odoo/action-cartona_marketplace.action_marketplace_orders/{order[0]['id']}"
        )
        browser.wait_for(".o_form_view .o_notebook")
        browser.evaluate(
            "[...document.querySelectorAll('.o_notebook a.nav-link')]"
            ".find((tab) => tab.textContent.trim() === 'Cartona').click()"
        )
        browser.wait_for(".o_field_widget[name='marketplace_order_number']")
        browser.shoot(DOCS / "screenshot-order.png")

        # The assistant is a button of the order's marketplace: it reads the
        # catalogue, then opens the review list of its proposals.
        config_id = order[0]["marketplace_config_id"][0]
        browser.send(
            "Page.navigate", url=f"{base}/odoo/action-cartona_marketplace.action_marketplace_config/{config_id}"
        )
        button = ".o_form_view button[name='action_open_mapping_assistant']"
        browser.wait_for(button)
        browser.evaluate(f"document.querySelector({json.dumps(button)}).click()")
        browser.wait_for(".o_list_view .o_data_row")
        browser.shoot(DOCS / "screenshot-assistant.png")
    finally:
        browser.close()


if __name__ == "__main__":
    main()
