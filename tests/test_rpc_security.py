"""What a logged-in user reaches over RPC.

Odoo lets any logged-in user, portal included, call any public method of any
model (``/web/dataset/call_kw``, XML-RPC ``execute_kw``) with a context of
their choosing; it refuses only names starting with ``_``. These tests play
that path: ``check_method_name`` then ``odoo.api.call_kw``.
"""

import inspect
import json
import re

from odoo import Command, api, models
from odoo.exceptions import AccessError

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.models import (
    account_move,
    product_product,
    res_partner,
    sale_order,
    sale_order_line,
    stock_picking,
)
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase, make_user, perform_jobs

ADDON_MODULE = "odoo.addons.cartona_marketplace."

# Every public method the addon defines, with the arguments an attacker would
# pass: ``(model, method) -> lambda case: (args, kwargs)``. A public method
# added without an entry here fails ``test_every_public_method_is_in_the_table``.
CALLS = {
    ("marketplace.config", "action_pull_orders"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_test_connection"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_requeue_failed_jobs"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_view_sync_logs"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_view_parked_orders"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "create"): lambda t: ([[{"name": "Forged", "invoice_mode": "posted"}]], {}),
    ("marketplace.config", "write"): lambda t: ([t.config.ids, {"invoice_mode": "posted"}], {}),
    ("marketplace.settlement.wizard", "action_register_settlement"): lambda t: ([t.settlement.ids], {}),
    # Which order a move books, and as what: the connector's.
    ("account.move", "create"): lambda t: (
        [[{"move_type": "entry", "cartona_sale_order_id": t.order.id, "cartona_move_kind": "invoice"}]],
        {},
    ),
    ("account.move", "write"): lambda t: ([t.entry.ids, {"cartona_move_kind": "invoice"}], {}),
    # Cancelling an invoice reverses what the connector booked on it.
    ("account.move", "button_cancel"): lambda t: ([t.entry.ids], {}),
    ("marketplace.config", "action_open_mapping_assistant"): lambda t: ([t.config.ids], {}),
    ("marketplace.mapping.line", "write"): lambda t: ([t.mapping_line.ids, {"product_id": t.soda.id}], {}),
    ("marketplace.mapping.line", "action_apply"): lambda t: ([t.mapping_line.ids], {}),
    ("marketplace.mapping.line", "action_apply_and_send_refs"): lambda t: ([t.mapping_line.ids], {}),
    ("marketplace.mapping.line", "action_apply_sure"): lambda t: ([t.mapping_line.ids], {}),
    ("marketplace.mapping.apply", "action_confirm"): lambda t: ([t.mapping_apply.ids], {}),
    ("marketplace.config", "action_view_orders_today"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_view_error_products"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_view_error_logs"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_view_skipped_orders"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_view_failed_jobs"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_view_pending_jobs"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_fetch_order"): lambda t: ([t.config.ids], {}),
    ("marketplace.config", "action_publish_all_products"): lambda t: ([t.config.ids], {}),
    ("marketplace.fetch.order.wizard", "action_fetch"): lambda t: ([t.fetch_wizard.ids], {}),
    # Writing a job's state raises or closes the connector's alerts: queue_job's own access comes first.
    ("queue.job", "write"): lambda t: ([t.job.ids, {"state": "failed"}], {}),
    ("sale.order", "create"): lambda t: (
        [
            [
                {
                    "partner_id": t.order.partner_id.id,
                    "marketplace_config_id": t.config.id,
                    # A real Cartona order of the supplier, not imported yet.
                    "cartona_id": "Qx7mK2aP",
                    "order_line": [Command.create({"product_id": t.oil.id, "product_uom_qty": 1})],
                }
            ]
        ],
        {},
    ),
    ("sale.order", "write"): lambda t: (
        [t.order.ids, {"marketplace_push_status": "delivered", "marketplace_status": "approved"}],
        {},
    ),
    ("sale.order", "action_confirm"): lambda t: ([t.order.ids], {}),
    ("sale.order", "action_cancel"): lambda t: ([t.order.ids], {}),
    ("sale.order", "action_out_for_delivery"): lambda t: ([t.order.ids], {}),
    ("sale.order", "action_marketplace_sync_now"): lambda t: ([t.order.ids], {}),
    # A salesman's change of a Cartona order's lines is sent to Cartona.
    ("sale.order.line", "create"): lambda t: (
        [[{"order_id": t.order.id, "product_id": t.rice.id, "product_uom_qty": 1}]],
        {},
    ),
    ("sale.order.line", "write"): lambda t: ([t.order.order_line[:1].ids, {"product_uom_qty": 1}], {}),
    ("sale.order.line", "unlink"): lambda t: ([t.order.order_line[:1].ids], {}),
    ("stock.picking", "button_validate"): lambda t: ([t.order.picking_ids.ids], {}),
    ("marketplace.cancel.wizard", "action_cancel_orders"): lambda t: ([t.wizard.ids], {}),
    ("product.product", "create"): lambda t: ([[{"name": "Forged", "cartona_id": "220790-bis"}]], {}),
    ("product.product", "write"): lambda t: (
        [t.soda.ids, {"marketplace_published_qty": 0, "marketplace_sync_status": "synced", "list_price": 0.01}],
        {},
    ),
    # Deleting a published product withdraws it from Cartona: Odoo's own unlink check comes first.
    ("product.product", "unlink"): lambda t: ([t.soda.ids], {}),
    ("product.product", "action_marketplace_sync_now"): lambda t: ([t.soda.ids], {}),
    ("product.template", "write"): lambda t: ([t.soda.product_tmpl_id.ids, {"cartona_id": "110774-bis"}], {}),
    ("product.template", "action_marketplace_sync_now"): lambda t: ([t.soda.product_tmpl_id.ids], {}),
    ("res.partner", "create"): lambda t: ([[{"name": "Forged retailer", "cartona_id": "C00077"}]], {}),
    ("res.partner", "write"): lambda t: ([t.order.partner_id.ids, {"cartona_id": "C99999"}], {}),
}


def addon_public_methods(registry):
    """``{(model, method)}`` of every public method that a class of this addon
    defines, on every model of the registry."""
    found = set()
    for name in registry:
        if registry[name]._abstract and registry[name]._inherit_children:
            continue  # a mixin: its methods are called on the models that use it
        for cls in registry[name].__mro__:
            if not cls.__module__.startswith(ADDON_MODULE):
                continue
            for attr, value in vars(cls).items():
                if not inspect.isfunction(value):
                    continue
                try:
                    models.check_method_name(attr)
                except AccessError:
                    continue
                found.add((name, attr))
    return found


class RpcCase(ImportCase):
    """An imported, confirmed Cartona order with its delivery, a waiting order,
    a cancellation wizard, and a Cartona that records every request."""

    def setUp(self):
        super().setUp()
        self.pull([self.order_data("Lr4tN8wQ"), self._unmapped()])
        self.order = self.sale("Lr4tN8wQ")
        self.assertEqual(self.order.state, "sale")
        self.assertTrue(self.order.picking_ids)
        self.assertEqual(self.env["marketplace.parked.order"].search_count([]), 1)
        self.wizard = self.env["marketplace.cancel.wizard"].create(
            {"order_ids": [Command.set(self.order.ids)], "reason": const.CANCELLATION_REASONS[0][0]}
        )
        self.settlement = self.env["marketplace.settlement.wizard"].create({"config_id": self.config.id})
        # A run of the catalogue mapping assistant proposing the rice for another Cartona product.
        wizard = self.env["marketplace.mapping.wizard"].create({"config_id": self.config.id})
        self.mapping_line = self.env["marketplace.mapping.line"].create(
            {"wizard_id": wizard.id, "side": "cartona", "cartona_id": "518999", "product_id": self.rice.id}
        )
        self.mapping_apply = self.env["marketplace.mapping.apply"].create(
            {"wizard_id": wizard.id, "line_ids": [Command.set(self.mapping_line.ids)]}
        )
        self.entry = self.env["account.move"].create({"move_type": "entry"})
        self.fetch_wizard = self.env["marketplace.fetch.order.wizard"].create(
            {"marketplace_config_id": self.config.id, "reference": "Qx7mK2aP"}
        )
        self._settle()
        self.job = self.env["queue.job"].search([("method_name", "=", "_acknowledge_orders")], limit=1)
        self.assertTrue(self.job)
        # From here on Cartona's endpoints accept what they are sent, as Cartona
        # answers them; a request anywhere else fails. Every request is recorded.
        self.http.reset()
        self.serve_cartona()
        self.http.get(self.url(const.ENDPOINT_PRODUCTS), json=[])
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])
        self.http.post(self.url(const.ENDPOINT_ORDER_DETAILS), json=[])
        single = re.escape(self.url(const.ENDPOINT_ORDER_STATUS_SINGLE.format(hashed_id=""))) + r"[^/?#]+$"
        self.http.post(re.compile(single), json={"success": True})

    def _unmapped(self):
        data = self.order_data("Pz2cV6yE", hashed_id="Wt5unmapped")
        data["order_details"][0].update(supplier_product_id="777001", internal_product_id="777#1")
        return data

    def _settle(self):
        """What a committed RPC call would leave: jobs queued at commit included."""
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env.invalidate_all()

    def remote_call(self, user, model, name, args, kwargs, context=None):
        """The path of ``/web/dataset/call_kw`` and ``execute_kw``."""
        models.check_method_name(name)
        # As the web client and XML-RPC do: the caller's context goes in the kwargs.
        return api.call_kw(self.env[model].with_user(user), name, args, dict(kwargs, context=context or {}))


class TestRemoteCallers(RpcCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal = make_user(cls.env, "retailer-portal", "portal")
        cls.employee = make_user(cls.env, "plain-employee", "employee")

    def snapshot(self):
        env = self.env
        products = self.oil | self.rice | self.soda | self.sugar | self.tea
        counted = (
            "sale.order",
            "sale.order.line",
            "product.product",
            "res.partner",
            "queue.job",
            "marketplace.publication",
            "marketplace.sync.log",
            "marketplace.parked.order",
            "mail.message",
            "mail.activity",
            "marketplace.mapping.wizard",
            "marketplace.mapping.apply",
            "uom.uom",
        )
        return {
            "order": self.order.read(["state", "locked", *sale_order.CONNECTOR_FIELDS, "cartona_cancellation_reason"]),
            "lines": self.order.order_line.read(["product_uom_qty", "cartona_amount"]),
            "pickings": self.order.picking_ids.read(["state"]),
            "mapping": self.mapping_line.read(["product_id", "method", "confidence"]),
            "partner": self.order.partner_id.read(list(res_partner.CONNECTOR_FIELDS)),
            "products": products.read(
                ["list_price", "cartona_id", "cartona_internal_id", *product_product.CONNECTOR_FIELDS]
            ),
            "config": self.config.read([name for name, field in self.config._fields.items() if field.store]),
            "counts": {model: env[model].with_context(active_test=False).search_count([]) for model in counted},
        }

    def test_every_public_method_is_in_the_table(self):
        self.assertEqual(
            addon_public_methods(self.registry),
            set(CALLS),
            "A public method can be called by any logged-in user: it checks its caller "
            "first, and gets an entry in this test's table.",
        )

    def test_portal_user_and_plain_employee_reach_nothing(self):
        contexts = [
            {},
            # What a caller may add: no echo suppression, no job queue, a config of their choice.
            {"skip_marketplace_sync": True, "marketplace_config_id": self.config.id, "queue_job__no_delay": True},
        ]
        before = self.snapshot()
        for user in (self.portal, self.employee):
            for context in contexts:
                for (model, name), call in CALLS.items():
                    args, kwargs = call(self)
                    self.http.calls.reset()
                    with self.subTest(user=user.login, method=f"{model}.{name}", context=context):
                        # Nothing the connector logs (its sync log goes through a
                        # cursor of its own, which a refused call would not undo).
                        with self.assertNoLogs("odoo.addons.cartona_marketplace", level="INFO"):
                            with self.raises(AccessError), self.env.cr.savepoint():
                                # A call that raises is rolled back whole, as over RPC
                                # (Odoo's own unlink drops chatter before its access check).
                                self.remote_call(user, model, name, args, kwargs, context)
                        # ... and what it left for the commit is dropped with it.
                        self.env.cr.precommit.clear()
                        self._settle()
                        self.assertEqual(len(self.http.calls), 0, "a request reached Cartona")
                        self.assertEqual(self.snapshot(), before)


class TestTrustedCallers(RpcCase):
    """Who may: marketplace managers own the account; marketplace users sync
    the records they may write."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = make_user(cls.env, "mp-manager", "mp_manager", "sales_manager", "warehouse")
        cls.mp_salesman = make_user(cls.env, "mp-salesman", "mp_user", "salesman")
        cls.mp_pricer = make_user(cls.env, "mp-pricer", "mp_user", "sales_manager")
        cls.salesman = make_user(cls.env, "salesman", "salesman", groups=("base.group_partner_manager",))

    def call(self, user, model, name, args=None):
        args, kwargs = (args, {}) if args is not None else CALLS[model, name](self)
        return self.remote_call(user, model, name, args, kwargs)

    def requests(self, method=None):
        return [call.request for call in self.http.calls if method in (None, call.request.method)]

    def test_manager_pulls_now(self):
        self.http.reset()
        self.serve_pages([self.order_data("Qx7mK2aP")])
        with trap_jobs() as trap:
            self.call(self.manager, "marketplace.config", "action_pull_orders")
        self.assertTrue(self.sale("Qx7mK2aP"), "the manager's pull imports the order")
        self.assertEqual(self.sale("Qx7mK2aP").marketplace_status, "pending")
        trap.assert_jobs_count(1, only=self.config._acknowledge_orders)

    def test_manager_tests_the_connection(self):
        self.call(self.manager, "marketplace.config", "action_test_connection")
        self.assertIn(const.ENDPOINT_PRODUCTS, self.requests("GET")[0].url)
        self.assertEqual(self.config.connection_status, "connected")

    def test_manager_requeues_failed_jobs(self):
        job = self.config.with_delay()._acknowledge_orders(["Lr4tN8wQ"])
        job.db_record().write({"state": "failed"})
        self.call(self.manager, "marketplace.config", "action_requeue_failed_jobs")
        self.assertEqual(job.db_record().state, "pending")

    def test_marketplace_user_is_not_a_manager(self):
        for name in (
            "action_pull_orders",
            "action_test_connection",
            "action_requeue_failed_jobs",
            "action_open_mapping_assistant",
        ):
            with self.subTest(name), self.raises(AccessError):
                self.call(self.mp_salesman, "marketplace.config", name)
        self.assertEqual(len(self.http.calls), 0)
        # Reading is theirs.
        action = self.call(self.mp_salesman, "marketplace.config", "action_view_parked_orders")
        self.assertEqual(action["res_model"], "marketplace.parked.order")

    def test_marketplace_user_who_may_write_the_order_syncs_it_now(self):
        self.order.write(
            {"marketplace_status": "pending", "marketplace_push_status": "approved", "marketplace_sync_status": "error"}
        )
        with trap_jobs() as trap:
            self.call(self.mp_salesman, "sale.order", "action_marketplace_sync_now")
            trap.assert_jobs_count(1, only=self.order._push_marketplace_status)
            self.assertEqual(trap.enqueued_jobs[0].user_id, self.mp_salesman.id)
            perform_jobs(trap)
        self.assertEqual(len(self.requests("POST")), 1)
        self.assertEqual((self.order.marketplace_status, self.order.marketplace_sync_status), ("approved", "synced"))

    def test_callers_context_does_not_silence_the_connector(self):
        # ``skip_marketplace_sync`` is the import's own: a salesman who puts it in
        # their context still has Cartona told, and asked for a reason first.
        silenced = {"skip_marketplace_sync": True, "disable_cancel_warning": True}
        action = self.remote_call(self.salesman, "sale.order", "action_cancel", [self.order.ids], {}, silenced)
        self.assertEqual(action["res_model"], "marketplace.cancel.wizard")
        self.assertEqual(self.order.state, "sale")
        self.order.cartona_cancellation_reason = "out_of_stock"
        with trap_jobs() as trap:
            self.remote_call(self.salesman, "sale.order", "action_cancel", [self.order.ids], {}, silenced)
            self._settle()
            trap.assert_jobs_count(1, only=self.order._push_marketplace_status)
            perform_jobs(trap)
        self.assertEqual(self.order.state, "cancel")
        sent = [json.loads(request.body) for request in self.requests("POST")]
        self.assertEqual(sent[0][0]["status"], "cancelled_by_supplier")

    def test_sync_now_needs_the_marketplace_group_and_write_access(self):
        with self.raises(AccessError):
            self.call(self.salesman, "sale.order", "action_marketplace_sync_now")
        with self.raises(AccessError):
            # A marketplace user who may not write products.
            self.call(self.mp_salesman, "product.product", "action_marketplace_sync_now")
        self._settle()
        self.assertEqual(len(self.http.calls), 0)

    def test_marketplace_user_who_may_write_products_syncs_them_now(self):
        for model, ids in (("product.product", self.soda.ids), ("product.template", self.soda.product_tmpl_id.ids)):
            with self.subTest(model), trap_jobs() as trap:
                self.call(self.mp_pricer, model, "action_marketplace_sync_now", [ids])
                trap.assert_jobs_count(1, only=self.config._publish_pending)
                perform_jobs(trap)
        self.assertEqual(len(self.requests("POST")), 2)
        self.assertEqual(self.soda.marketplace_sync_status, "synced")


# The fields of the addon that users edit; every other field it defines on these
# models is the connector's. A field added later is classified here or there.
USER_FIELDS = {
    "sale.order": (sale_order.CONNECTOR_FIELDS, {"retailer_otp", "cartona_cancellation_reason"}),
    "sale.order.line": (sale_order_line.CONNECTOR_FIELDS, set()),
    "product.product": (
        product_product.CONNECTOR_FIELDS,
        {
            "cartona_id",
            "cartona_internal_id",
            "cartona_uom_id",
            "delivered_by",
            "marketplace_sync_enabled",
            "marketplace_stock_sync_enabled",
        },
    ),
    # A single-variant product shows its variant's fields; those the variant's
    # connector writes are read-only there.
    "product.template": (
        {"marketplace_sync_status", "marketplace_sync_date", "marketplace_error_message"},
        {
            "cartona_id",
            "cartona_internal_id",
            "cartona_uom_id",
            "delivered_by",
            "marketplace_sync_enabled",
            "marketplace_stock_sync_enabled",
        },
    ),
    "res.partner": (res_partner.CONNECTOR_FIELDS, set()),
    "account.move": (account_move.CONNECTOR_FIELDS, set()),
    "stock.picking": (stock_picking.CONNECTOR_FIELDS, {"retailer_otp"}),
}


class TestConnectorFields(RpcCase):
    """Users with write access on orders, products or contacts keep their own
    fields, and never write those that decide what the connector tells Cartona."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = make_user(cls.env, "salesman", "salesman", groups=("base.group_partner_manager",))
        cls.pricer = make_user(cls.env, "pricer", "sales_manager")
        cls.mp_salesman = make_user(cls.env, "mp-salesman", "mp_user", "salesman")

    def test_every_field_of_the_addon_is_classified(self):
        for model, (connector, users) in USER_FIELDS.items():
            with self.subTest(model):
                fields = self.env[model]._fields
                ours = {name for name, field in fields.items() if "cartona_marketplace" in field._modules}
                self.assertFalse(connector & users)
                self.assertEqual(ours, connector | users)

    def test_salesman_cannot_forge_a_cartona_order(self):
        args, kwargs = CALLS["sale.order", "create"](self)
        with self.raises(AccessError) as caught:
            self.remote_call(self.salesman, "sale.order", "create", args, kwargs)
        self.assertIn("Cartona Order ID", str(caught.exception))
        self.assertFalse(self.sale("Qx7mK2aP"))
        # Nor turn an order of their own into one.
        own = self.env["sale.order"].with_user(self.salesman).create({"partner_id": self.order.partner_id.id})
        for vals in ({"marketplace_config_id": self.config.id}, {"cartona_id": "Qx7mK2aP"}):
            with self.subTest(vals), self.raises(AccessError):
                self.remote_call(self.salesman, "sale.order", "write", [own.ids, vals], {})
        self.assertFalse(own.is_marketplace_order)

    def test_salesman_cannot_change_what_is_pushed(self):
        for vals in (
            {"marketplace_push_status": "delivered"},
            {"marketplace_status": "pending"},
            {"marketplace_sync_status": "synced"},
            {"delivered_by": "delivered_by_cartona"},
            {"cartona_otp_required": not self.order.cartona_otp_required},
        ):
            with self.subTest(vals), self.raises(AccessError):
                self.remote_call(self.salesman, "sale.order", "write", [self.order.ids, vals], {})
        self.assertEqual((self.order.marketplace_status, self.order.marketplace_push_status), ("approved", False))

    def test_salesman_cannot_hide_a_line_edit_from_cartona(self):
        line = self.order.order_line.filtered("cartona_line_id")[:1]
        before = line.read([*sale_order_line.CONNECTOR_FIELDS, "product_uom_qty"])
        for vals in (
            {"product_uom_qty": 5, "cartona_amount": 5},
            {"product_uom_qty": 5, "cartona_line_id": False},
            {"cartona_imported": False},
            {"cartona_unit": "carton"},
        ):
            with self.subTest(vals), self.raises(AccessError):
                self.remote_call(self.salesman, "sale.order.line", "write", [line.ids, vals], {})
        # Nor add a line Cartona would never hear of.
        vals = {"order_id": self.order.id, "product_id": self.rice.id, "product_uom_qty": 1, "cartona_imported": True}
        with self.raises(AccessError):
            self.remote_call(self.salesman, "sale.order.line", "create", [[vals]], {})
        self.assertEqual(line.read([*sale_order_line.CONNECTOR_FIELDS, "product_uom_qty"]), before)
        self.assertFalse(self.http.calls)

    def test_salesman_keeps_the_fields_that_are_theirs(self):
        vals = {"retailer_otp": "1234", "cartona_cancellation_reason": "out_of_stock", "note": "Call first"}
        self.remote_call(self.salesman, "sale.order", "write", [self.order.ids, vals], {})
        self.assertEqual(self.order.retailer_otp, "1234")
        self.assertEqual(self.order.cartona_cancellation_reason, "out_of_stock")

    def test_product_writers_map_but_do_not_forge_publications(self):
        product = self.env["product.product"].with_user(self.pricer).browse(self.rice.id)
        product.write({"cartona_id": "518", "marketplace_stock_sync_enabled": False, "list_price": 2.0})
        self.assertEqual(self.rice.cartona_id, "518")
        for vals in (
            {"marketplace_published_qty": 999},
            {"marketplace_published_price": 2.0},
            {"marketplace_sync_status": "synced"},
            {"marketplace_sync_date": "2026-01-01 00:00:00"},
            {"marketplace_error_message": "Forged"},
        ):
            with self.subTest(vals), self.raises(AccessError):
                product.write(vals)
        with self.raises(AccessError):
            product.create({"name": "X", "marketplace_sync_status": "synced"})
        self.assertEqual(self.rice.marketplace_sync_status, "not_synced")

    def test_retailer_code_is_the_connector_s(self):
        partner = self.order.partner_id
        other = self.env["res.partner"].with_user(self.salesman).create({"name": "Walk-in", "phone": "01001234567"})
        for vals in ({"cartona_id": "B01142"}, {"cartona_phone_key": partner.cartona_phone_key}):
            with self.subTest(vals), self.raises(AccessError):
                other.write(vals)
        with self.raises(AccessError):
            self.env["res.partner"].with_user(self.salesman).create({"name": "Forged", "cartona_id": "C00077"})
        other.write({"name": "Walk-in customer"})
        self.assertFalse(other.cartona_id)

    def test_the_connector_still_writes_them(self):
        # The cron (superuser) imports the order; a salesman confirming it queues the push.
        self.http.reset()
        self.serve_pages([self.order_data("Qx7mK2aP")])
        self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        order = self.sale("Qx7mK2aP")
        self.assertEqual(order.state, "draft")
        self.http.post(self.url(const.ENDPOINT_ORDER_STATUS), json=[])
        with trap_jobs() as trap:
            order.with_user(self.mp_salesman).action_confirm()
            trap.assert_jobs_count(1, only=order._push_marketplace_status)
            perform_jobs(trap)
        self.assertEqual((order.marketplace_status, order.marketplace_sync_status), ("approved", "synced"))
        self.assertEqual(order.marketplace_push_status, "approved")
