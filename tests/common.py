import json
import unittest
from datetime import timedelta
from operator import attrgetter
from pathlib import Path

import responses

from odoo import SUPERUSER_ID, api, fields, http
from odoo.tests import HttpCase, TransactionCase

from odoo.addons.cartona_marketplace import const

# Odoo's test classes only let requests reach localhost; ``responses`` answers
# below that guard, so the stand-in Cartona lives on 127.0.0.1.
BASE_URL = "http://127.0.0.1:8069/cartona/api/v1/"
TOKEN = "tok-S3CRET-9f2c1e7a"
DATA = Path(__file__).parent / "data"


def perform_jobs(trap):
    """Perform the trapped jobs one by one with nothing cached, as the job runner
    runs each in a transaction of its own: a job that reads what its user may not
    read fails here too, instead of reading what an earlier step left in the cache."""
    jobs, trap.enqueued_jobs = sorted(trap.enqueued_jobs, key=attrgetter("priority")), []
    for job in jobs:
        job.recordset.env.invalidate_all()
        job.perform()


def load_json(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class FakeCartona:
    """``pull-orders`` and the acknowledgements as Cartona serves them: the
    orders not acknowledged, oldest change first, within the request's
    ``from``/``to`` (on the time each was listed), ``per_page`` a page, or
    fewer when Cartona caps the page size (``max_per_page``). Listing an
    order again is a change: it is no longer acknowledged."""

    def __init__(self, http, max_per_page=None):
        self.max_per_page = max_per_page
        self.listed = {}  # {hashed_id: (when, order)}, oldest change first
        self.requests = []  # the params of each pull-orders request
        self.acknowledged = []  # hashed ids, in the order Cartona was told
        http.add_callback(responses.GET, BASE_URL + const.ENDPOINT_PULL_ORDERS, callback=self._pull)
        http.add_callback(responses.POST, BASE_URL + const.ENDPOINT_ORDER_STATUS, callback=self._status)

    def list(self, *orders, when=None):
        when = when or fields.Datetime.now()
        for order in orders:
            self.listed.pop(order["hashed_id"], None)
            self.listed[order["hashed_id"]] = (when, order)

    def _pull(self, request):
        params = dict(request.params)
        self.requests.append(params)
        start, end = (fields.Datetime.to_datetime(params.get(key)) for key in ("from", "to"))
        orders = [
            order for when, order in self.listed.values() if (not start or when >= start) and (not end or when <= end)
        ]
        page, per_page = int(params["page"]), int(params["per_page"])
        per_page = min(per_page, self.max_per_page or per_page)
        return 200, {}, json.dumps(orders[(page - 1) * per_page : page * per_page])

    def _status(self, request):
        for item in json.loads(request.body):
            if item["status"] == const.STATUS_SYNCED:
                self.acknowledged.append(item["hashed_id"])
                self.listed.pop(item["hashed_id"], None)
        return 200, {}, "[]"


class MarketplaceCase(TransactionCase):
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
        cls.api = cls.config._api()

    def raises(self, exception):
        """``assertRaises`` without Odoo's savepoint rollback.

        In test mode the log cursor shares the test's transaction, so Odoo's
        ``assertRaises`` would roll back the log the failure wrote. (That the
        log survives a real rollback is tested with a real second cursor.)"""
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
            }
        )
        cls.env["stock.quant"]._update_available_quantity(product, cls.warehouse.lot_stock_id, qty)
        return product

    def order_data(self, source, **changes):
        """A copy of the example page's order ``source``, with ``changes`` applied."""
        data = next(order for order in self.page if order["hashed_id"] == source)
        return json.loads(json.dumps(dict(data, **changes)))

    def serve_pages(self, *pages):
        """Cartona answers ``pull-orders`` with these pages, then empty ones."""

        def answer(request):
            page = int(request.params.get("page", 1))
            body = pages[page - 1] if page <= len(pages) else []
            return 200, {}, json.dumps(body)

        self.http.add_callback(responses.GET, self.url(const.ENDPOINT_PULL_ORDERS), callback=answer)

    def pull(self, *pages):
        self.serve_pages(*pages)
        return self.api._pull_and_process_orders()

    def sale(self, hashed_id):
        return self.env["sale.order"].search(
            [("marketplace_config_id", "=", self.config.id), ("cartona_id", "=", hashed_id)]
        )


class CommittedCase(TransactionCase):
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
            product = env["product.product"].create({"name": f"{cls.KEY} rice", "cartona_internal_id": f"{cls.KEY}#1"})
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

    def _order(self):
        """A new pending order of the example page naming the committed product."""
        data = next(o for o in load_json("pull_orders_page.json") if o["hashed_id"] == "Mn9bH3kT")
        data.update(hashed_id=f"{self.KEY}1", status="pending")
        data["retailer"]["retailer_code"] = f"{self.KEY}-1"
        data["order_details"][0]["internal_product_id"] = f"{self.KEY}#1"
        return data


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
