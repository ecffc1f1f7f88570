import importlib.util
import json
import time
import unittest
from datetime import timedelta
from operator import attrgetter
from pathlib import Path

import responses

from odoo import SUPERUSER_ID, api, fields, http
from odoo.sql_db import db_connect
from odoo.tests import BaseCase, HttpCase, TransactionCase, new_test_user, tagged

from odoo.addons.cartona_marketplace import const

# Odoo's test classes only let requests reach localhost; ``responses`` answers
# below that guard, so the stand-in Cartona lives on 127.0.0.1.
BASE_URL = "http://127.0.0.1:8069/cartona/api/v1/"
TOKEN = "tok-S3CRET-9f2c1e7a"
DATA = Path(__file__).parent / "data"
SANDBOX_PATH = Path(__file__).parents[1] / "scripts" / "cartona_sandbox.py"
BULK = const.ENDPOINT_ORDER_STATUS


# The people of the tests, by their work: the groups each role is given.
ROLES = {
    "mp_manager": "cartona_marketplace.group_marketplace_manager",
    "mp_user": "cartona_marketplace.group_marketplace_user",
    "sales_manager": "sales_team.group_sale_manager",
    "salesman": "sales_team.group_sale_salesman_all_leads",
    "warehouse": "stock.group_stock_user",
    "employee": "base.group_user",
    "portal": "base.group_portal",
}


def make_user(env, login, *roles, groups=(), **values):
    """A user of ``roles`` (keys of ``ROLES``) and of the further ``groups`` (xml ids)."""
    return new_test_user(env, login=login, groups=",".join([*(ROLES[role] for role in roles), *groups]), **values)


def perform_jobs(trap):
    """Perform the trapped jobs one by one with nothing cached, as the job runner
    runs each in a transaction of its own: a job that reads what its user may not
    read fails here too, instead of reading what an earlier step left in the cache."""
    jobs, trap.enqueued_jobs = sorted(trap.enqueued_jobs, key=attrgetter("priority")), []
    for job in jobs:
        job.recordset.env.invalidate_all()
        job.perform()


def jobs_of(trap, method_name):
    """The trapped jobs of ``method_name``, whatever record each is queued on
    (queue_job's ``only=`` wants the very record)."""
    return [job for job in trap.enqueued_jobs if job.method_name == method_name]


def load_json(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def bad_orders(kind):
    """The cases of one kind of the bad-order corpus (tests/data/bad_orders.json):
    ``malformed`` (the shape of an order), ``control_character`` (raw control
    characters in its strings), ``hostile`` (every type and size a field can
    take). A case names what it tries; ``field`` is the field an order refused
    names, ``imported`` an order taken all the same, ``left_empty`` the side
    fields an order imported leaves empty."""
    return [case for case in load_json("bad_orders.json") if case["kind"] == kind]


# The time an order is listed at when the test is not about windows: in every one.
EVERY_WINDOW = object()


class FakeCartona:
    """``pull-orders`` and the acknowledgements as Cartona serves them: the
    orders not acknowledged, oldest change first, within the request's
    ``from``/``to`` (on the time each was listed), ``per_page`` a page, or
    fewer when Cartona caps the page size (``max_per_page``). Listing an
    order again is a change: it is no longer acknowledged. What the tests
    send that Cartona would not (an order without a usable id, one order
    twice in one answer) is listed as it is given. Without ``acknowledging``
    the test answers the acknowledgements itself, and they change nothing."""

    def __init__(self, http, max_per_page=None, acknowledging=True):
        self.max_per_page = max_per_page
        self.listed = {}  # {hashed_id: (when, order)}, oldest change first
        self.requests = []  # the params of each pull-orders request
        self.acknowledged = []  # hashed ids, in the order Cartona was told
        self.updates = []  # the items of each update-order-status request
        http.add_callback(responses.GET, BASE_URL + const.ENDPOINT_PULL_ORDERS, callback=self._pull)
        if acknowledging:
            http.add_callback(responses.POST, BASE_URL + const.ENDPOINT_ORDER_STATUS, callback=self._status)

    def list(self, *orders, when=None):
        when = when or fields.Datetime.now()
        keys = set()
        for order in orders:
            key = order.get("hashed_id") if isinstance(order, dict) else None
            if not isinstance(key, str) or key in keys:
                key = object()  # listed as given, beside the rest
            self.listed.pop(key, None)
            self.listed[key] = (when, order)
            keys.add(key)

    def _pull(self, request):
        params = dict(request.params)
        self.requests.append(params)
        start, end = (fields.Datetime.to_datetime(params.get(key)) for key in ("from", "to"))
        orders = [
            order
            for when, order in self.listed.values()
            if when is EVERY_WINDOW or ((not start or when >= start) and (not end or when <= end))
        ]
        page, per_page = int(params["page"]), int(params["per_page"])
        per_page = min(per_page, self.max_per_page or per_page)
        return 200, {}, json.dumps(orders[(page - 1) * per_page : page * per_page])

    def _status(self, request):
        self.updates.append(json.loads(request.body))
        for item in json.loads(request.body):
            if item["status"] == const.STATUS_SYNCED:
                self.acknowledged.append(item["hashed_id"])
                self.listed.pop(item["hashed_id"], None)
        return 200, {}, "[]"


def load_sandbox_module():
    """The Cartona sandbox of ``make run`` (scripts/cartona_sandbox.py), quiet."""
    spec = importlib.util.spec_from_file_location("cartona_sandbox", SANDBOX_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.log = lambda message: None  # its request log would only clutter the test output
    return module


@tagged("post_install", "-at_install")
class PlainCase(BaseCase):
    """No database: the plain-Python rooms (``cartona/``), run as Odoo's suites run tests."""


@tagged("post_install", "-at_install")
class DatabaseCase(TransactionCase):
    """A test in a transaction, run as Odoo's suites run tests: after every module is installed."""


class MarketplaceCase(DatabaseCase):
    """A configuration, with no stand-in for Cartona behind its URL."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Sync logs and connection statuses go through registry.cursor(); in
        # test mode it shares the test transaction, which is rolled back.
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.config = cls.env["marketplace.config"].create(
            {
                "name": "Cartona (test)",
                "api_base_url": BASE_URL,
                "auth_token": TOKEN,
                "timeout": 5,
                "batch_size": 100,
            }
        )
        # Live for a day: its first pull, the history walk, is behind it
        # (tests/test_going_live.py starts from a configuration that never pulled).
        cls.config.last_pull_date = fields.Datetime.now() - timedelta(days=1)
        cls.api = cls.env["marketplace.api"]

    def raises(self, exception, regex=None):
        """``assertRaises`` (``assertRaisesRegex`` given ``regex``) without
        Odoo's savepoint rollback.

        In test mode the log cursor shares the test's transaction, so Odoo's
        ``assertRaises`` would roll back the log the failure wrote. (That the
        log survives a real rollback is tested with a real second cursor.)
        And what is checked after it is what the code left, not what Odoo's
        rollback left."""
        if regex is not None:
            return unittest.TestCase.assertRaisesRegex(self, exception, regex)
        return unittest.TestCase.assertRaises(self, exception)

    def logs(self, *domain):
        return self.env["marketplace.sync.log"].search([("marketplace_config_id", "=", self.config.id), *domain])


class CartonaCase(MarketplaceCase):
    """A configuration pointing at a ``responses`` stand-in for Cartona."""

    def setUp(self):
        super().setUp()
        self.http = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.http.start()
        self.addCleanup(self.http.reset)
        self.addCleanup(self.http.stop)

    @staticmethod
    def url(endpoint):
        return BASE_URL + endpoint

    def serve_cartona(self, *orders, max_per_page=None):
        """A ``FakeCartona`` listing ``orders``."""
        cartona = FakeCartona(self.http, max_per_page)
        cartona.list(*orders)
        return cartona

    # The connector's internals, reached from one place.

    def pull_now(self):
        """The pull of one transaction (the button, the poller)."""
        return self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)

    def pull_next_page(self):
        """One run of the cron's walk: ``(pages remain, outcomes)``."""
        return self.env["marketplace.order.pull"]._pull_next_page(self.config)


class ImportCase(CartonaCase):
    """Products mapped the way the example page names them, with stock."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The company's own (Odoo's accounting tests work in a company of their own).
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1)
        cls.config.warehouse_id = cls.warehouse
        unit = cls.env.ref("uom.product_uom_unit")
        cls.box12 = cls._uom("Box of 12", 12)
        cls.box24 = cls._uom("Box of 24", 24)
        cls.carton144 = cls._uom("Carton of 144", 144)
        cls.oil = cls._product("Sunflower oil 1 L", unit, cls.box12, internal="311#1")
        cls.rice = cls._product("Egyptian rice 1 kg", unit, unit, internal="518#1")
        cls.soda = cls._product("Soda 330 ml", unit, cls.box24, cartona_id="220731", internal="904#2")
        kg = cls.env.ref("uom.product_uom_kgm")
        cls.sugar = cls._product("White sugar", kg, kg, cartona_id="220790", internal="1679#2")
        cls.tea = cls._product("Black tea 25 bags", unit, cls.carton144, cartona_id="110774", internal="479")
        cls.page = load_json("pull_orders_page.json")

    @classmethod
    def _uom(cls, name, ratio):
        return cls.env["uom.uom"].create(
            {
                "name": name,
                "category_id": cls.env.ref("uom.product_uom_categ_unit").id,
                "uom_type": "bigger",
                "factor_inv": ratio,
            }
        )

    @classmethod
    def _product(cls, name, uom, cartona_uom, cartona_id=False, internal=False, qty=10000):
        product = cls.env["product.product"].create(
            {
                "name": name,
                "is_storable": True,
                "uom_id": uom.id,
                "uom_po_id": uom.id,
                "list_price": 1.0,
                "cartona_id": cartona_id,
                "cartona_internal_id": internal,
                "cartona_uom_id": cartona_uom.id,
                # No sales tax unless a test gives one: Cartona's prices stay the lines' prices.
                "taxes_id": [(5, 0, 0)],
            }
        )
        cls.env["stock.quant"]._update_available_quantity(product, cls.warehouse.lot_stock_id, qty)
        return product

    def order_data(self, source, **changes):
        """A copy of the example page's order ``source``, with ``changes`` applied."""
        data = next(order for order in self.page if order["hashed_id"] == source)
        return json.loads(json.dumps(dict(data, **changes)))

    def serve_pages(self, *pages):
        """Cartona lists the orders of ``pages`` in every window, served as
        these pages (the pull asks for pages as large as the first); the test
        answers the acknowledgements. Returns the ``FakeCartona``."""
        pages = [page for page in pages if page]
        if any(len(page) != len(pages[0]) for page in pages[:-1]):
            raise ValueError("Cartona serves pages of one size, the last one shorter")
        size = max(map(len, pages), default=0)
        self.config.pull_page_size = max(self.config.pull_page_size, size)
        cartona = FakeCartona(self.http, max_per_page=size or None, acknowledging=False)
        cartona.list(*(order for page in pages for order in page), when=EVERY_WINDOW)
        return cartona

    def pull(self, *pages):
        self.serve_pages(*pages)
        return self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)

    def acknowledged(self):
        """The Cartona orders told ``synced`` in the requests so far, sorted."""
        return sorted(
            item["hashed_id"]
            for call in self.http.calls
            if call.request.url == self.url(const.ENDPOINT_ORDER_STATUS)
            for item in json.loads(call.request.body)
            if item["status"] == const.STATUS_SYNCED
        )

    def sale(self, hashed_id):
        return self.env["sale.order"].search(
            [("marketplace_config_id", "=", self.config.id), ("cartona_id", "=", hashed_id)]
        )


class StatusPushCase(ImportCase):
    """An imported order, the requests Cartona is sent, a delivery validated in full."""

    def _import(self, source="Lr4tN8wQ", **changes):
        data = self.order_data(source, **changes)
        self.pull([data])
        self.http.reset()
        return self.sale(data["hashed_id"])

    def _sent(self):
        return [json.loads(call.request.body) for call in self.http.calls if call.request.method == "POST"]

    def _validate(self, picking):
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.move_ids.picked = True
        return picking.with_context(skip_backorder=True).button_validate()


class CommittedCase(DatabaseCase):
    """Real transactions side by side (no test mode: ``registry.cursor()`` is a
    second connection). A configuration and a product named ``KEY`` are
    committed for the class, and everything is removed after it."""

    KEY = "Committed"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            # No order poller: its committed job would be run by the job runner of the tests' server.
            config = env["marketplace.config"].create(
                {"name": cls.KEY, "api_base_url": BASE_URL, "auth_token": TOKEN, "auto_pull_orders": False}
            )
            product = env["product.product"].create(
                # No sales tax: Cartona's prices stay the lines' prices.
                {"name": f"{cls.KEY} rice", "cartona_internal_id": f"{cls.KEY}#1", "taxes_id": [(5, 0, 0)]}
            )
            env.flush_all()
            cls.config_id, cls.product_id = config.id, product.id
        cls.addClassCleanup(cls._cleanup)

    @classmethod
    def _cleanup(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].search([("marketplace_config_id", "=", cls.config_id)])
            partners = orders.partner_id
            orders.unlink()
            partners.unlink()
            env["product.product"].browse(cls.product_id).product_tmpl_id.unlink()
            env["marketplace.config"].browse(cls.config_id).unlink()
            env.flush_all()

    def assert_waits_on_a_lock(self, thread):
        """``thread``'s transaction waits on a lock another transaction holds,
        as PostgreSQL shows it (``pg_locks``), not as a clock would guess it."""
        with db_connect(self.env.cr.dbname).cursor() as cr:
            while thread.is_alive():
                cr.execute(
                    """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                        WHERE NOT l.granted AND a.datname = current_database()"""
                )
                if cr.fetchone()[0]:
                    return
                cr.rollback()  # pg_stat_activity is read once a transaction
                time.sleep(0.05)
        self.fail("it ended without waiting on a lock")

    def _order(self):
        """A new pending order of the example page naming the committed product."""
        data = next(o for o in load_json("pull_orders_page.json") if o["hashed_id"] == "Mn9bH3kT")
        data.update(hashed_id=f"{self.KEY}1", status="pending")
        data["retailer"]["retailer_code"] = f"{self.KEY}-1"
        data["order_details"][0]["internal_product_id"] = f"{self.KEY}#1"
        return data


@tagged("post_install", "-at_install")
class BrowserCase(HttpCase):
    """A test in Chromium. The server reads every module's manifest on its
    first static file (``Application.statics``, parsed lazily with ``ast``);
    the browser's first requests come at once, on several threads, and
    CPython 3.11's ``ast`` is not thread-safe ("AST constructor recursion
    depth mismatch"). So the manifests are read here, before any browser."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A lazy property: read once, it is there for every request after.
        cls.static_modules = set(http.root.statics)
