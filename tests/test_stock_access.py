import json

from odoo.exceptions import AccessError, UserError

from odoo.addons.cartona_marketplace import const
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase, jobs_of, make_user, perform_jobs


class TestWarehouseClerk(ImportCase):
    """A warehouse clerk who may not read the sale order delivers a Cartona
    order: the connector reads the order, pushes its status and publishes the
    stock. (Stock users read every sale order; a clerk who is also a salesman
    of their own orders only reads those, as in Odoo's own sale_stock test.)"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clerk = make_user(cls.env, "wh-clerk", "warehouse", groups=("sales_team.group_sale_salesman",))

    def setUp(self):
        super().setUp()
        data = self.order_data("Lr4tN8wQ", status="approved")
        self.pull([data])
        self.order = self.sale(data["hashed_id"])
        self.order.user_id = self.env.ref("base.user_admin")
        self.http.reset()
        self.http.post(self.url(const.ENDPOINT_ORDER_STATUS), json=[])
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])
        # The import was committed, with the jobs it queued, and its publications sent.
        self.env.flush_all()
        self.env.cr.precommit.clear()
        self.env.cr.postcommit.clear()
        self.env["marketplace.publication"].search([]).unlink()

    def validate_as_clerk(self, **context):
        # A request of the clerk starts with nothing read yet: values cached
        # here would be read without an access check.
        self.env.flush_all()
        self.env.invalidate_all()
        picking = self.order.picking_ids.with_user(self.clerk)
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
        picking.move_ids.picked = True
        return picking.with_context(skip_backorder=True, skip_sms=True, **context).button_validate()

    def sent(self, endpoint):
        return [json.loads(call.request.body) for call in self.http.calls if call.request.url == self.url(endpoint)]

    def test_clerk_delivers_a_product_the_order_did_not_have(self):
        # Odoo records it on a new order line of quantity 0, delivered 1, as the
        # clerk (who must be a salesman of every order for that): no edit of Cartona's lines.
        self.clerk.groups_id += self.env.ref("sales_team.group_sale_salesman_all_leads")
        self.assertNotIn(self.tea, self.order.order_line.product_id)
        picking = self.order.picking_ids
        self.env["stock.move"].create(
            {
                "name": self.tea.name,
                "product_id": self.tea.id,
                "product_uom": self.tea.uom_id.id,
                "product_uom_qty": 1,
                "picking_id": picking.id,
                "location_id": picking.location_id.id,
                "location_dest_id": picking.location_dest_id.id,
            }
        )
        with trap_jobs() as trap:
            self.validate_as_clerk()
            self.env.flush_all()
            self.env.cr.precommit.run()
            self.assertEqual(len(jobs_of(trap, "_push_order_edits")), 0)
            perform_jobs(trap)
        self.assertEqual(picking.state, "done")
        extra = self.order.order_line.filtered(lambda line: line.product_id == self.tea)
        self.assertEqual((extra.product_uom_qty, extra.qty_delivered), (0, 1))
        self.assertFalse(self.sent(const.ENDPOINT_ORDER_DETAILS))
        self.assertEqual((self.order.marketplace_status, self.order.marketplace_sync_status), ("delivered", "synced"))

    def test_clerk_delivers_and_cartona_hears_it(self):
        with self.assertRaises(AccessError):
            self.order.with_user(self.clerk).check_access("read")
        with trap_jobs() as trap:
            self.validate_as_clerk()
            # The transaction's end queues the stock publication.
            self.env.flush_all()
            self.env.cr.precommit.run()
            trap.assert_jobs_count(1, only=self.order._push_marketplace_status)
            trap.assert_enqueued_job(self.order._push_marketplace_status, args=("delivered",))
            trap.assert_jobs_count(1, only=self.config._publish_pending)
            # Queued by the clerk, not on OdooBot's name; the push with the connector's rights.
            self.assertEqual({job.user_id for job in trap.enqueued_jobs}, {self.clerk.id})
            push = next(job for job in trap.enqueued_jobs if job.method_name == "_push_marketplace_status")
            self.assertTrue(push.recordset.env.su)
            perform_jobs(trap)
        self.assertEqual(self.order.picking_ids.state, "done")
        self.assertEqual(
            self.sent(const.ENDPOINT_ORDER_STATUS),
            [
                [
                    {"hashed_id": "Lr4tN8wQ", "status": "assigned_to_salesman"},
                    {"hashed_id": "Lr4tN8wQ", "status": "delivered"},
                ]
            ],
        )
        self.assertEqual((self.order.marketplace_status, self.order.marketplace_sync_status), ("delivered", "synced"))
        published = {
            item["supplier_product_id"]: item["available_stock_quantity"]
            for items in self.sent(const.ENDPOINT_PRODUCTS_BULK_UPDATE)
            for item in items
        }
        delivered = self.order.order_line.product_id
        self.assertEqual(set(published), set(delivered.mapped("cartona_id")))
        for product in delivered:
            self.assertEqual(product.marketplace_sync_status, "synced")
            self.assertEqual(published[product.cartona_id], product.marketplace_published_qty)

    def test_clerks_context_does_not_silence_the_delivery(self):
        # The import's own key, put in the clerk's RPC context: the connector reads
        # the order as itself, and still tells Cartona.
        with trap_jobs() as trap:
            self.validate_as_clerk(skip_marketplace_sync=True)
            trap.assert_enqueued_job(self.order._push_marketplace_status, args=("delivered",))
            perform_jobs(trap)
        self.assertEqual(self.order.picking_ids.state, "done")
        hashed_id = self.order.cartona_id
        self.assertEqual(
            self.sent(const.ENDPOINT_ORDER_STATUS),
            [
                [
                    {"hashed_id": hashed_id, "status": "assigned_to_salesman"},
                    {"hashed_id": hashed_id, "status": "delivered"},
                ]
            ],
        )

    def test_editing_guard_still_stops_the_clerk(self):
        self.order.marketplace_status = "editing"
        with trap_jobs() as trap, self.raises(UserError, "editing"):
            self.validate_as_clerk()
        trap.assert_jobs_count(0)
        self.assertNotEqual(self.order.picking_ids.state, "done")


class TestSalesmanWithoutMarketplaceRights(ImportCase):
    def test_confirming_pushes_as_the_connector(self):
        """A salesman who may not read the marketplace configuration confirms
        a Cartona quotation: the push is queued and sent all the same."""
        salesman = make_user(self.env, "salesman", "salesman")
        data = self.order_data("Lr4tN8wQ", status="pending")
        self.pull([data])
        order = self.sale(data["hashed_id"])
        self.http.post(self.url(const.ENDPOINT_ORDER_STATUS), json=[])
        self.env.flush_all()
        self.env.invalidate_all()
        with trap_jobs() as trap:
            order.with_user(salesman).action_confirm()
            trap.assert_enqueued_job(order._push_marketplace_status, args=("approved",))
            perform_jobs(trap)
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("approved", "synced"))
