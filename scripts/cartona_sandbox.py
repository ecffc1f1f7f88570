#!/usr/bin/env python3
"""Cartona sandbox: a small stand-in for Cartona's supplier API, for demos and tests.

Standard library only. Serves ``/api/v1/`` the way docs/running.md describes:
orders appear every few seconds and move forward, the connector acknowledges
them (status ``synced``), pushes statuses and publishes prices and stock.
``GET /sandbox/state`` shows what it has received; ``GET /sandbox/journal?since=N``
what happened when, to the microsecond (``scripts/latency.py`` reads it).

    python3 scripts/cartona_sandbox.py --port 8070 --token sandbox-token --seed 7
"""

import argparse
import copy
import json
import random
import signal
import string
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/api/v1/"
DEFAULT_AUTH_HEADER = "AuthorizationToken"
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200

# What the supplier sells on Cartona. ``price`` is per Cartona unit (a box of
# 12 costs ``price``); ``offer_price`` is a cheaper price for the first few
# units of some orders; ``weight`` and ``amounts`` shape the random orders.
CATALOGUE = (
    {
        "supplier_product_id": "311001",
        "internal_product_id": "311#1",
        "product_name": "زيت عباد الشمس - 1 لتر -- كرتونة",
        "unit": "box",
        "unit_count": 12,
        "price": 474.0,
        "offer_price": 450.0,
        "weight": 3,
        "amounts": (1, 6),
    },
    {
        "supplier_product_id": "518001",
        "internal_product_id": "518#1",
        "product_name": "أرز مصري - 1 كجم",
        "unit": "packet",
        "unit_count": 1,
        "price": 30.0,
        "weight": 3,
        "amounts": (5, 40),
    },
    {
        "supplier_product_id": "220731",
        "internal_product_id": "904#2",
        "product_name": "مشروب غازي - 330 ملل -- كرتونة",
        "unit": "box",
        "unit_count": 24,
        "price": 204.0,
        "offer_price": 180.0,
        "weight": 3,
        "amounts": (1, 8),
    },
    {
        "supplier_product_id": "220790",
        "internal_product_id": "1679#2",
        "product_name": "سكر أبيض - 1 كجم",
        "unit": "kg",
        "unit_count": 1,
        "price": 28.0,
        "weight": 2,
        "amounts": (5, 50),
    },
    {
        "supplier_product_id": "330412",
        "internal_product_id": "1204#1",
        "product_name": "مكرونة - 400 جم",
        "unit": "packet",
        "unit_count": 1,
        "price": 12.5,
        "weight": 2,
        "amounts": (10, 60),
    },
    {
        "supplier_product_id": "440918",
        "internal_product_id": "2210#3",
        "product_name": "شاي أسود - 25 فتلة -- كرتونة",
        "unit": "box",
        "unit_count": 12,
        "price": 540.0,
        "weight": 2,
        "amounts": (1, 4),
    },
    {
        "supplier_product_id": "550123",
        "internal_product_id": "3307#1",
        "product_name": "سمن بلدي - 1.5 كجم",
        "unit": "jar",
        "unit_count": 1,
        "price": 315.0,
        "weight": 1,
        "amounts": (1, 5),
    },
)
SERVED_PRODUCT_FIELDS = ("supplier_product_id", "internal_product_id", "product_name", "unit", "unit_count")
OFFER_MAX_AMOUNT = 3

# Retailers, with their number written the ways Cartona sends it.
RETAILERS = (
    {
        "retailer_name": "سوبر ماركت الأمل",
        "retailer_code": "B01142",
        "number": "1112223334",
        "retailer_address": "شارع التحرير، الدقي، الجيزة",
        "address_notes": "بجوار الصيدلية",
    },
    {
        "retailer_name": "بقالة الحاج سيد",
        "retailer_code": None,
        "number": "1009876543",
        "retailer_address": "المنشية، الإسكندرية",
        "address_notes": "",
    },
    {
        "retailer_name": "ماركت النور",
        "retailer_code": "B02210",
        "number": "1225550143",
        "retailer_address": "شارع الهرم، الجيزة",
        "address_notes": "الدور الأرضي",
    },
    {
        "retailer_name": "Fresh Corner Market",
        "retailer_code": "C00077",
        "number": "1234567890",
        "number2": "1234567891",
        "retailer_address": "Nasr City, Cairo",
        "address_notes": "",
    },
    {
        "retailer_name": "بقالة أم محمد",
        "retailer_code": "B03318",
        "number": "1067788899",
        "retailer_address": "شارع الجمهورية، المنصورة",
        "address_notes": "أمام المسجد",
    },
)
PHONE_FORMATS = ("+20{n}", "0020{n}", "0{n}", "+20 {a} {b} {c}")
NOTES = ("", "", "الرجاء الاتصال قبل التوصيل", "التوصيل صباحاً فقط", "Please deliver before noon")

# The statuses Cartona moves an order through by itself, in order.
FORWARD = {"pending": "approved", "approved": "assigned_to_salesman", "assigned_to_salesman": "delivered"}
FINAL_STATUSES = ("delivered", "cancelled_by_retailer", "cancelled_by_supplier", "returned")
SUPPLIER_STATUSES = ("synced", "pending", "approved", "assigned_to_salesman", "delivered", "cancelled_by_supplier")
RANK = {"pending": 0, "editing": 0, "approved": 1, "assigned_to_salesman": 2, "delivered": 3}
CANCELLATION_REASONS = (
    "out_of_stock",
    "cannot_deliver_the_order",
    "supplier_asked_me_to_cancel",
    "delayed_order",
    "pending_order_without_action",
    "removed_items",
    "supplier_attitude",
    "missing_items",
    "expired_products",
    "different_prices",
    "different_products",
)
# What ``--fault-rate`` draws from, the way a real API and the network between
# fail: server errors, throttling, a proxy's HTML error page, an answer that
# comes after the client gave up (the request still applied), and a
# connection dropped before or after the request applied.
FAULTS = ("500", "502", "503", "429", "html", "timeout", "drop", "drop-after")
HTML_ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>"
)
PRODUCT_UPDATE_FIELDS = (
    "selling_price",
    "available_stock_quantity",
    "in_stock",
    "is_unlimited_stock",
    "min_order",
    "max_order",
    "is_published",
    "remind_me_at_stock",
    "notes",
)


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def stamp(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def precise_now():
    """UTC to the microsecond, as Odoo stores its dates: the journal's clock."""
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def parse_moment(value):
    """A ``from``/``to`` parameter as the sandbox's UTC timestamp string, or None."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("T", " ").replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if moment.tzinfo:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return stamp(moment)


def log(message):
    print(f"{stamp(utcnow())} {message}", flush=True)


class SandboxError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Sandbox:
    """Cartona's side: orders, what the supplier said about them, and the
    published catalogue. Thread-safe; every public method takes the lock."""

    def __init__(self, token, seed=None, fail_rate=0.0, auth_header=DEFAULT_AUTH_HEADER, state_file=None):
        self.token = token
        self.auth_header = auth_header
        self.fail_rate = fail_rate
        self.seed = seed if seed is not None else random.SystemRandom().randrange(1_000_000)
        self.rng = random.Random(self.seed)
        self.fail_rng = random.Random(f"{self.seed}-failures")
        self.fault_rate = 0.0
        self.fault_delay = 5.0
        self.faults = {}  # fault -> times injected
        self.ticking = True
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.orders = {}  # hashed_id -> record (see _new_record)
        self.published = {}  # supplier_product_id -> what the supplier published, with counters
        self.acknowledgements = []
        self.status_updates = []
        # What happened when, to the microsecond, for latency figures: orders
        # made ("order"), pulls ("pull"), acknowledgements ("ack"), statuses
        # ("status") and product updates ("product") received.
        self.journal = []
        self.next_line_id = 60001
        self.next_receipt = 1
        self.requests = 0
        if self.state_file and self.state_file.exists():
            self._load()

    # Persistence -------------------------------------------------------

    def _load(self):
        saved = json.loads(self.state_file.read_text(encoding="utf-8"))
        self.orders = saved["orders"]
        self.published = saved["published"]
        self.acknowledgements = saved["acknowledgements"]
        self.status_updates = saved["status_updates"]
        self.journal = saved.get("journal", [])
        self.next_line_id = saved["next_line_id"]
        self.next_receipt = saved["next_receipt"]
        self.seed = saved["seed"]
        version, internal, gauss = saved["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        log(f"state loaded from {self.state_file}: {len(self.orders)} orders")

    def save(self):
        if not self.state_file:
            return
        with self.lock:
            data = {
                "seed": self.seed,
                "orders": self.orders,
                "published": self.published,
                "acknowledgements": self.acknowledgements,
                "status_updates": self.status_updates,
                "journal": self.journal,
                "next_line_id": self.next_line_id,
                "next_receipt": self.next_receipt,
                "rng": self.rng.getstate(),
            }
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.state_file)

    def note(self, kind, **data):
        with self.lock:
            self.journal.append({"at": precise_now(), "kind": kind, **data})

    def journal_since(self, start=0):
        with self.lock:
            return {"next": len(self.journal), "events": copy.deepcopy(self.journal[start:])}

    # Orders made by "Cartona" ----------------------------------------------

    def _catalogue_entry(self, supplier_product_id=None, internal_product_id=None):
        for entry in CATALOGUE:
            if supplier_product_id is not None:
                if entry["supplier_product_id"] == str(supplier_product_id):
                    return entry
            elif internal_product_id is not None and entry["internal_product_id"] == str(internal_product_id):
                return entry
        return None

    def _price(self, entry):
        """The price a retailer pays now: the last one published, else the catalogue's."""
        published = self.published.get(entry["supplier_product_id"], {})
        price = published.get("selling_price")
        return float(price) if price else entry["price"]

    def _sellable(self, entry):
        published = self.published.get(entry["supplier_product_id"], {})
        if published.get("is_published") is False or published.get("in_stock") is False:
            return False
        return published.get("available_stock_quantity", 1) > 0 or published.get("is_unlimited_stock") is True

    def _pick_products(self, count):
        """``count`` distinct catalogue entries, drawn by weight."""
        pool = [entry for entry in CATALOGUE if self._sellable(entry)]
        picked = []
        while pool and len(picked) < count:
            entry = self.rng.choices(pool, weights=[e["weight"] for e in pool])[0]
            pool.remove(entry)
            picked.append(entry)
        return picked

    def _phone(self, number):
        fmt = self.rng.choice(PHONE_FORMATS)
        return fmt.format(n=number, a=number[:3], b=number[3:6], c=number[6:])

    def _line(self, entry, amount, price, price_key):
        line = {
            "id": self.next_line_id,
            "supplier_product_id": entry["supplier_product_id"],
            "internal_product_id": entry["internal_product_id"],
            "product_name": entry["product_name"],
            "unit": entry["unit"],
            "unit_count": entry["unit_count"],
            "amount": amount,
            price_key: price,
            "applied_supplier_discount": 0,
            "applied_cartona_discount": 0,
            "comment": None,
        }
        self.next_line_id += 1
        return line

    def _hashed_id(self):
        alphabet = string.ascii_letters + string.digits
        while True:
            hashed_id = "".join(self.rng.choice(alphabet) for _i in range(8))
            if hashed_id not in self.orders:
                return hashed_id

    def new_order(self):
        """A new pending order from a random retailer; returns its payload."""
        with self.lock:
            rng = self.rng
            retailer = rng.choice(RETAILERS)
            price_key = "price" if rng.random() < 0.3 else "selling_price"
            lines = []
            for entry in self._pick_products(rng.randint(1, 4)):
                amount = rng.randint(*entry["amounts"])
                stock = self.published.get(entry["supplier_product_id"], {}).get("available_stock_quantity")
                if isinstance(stock, int) and stock > 0:
                    amount = min(amount, stock)
                price = self._price(entry)
                if entry.get("offer_price") and amount > 1 and rng.random() < 0.5:
                    # An offer: a few units cheaper, the rest at the normal price.
                    offer = min(OFFER_MAX_AMOUNT, amount - 1)
                    lines.append(self._line(entry, offer, entry["offer_price"], price_key))
                    amount -= offer
                lines.append(self._line(entry, amount, price, price_key))
            if not lines:
                return None
            total = round(sum(line[price_key] * line["amount"] for line in lines), 2)
            hashed_id = self._hashed_id()
            now = utcnow()
            credit = rng.choice((0, 0, 0, 20, 50)) if total > 100 else 0
            payment = rng.random()
            installment = round(total - credit, 2) if payment < 0.12 else 0
            wallet_top_up = rng.choice((50, 100)) if 0.12 <= payment < 0.22 else 0
            by_cartona = rng.random() < 0.15
            delivery = (now + timedelta(days=rng.randint(1, 3))).date().isoformat()
            order = {
                "hashed_id": hashed_id,
                "supplier_code": "1",
                "status": "pending",
                "delivered_by": "delivered_by_cartona" if by_cartona else "delivered_by_supplier",
                "delivery_day": None,
                "estimated_delivery_day": delivery,
                "retailer_preferred_delivery_date": delivery if rng.random() < 0.5 else None,
                "cancellation_reason": "",
                "return_reason": None,
                "total_price": total,
                "applied_supplier_rebate": 0,
                "cartona_credit": credit,
                "installment_cost": installment,
                "wallet_top_up": wallet_top_up,
                "distribution_route_code": f"002#{rng.randint(1, 30):03d}",
                "edited_by_admin": False,
                "receipt_id": f"C-{now.year}-{100000 + self.next_receipt}",
                "note_message": rng.choice(NOTES),
                "retailer": {
                    "retailer_name": retailer["retailer_name"],
                    "retailer_code": retailer["retailer_code"],
                    "retailer_number": self._phone(retailer["number"]),
                    "retailer_number2": self._phone(retailer["number2"]) if retailer.get("number2") else "",
                    "retailer_address": retailer["retailer_address"],
                    "address_notes": retailer["address_notes"],
                },
                "order_details": lines,
            }
            if by_cartona:
                order["pickup_date"] = delivery
                order["pickup_otp"] = f"{rng.randint(0, 999999):06d}"
            self.next_receipt += 1
            otp = f"{rng.randint(0, 9999):04d}" if installment or wallet_top_up else None
            self.orders[hashed_id] = {
                "order": order,
                "otp": otp,
                "version": 1,
                "acked_version": 0,
                "created_at": stamp(now),
                "updated_at": stamp(now),
                "history": [{"at": stamp(now), "by": "cartona", "status": "pending"}],
            }
            self.note("order", hashed_id=hashed_id)
            log(
                f"new order {hashed_id} ({order['receipt_id']}) from {retailer['retailer_name']}: "
                f"{len(lines)} lines, total {total}"
            )
            if otp:
                log(f"OTP for {hashed_id}: {otp}")
            return copy.deepcopy(order)

    def advance(self, hashed_id, status=None):
        """Cartona's side moves the order on (to ``status``, else the next
        step); the order comes back in pull-orders."""
        with self.lock:
            record = self.orders[hashed_id]
            order = record["order"]
            status = status or FORWARD.get(order["status"])
            if not status or order["status"] in FINAL_STATUSES:
                return None
            previous = order["status"]
            order["status"] = status
            now = utcnow()
            if status == "delivered":
                order["delivery_day"] = now.date().isoformat()
            record["version"] += 1
            record["updated_at"] = stamp(now)
            record["history"].append({"at": stamp(now), "by": "cartona", "status": status})
            log(f"order {hashed_id}: {previous} -> {status} (on Cartona)")
            return status

    def tick(self):
        """One step of the clock: a new order, and some orders move forward."""
        with self.lock:
            if not self.ticking:
                return
            self.new_order()
            for hashed_id, record in list(self.orders.items()):
                draw = self.rng.random()
                status = record["order"]["status"]
                if status in FINAL_STATUSES or record["version"] > record["acked_version"]:
                    continue  # the supplier has not seen the last change yet
                if status == "pending" and draw < 0.02:
                    self.advance(hashed_id, "cancelled_by_retailer")
                elif draw < 0.2:
                    self.advance(hashed_id)
            self.save()

    # The supplier's API ------------------------------------------------

    def pull_orders(self, page=1, per_page=DEFAULT_PER_PAGE, date_from=None, date_to=None):
        with self.lock:
            waiting = [
                record
                for record in self.orders.values()
                if record["version"] > record["acked_version"]
                and (not date_from or record["updated_at"] >= date_from)
                and (not date_to or record["updated_at"] <= date_to)
            ]
            start = (page - 1) * per_page
            served = [copy.deepcopy(record["order"]) for record in waiting[start : start + per_page]]
            self.note("pull", page=page, orders=len(served))
            return served

    def update_status(self, item, otp_checked=False):
        """One status update from the supplier; raises SandboxError when refused."""
        if not isinstance(item, dict):
            raise SandboxError(422, "Each update must be an object")
        with self.lock:
            hashed_id = item.get("hashed_id")
            record = self.orders.get(hashed_id) if isinstance(hashed_id, str) else None
            if record is None:
                raise SandboxError(404, f"Order {hashed_id} not found")
            status = item.get("status")
            if status not in SUPPLIER_STATUSES:
                raise SandboxError(422, f"Invalid status {status!r}")
            now = stamp(utcnow())
            if status == "synced":
                record["acked_version"] = record["version"]
                self.acknowledgements.append({"hashed_id": hashed_id, "at": now, "version": record["version"]})
                self.note("ack", hashed_id=hashed_id)
                return
            order = record["order"]
            current = order["status"]
            if current == status:
                return  # already there: harmless
            if current in FINAL_STATUSES:
                raise SandboxError(422, f"Order {hashed_id} is {current}: its status cannot change")
            if status == "cancelled_by_supplier":
                reason = item.get("cancellation_reason")
                if reason not in CANCELLATION_REASONS:
                    raise SandboxError(422, f"Invalid cancellation_reason {reason!r}")
                order["cancellation_reason"] = reason
            elif RANK[status] < RANK.get(current, 0):
                raise SandboxError(422, f"Order {hashed_id} cannot go back from {current} to {status}")
            if status == "delivered" and record["otp"] and item.get("retailer_otp") != record["otp"]:
                raise SandboxError(422, "Invalid OTP" if otp_checked else "This order needs the retailer's OTP")
            if status == "delivered":
                order["delivery_day"] = item.get("delivery_day") or now[:10]
            if item.get("estimated_delivery_day"):
                order["estimated_delivery_day"] = item["estimated_delivery_day"]
            order["status"] = status
            # The supplier's own change: recorded, not sent back to the supplier.
            record["updated_at"] = now
            record["history"].append({"at": now, "by": "supplier", "status": status})
            self.status_updates.append({"hashed_id": hashed_id, "at": now, "from": current, "status": status})
            self.note("status", hashed_id=hashed_id, status=status)
            log(f"order {hashed_id}: {current} -> {status} (by the supplier)")

    def bulk_update_status(self, items):
        results = []
        for item in items:
            hashed_id = item.get("hashed_id") if isinstance(item, dict) else None
            try:
                self.update_status(item)
            except SandboxError as exc:
                results.append({"hashed_id": hashed_id, "success": False, "message": exc.message})
            else:
                results.append({"hashed_id": hashed_id, "status": item["status"], "success": True})
        self.save()
        return results

    def _edit_line(self, order, detail, price_key):
        """One line of a supplier's edit, applied to ``order``; raises SandboxError when refused."""
        if not isinstance(detail, dict):
            raise SandboxError(422, "Each line must be an object")
        amount = detail.get("amount")
        price = detail.get("price")
        for name, value in (("amount", amount), ("price", price)):
            if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or value <= 0):
                raise SandboxError(422, f"{name} must be a number above 0")
        lines = order["order_details"]
        if detail.get("id") is not None:
            line = next((line for line in lines if str(line["id"]) == str(detail["id"])), None)
            if line is None:
                raise SandboxError(404, f"Line {detail['id']} not found in order {order['hashed_id']}")
            if detail.get("cancelled") is True:
                if len(lines) == 1:
                    raise SandboxError(422, "An order keeps one line at least: cancel the order instead")
                lines.remove(line)
                return line
            if amount is None and price is None:
                raise SandboxError(422, "Nothing to change: give amount, price or cancelled")
            line.update({key: value for key, value in (("amount", amount), (price_key, price)) if value is not None})
            return line
        entry = self._catalogue_entry(detail.get("supplier_product_id"), detail.get("internal_product_id"))
        if entry is None:
            raise SandboxError(404, "Product not found")
        if amount is None:
            raise SandboxError(422, "amount must be a number above 0")
        line = self._line(entry, amount, price if price is not None else self._price(entry), price_key)
        lines.append(line)
        return line

    def update_details(self, item):
        """A supplier's edit of one order's lines: a result per line, each line
        accepted or refused alone; the total follows the lines."""
        if not isinstance(item, dict):
            raise SandboxError(422, "Each edit must be an object")
        with self.lock:
            hashed_id = item.get("hashed_id")
            record = self.orders.get(hashed_id) if isinstance(hashed_id, str) else None
            if record is None:
                raise SandboxError(404, f"Order {hashed_id} not found")
            order = record["order"]
            if order["status"] in FINAL_STATUSES or RANK.get(order["status"], 0) >= RANK["assigned_to_salesman"]:
                raise SandboxError(422, f"Order {hashed_id} is {order['status']}: its lines cannot change")
            details = item.get("order_details")
            if not isinstance(details, list) or not details:
                raise SandboxError(422, "order_details must be a non-empty list")
            price_key = "price" if any("price" in line for line in order["order_details"]) else "selling_price"
            results = []
            for detail in details:
                keys = {
                    key: detail[key]
                    for key in ("id", "supplier_product_id", "internal_product_id")
                    if isinstance(detail, dict) and detail.get(key) is not None
                }
                try:
                    line = self._edit_line(order, detail, price_key)
                except SandboxError as exc:
                    results.append(dict(keys, success=False, message=exc.message))
                else:
                    results.append(dict(keys, id=line["id"], success=True))
            order["total_price"] = round(sum(line[price_key] * line["amount"] for line in order["order_details"]), 2)
            now = stamp(utcnow())
            # The supplier's own change: recorded, not sent back to the supplier.
            record["updated_at"] = now
            record["history"].append({"at": now, "by": "supplier", "edit": results})
            log(f"order {hashed_id}: lines edited by the supplier, total {order['total_price']}")
            return {
                "hashed_id": hashed_id,
                "success": True,
                "total_price": order["total_price"],
                "order_details": results,
            }

    def bulk_update_details(self, items):
        results = []
        for item in items:
            try:
                results.append(self.update_details(item))
            except SandboxError as exc:
                hashed_id = item.get("hashed_id") if isinstance(item, dict) else None
                results.append({"hashed_id": hashed_id, "success": False, "message": exc.message})
        self.save()
        return results

    def _product_update(self, item):
        if not isinstance(item, dict):
            raise SandboxError(422, "Each item must be an object")
        if item.get("supplier_product_id") not in (None, ""):
            entry = self._catalogue_entry(supplier_product_id=item["supplier_product_id"])
        else:
            entry = self._catalogue_entry(internal_product_id=item.get("internal_product_id"))
        if entry is None:
            raise SandboxError(404, "Product not found")
        stock = item.get("available_stock_quantity")
        if stock is not None and (not isinstance(stock, int) or isinstance(stock, bool) or stock < 0):
            raise SandboxError(422, "available_stock_quantity must be an integer of 0 or more")
        price = item.get("selling_price")
        if price is not None and (not isinstance(price, int | float) or isinstance(price, bool) or price <= 0):
            raise SandboxError(422, "selling_price must be a positive number")
        flags = [key for key in ("in_stock", "is_unlimited_stock", "is_published") if key in item]
        if any(not isinstance(item[key], bool) for key in flags):
            raise SandboxError(422, f"{', '.join(flags)} must be true or false")
        published = self.published.setdefault(entry["supplier_product_id"], {"updates": 0})
        published.update({key: item[key] for key in PRODUCT_UPDATE_FIELDS if key in item})
        if item.get("supplier_product_id") not in (None, "") and item.get("internal_product_id") not in (None, ""):
            # Named by its Cartona ID, a product takes the supplier's reference.
            published["internal_product_id"] = str(item["internal_product_id"])
        published["updates"] += 1
        published["updated_at"] = stamp(utcnow())
        self.note("product", supplier_product_id=entry["supplier_product_id"])
        return entry

    def bulk_update_products(self, items):
        results = []
        with self.lock:
            for item in items:
                keys = {
                    key: item.get(key)
                    for key in ("supplier_product_id", "internal_product_id")
                    if isinstance(item, dict) and item.get(key) is not None
                }
                try:
                    self._product_update(item)
                except SandboxError as exc:
                    results.append(dict(keys, success=False, message=exc.message))
                else:
                    results.append(dict(keys, success=True))
            self.save()
        return results

    def products(self, page=1, per_page=DEFAULT_PER_PAGE, filters=None):
        filters = filters or {}
        with self.lock:
            rows = []
            for entry in CATALOGUE:
                if any(
                    filters.get(key) not in (None, entry[key]) for key in ("supplier_product_id", "internal_product_id")
                ):
                    continue
                published = self.published.get(entry["supplier_product_id"], {})
                row = {key: entry[key] for key in SERVED_PRODUCT_FIELDS}
                row["internal_product_id"] = published.get("internal_product_id", entry["internal_product_id"])
                row["selling_price"] = self._price(entry)
                row["available_stock_quantity"] = published.get("available_stock_quantity")
                row["in_stock"] = published.get("in_stock", True)
                row["is_unlimited_stock"] = published.get("is_unlimited_stock", False)
                row["is_published"] = published.get("is_published", True)
                rows.append(row)
            start = (page - 1) * per_page
            return rows[start : start + per_page]

    def draw_fault(self):
        """The fault to inject into this API request, or None."""
        with self.lock:
            if not self.fault_rate or self.fail_rng.random() >= self.fault_rate:
                return None
            fault = self.fail_rng.choice(FAULTS)
            self.faults[fault] = self.faults.get(fault, 0) + 1
            return fault

    def control(self, body):
        """``POST /sandbox/control``: switch faults and the clock at run time."""
        if not isinstance(body, dict):
            raise SandboxError(422, "Expected an object")
        with self.lock:
            if "fault_rate" in body:
                self.fault_rate = float(body["fault_rate"])
            if "ticking" in body:
                self.ticking = bool(body["ticking"])
            log(f"control: fault rate {self.fault_rate:g}, clock {'on' if self.ticking else 'off'}")
            return {"fault_rate": self.fault_rate, "ticking": self.ticking, "faults": dict(self.faults)}

    def state(self):
        with self.lock:
            orders = [
                {
                    "hashed_id": hashed_id,
                    "status": record["order"]["status"],
                    "acknowledged": record["acked_version"] >= record["version"],
                    "version": record["version"],
                    "acked_version": record["acked_version"],
                    "otp": record["otp"],
                    "created_at": record["created_at"],
                    "updated_at": record["updated_at"],
                    "history": record["history"],
                    "order": record["order"],
                }
                for hashed_id, record in self.orders.items()
            ]
            return copy.deepcopy(
                {
                    "now": stamp(utcnow()),
                    "seed": self.seed,
                    "summary": {
                        "orders": len(orders),
                        "waiting_for_acknowledgement": sum(not o["acknowledged"] for o in orders),
                        "acknowledgements": len(self.acknowledgements),
                        "status_updates": len(self.status_updates),
                        "published_products": len(self.published),
                        "requests": self.requests,
                        "faults": dict(self.faults),
                        "journal": len(self.journal),
                    },
                    "orders": orders,
                    "acknowledgements": self.acknowledgements,
                    "status_updates": self.status_updates,
                    "published_products": self.published,
                }
            )


class Handler(BaseHTTPRequestHandler):
    server_version = "CartonaSandbox/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def sandbox(self):
        return self.server.sandbox

    def log_request(self, code="-", size="-"):
        pass  # one line per request is written by _answer, with what it did

    def log_error(self, *args):
        log(f"{self.address_string()} error: {args[0] % args[1:]}")

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _answer(self, status, body, note="", headers=None, content_type="application/json; charset=utf-8", quiet=False):
        if getattr(self, "_drop_answer", False):
            self.close_connection = True
            log(f"{self.command} {self.path} {status}" + (f" {note}" if note else "") + " (answer dropped: fault)")
            return
        data = body.encode() if isinstance(body, str) else json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (a timeout fault)
            self.close_connection = True
            note += " (client gone)"
        if not quiet:
            log(f"{self.command} {self.path} {status}" + (f" {note}" if note else ""))

    def _inject(self, fault):
        """Answer with ``fault``; returns False when the request must still be
        handled (late answer, answer dropped after the request applied)."""
        if fault in ("500", "502", "503"):
            headers = {"Retry-After": "2"} if fault == "503" and self.sandbox.fail_rng.random() < 0.5 else None
            self._answer(int(fault), {"message": "Server Error"}, "(fault)", headers=headers)
        elif fault == "429":
            self._answer(429, {"message": "Too Many Attempts."}, "(fault)", headers={"Retry-After": "1"})
        elif fault == "html":
            self._answer(502, HTML_ERROR_PAGE, "(fault: HTML page)", content_type="text/html")
        elif fault == "drop":
            self.close_connection = True
            log(f"{self.command} {self.path} connection dropped (fault)")
        elif fault == "timeout":
            time.sleep(self.sandbox.fault_delay)
            return False
        elif fault == "drop-after":
            self._drop_answer = True
            return False
        return True

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise SandboxError(400, "The body is not valid JSON") from None

    def _handle(self, method):
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        try:
            body = self._body() if method == "POST" else None
            if url.path.rstrip("/") == "/sandbox/state" and method == "GET":
                return self._answer(200, self.sandbox.state())
            if url.path.rstrip("/") == "/sandbox/control" and method == "POST":
                return self._answer(200, self.sandbox.control(body))
            if url.path.rstrip("/") == "/sandbox/journal" and method == "GET":
                try:
                    start = max(0, int(query.get("since", 0)))
                except ValueError:
                    raise SandboxError(422, "since must be an integer") from None
                return self._answer(200, self.sandbox.journal_since(start), quiet=True)
            if url.path.rstrip("/") == "/sandbox/orders" and method == "POST":
                order = self.sandbox.new_order()
                self.sandbox.save()
                return self._answer(201, order, f"new order {order and order['hashed_id']}")
            if not url.path.startswith(API_PREFIX):
                raise SandboxError(404, "Not found")
            with self.sandbox.lock:
                self.sandbox.requests += 1
            if self.sandbox.fail_rate and self.sandbox.fail_rng.random() < self.sandbox.fail_rate:
                return self._answer(
                    503,
                    {"message": "Service temporarily unavailable (sandbox --fail-rate)"},
                    "(simulated failure)",
                    headers={"Retry-After": "5"},
                )
            fault = self.sandbox.draw_fault()
            if fault and self._inject(fault):
                return
            if self.headers.get(self.sandbox.auth_header) != self.sandbox.token:
                return self._answer(401, {"message": "Unauthenticated."}, "(bad or missing token)")
            self._api(method, url.path[len(API_PREFIX) :].strip("/"), query, body)
        except SandboxError as exc:
            self._answer(exc.status, {"message": exc.message}, f"({exc.message})")

    def _page(self, query):
        try:
            page = max(1, int(query.get("page", 1)))
            per_page = min(MAX_PER_PAGE, max(1, int(query.get("per_page", DEFAULT_PER_PAGE))))
        except ValueError:
            raise SandboxError(422, "page and per_page must be integers") from None
        return page, per_page

    def _api(self, method, path, query, body):
        sandbox = self.sandbox
        parts = path.split("/")
        if parts[0] == "orders":
            parts[0] = "order"  # Cartona spells it both ways
        route = (method, "/".join(parts[:2]))
        if route == ("GET", "order/pull-orders") and len(parts) == 2:
            page, per_page = self._page(query)
            orders = sandbox.pull_orders(page, per_page, parse_moment(query.get("from")), parse_moment(query.get("to")))
            ids = ",".join(order["hashed_id"] for order in orders)
            return self._answer(200, orders, f"{len(orders)} orders" + (f" ({ids})" if ids else ""))
        if route == ("POST", "order/update-order-status") and len(parts) == 2:
            if not isinstance(body, list):
                raise SandboxError(422, "Expected a list of status updates")
            results = sandbox.bulk_update_status(body)
            summary = ", ".join(f"{result['hashed_id']}={result.get('status', 'refused')}" for result in results)
            return self._answer(200, results, summary)
        if route == ("POST", "order/update-order-status") and len(parts) == 3:
            if not isinstance(body or {}, dict):
                raise SandboxError(422, "Expected one status update object")
            item = dict(body or {}, hashed_id=parts[2])
            sandbox.update_status(item, otp_checked=True)
            sandbox.save()
            return self._answer(
                200,
                {"success": True, "hashed_id": parts[2], "status": item.get("status")},
                f"{parts[2]}={item.get('status')}",
            )
        if route == ("POST", "order/update-order-details") and len(parts) == 2:
            if not isinstance(body, list):
                raise SandboxError(422, "Expected a list of order edits")
            results = sandbox.bulk_update_details(body)
            summary = ", ".join(
                f"{result['hashed_id']}={'edited' if result['success'] else 'refused'}" for result in results
            )
            return self._answer(200, results, summary)
        if route == ("GET", "supplier-product") and len(parts) == 1:
            page, per_page = self._page(query)
            rows = sandbox.products(page, per_page, query)
            return self._answer(200, rows, f"{len(rows)} products")
        if route == ("POST", "supplier-product/bulk-update") and len(parts) == 2:
            if not isinstance(body, list):
                raise SandboxError(422, "Expected a list of products")
            results = sandbox.bulk_update_products(body)
            refused = [r for r in results if not r["success"]]
            return self._answer(200, results, f"{len(results) - len(refused)} updated, {len(refused)} refused")
        raise SandboxError(404, f"No such endpoint: {method} {API_PREFIX}{path}")


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, sandbox):
        super().__init__(address, Handler)
        self.sandbox = sandbox


def make_server(host, port, sandbox):
    """A server for ``sandbox``; ``port`` 0 takes a free one (``server.server_address``)."""
    return SandboxServer((host, port), sandbox)


def run_clock(sandbox, every, stop):
    """Background thread: one tick every ``every`` seconds until ``stop`` is set."""
    while not stop.wait(every):
        try:
            sandbox.tick()
        except Exception as exc:  # the clock must survive a bad tick
            log(f"tick failed: {exc!r}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8070)
    parser.add_argument("--token", default="sandbox-token", help="the AuthorizationToken the supplier must send")
    parser.add_argument("--auth-header", default=DEFAULT_AUTH_HEADER)
    parser.add_argument("--order-every", type=float, default=20, help="seconds between new orders (0: none)")
    parser.add_argument("--initial-orders", type=int, default=4, help="orders waiting at start")
    parser.add_argument("--seed", type=int, help="random seed (default: a random one, logged)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of API requests answered 503")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help=f"share of API requests met by a random fault ({', '.join(FAULTS)}); POST /sandbox/control changes it",
    )
    parser.add_argument("--fault-delay", type=float, default=5.0, help="seconds a timeout fault holds the answer")
    parser.add_argument("--state-file", help="JSON file keeping the sandbox's state across restarts")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sandbox = Sandbox(args.token, args.seed, args.fail_rate, args.auth_header, args.state_file)
    sandbox.fault_rate, sandbox.fault_delay = args.fault_rate, args.fault_delay
    if not sandbox.orders:
        for _i in range(args.initial_orders):
            sandbox.new_order()
        sandbox.save()
    server = make_server(args.host, args.port, sandbox)
    stop = threading.Event()
    if args.order_every > 0:
        threading.Thread(target=run_clock, args=(sandbox, args.order_every, stop), daemon=True).start()
    # Started in the background by a shell, SIGINT may be ignored: take both.
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_args: sys.exit(0))
    host, port = server.server_address[:2]
    log(
        f"Cartona sandbox on http://{host}:{port}{API_PREFIX} (seed {sandbox.seed}, "
        f"a new order every {args.order_every:g}s, fail rate {args.fail_rate:g}); state: http://{host}:{port}/sandbox/state"
    )
    try:
        server.serve_forever()
    finally:
        stop.set()
        server.server_close()
        sandbox.save()
        log("sandbox stopped")


if __name__ == "__main__":
    main()
