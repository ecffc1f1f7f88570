import json

import responses

from odoo import Command

from odoo.addons.cartona_marketplace import const
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import CartonaCase, perform_jobs

BULK = const.ENDPOINT_PRODUCTS_BULK_UPDATE


class CartonaProductCase(CartonaCase):
    """Products on Cartona, a warehouse with stock, and a bulk-update stand-in."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.env.company.id)], limit=1)
        cls.config.warehouse_id = cls.warehouse
        cls.stock_location = cls.warehouse.lot_stock_id
        cls.customers = cls.env.ref("stock.stock_location_customers")
        cls.unit = cls.env.ref("uom.product_uom_unit")
        cls.box = cls.env["uom.uom"].create(
            {
                "name": "Box of 12",
                "category_id": cls.unit.category_id.id,
                "uom_type": "bigger",
                "factor_inv": 12,
                "rounding": 1.0,
            }
        )
        # What the fixtures queued is not what the tests look at.
        cls.env.flush_all()
        cls.cr.precommit.clear()

    def setUp(self):
        super().setUp()
        # ``bulk_answer(items)`` → (status, body) plays Cartona; accepted by default.
        self.bulk_answer = lambda items: (200, [])
        self.http.add_callback(responses.POST, self.url(BULK), callback=self._bulk_callback)

    def _bulk_callback(self, request):
        status, body = self.bulk_answer(json.loads(request.body))
        return status, {}, json.dumps(body)

    # Fixtures ----------------------------------------------------------------

    def make_products(self, count, prefix="SP", **vals):
        return self.env["product.product"].create(
            [
                dict(
                    {
                        "name": f"Product {prefix}{i}",
                        "type": "consu",
                        "is_storable": True,
                        "list_price": 10.0,
                        "cartona_id": f"{prefix}{i}",
                    },
                    **vals,
                )
                for i in range(1, count + 1)
            ]
        )

    def set_stock(self, product, quantity):
        self.env["stock.quant"]._update_available_quantity(product, self.stock_location, quantity)

    def delivery(self, quantities, confirm=True):
        """An outgoing picking of ``{product: quantity}``, confirmed and reserved."""
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.out_type_id.id,
                "location_id": self.stock_location.id,
                "location_dest_id": self.customers.id,
                "move_ids": [
                    Command.create(
                        {
                            "name": product.name,
                            "product_id": product.id,
                            "product_uom_qty": quantity,
                            "product_uom": product.uom_id.id,
                            "location_id": self.stock_location.id,
                            "location_dest_id": self.customers.id,
                        }
                    )
                    for product, quantity in quantities.items()
                ],
            }
        )
        if confirm:
            picking.action_confirm()
            picking.action_assign()
        return picking

    @staticmethod
    def validate(picking):
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        picking.with_context(skip_backorder=True, skip_sms=True).button_validate()

    # The transaction's end ---------------------------------------------------

    def commit(self):
        """What a commit does before committing: flush, then precommit callbacks."""
        self.env.flush_all()
        self.env.cr.precommit.run()

    def forget_pending(self):
        """Drop what the set-up of a test collected, as if it had been committed earlier."""
        self.env.flush_all()
        self.env.cr.precommit.clear()

    def publish(self):
        """Commit, then run the queued jobs and those they queue; returns the jobs that ran."""
        with trap_jobs() as trap:
            self.commit()
            return self.drain(trap)

    @staticmethod
    def drain(trap):
        """Run the trapped jobs, and the next drains they queue, until none is left."""
        jobs = []
        while trap.enqueued_jobs:
            jobs += trap.enqueued_jobs
            perform_jobs(trap)
        return jobs

    def pending(self):
        """The pending publications, oldest first: ``(product, Cartona ID, parts, force)``."""
        return [
            (row.product_id, row.cartona_id, [part for part in const.SYNC_PARTS if row[part]], row.force)
            for row in self.env["marketplace.publication"].search([])
        ]

    def sent(self, since=0):
        """The items of every bulk-update request sent, one list per request."""
        return [json.loads(call.request.body) for call in self.http.calls[since:]]
