"""A connector-owned field, a Cartona order's status and a retailer's identity
hold on every door a person reaches them by: values, ``default_*`` context keys,
``copy``, import, Odoo's portal routes and its contact merge."""

import base64

from odoo import Command
from odoo.exceptions import AccessError, UserError

from odoo.addons.queue_job.tests.common import trap_jobs

from .common import BASE_URL, TOKEN, BrowserCase, make_user
from .test_rpc_security import RpcCase

# Per model: what a user would give to create a record, and the connector's
# fields they would slip in.
FORGERIES = {
    "sale.order": (
        lambda t: {"partner_id": t.walk_in.id},
        # A real Cartona order of the supplier, not imported yet.
        lambda t: {"cartona_id": "Qx7mK2aP", "marketplace_config_id": t.config.id},
    ),
    "sale.order.line": (
        lambda t: {"order_id": t.own_order.id, "product_id": t.rice.id, "product_uom_qty": 1},
        lambda t: {"cartona_line_id": "forged-line", "cartona_imported": True},
    ),
    "res.partner": (lambda t: {"name": "Forged retailer"}, lambda t: {"cartona_id": "C00077"}),
    "account.move": (
        lambda t: {"move_type": "entry"},
        lambda t: {"cartona_sale_order_id": t.order.id, "cartona_move_kind": "top_up"},
    ),
    "product.product": (
        lambda t: {"name": "Forged product"},
        lambda t: {"marketplace_sync_status": "synced", "marketplace_published_qty": 7},
    ),
}


class TestEveryDoor(RpcCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = make_user(
            cls.env, "door-salesman", "salesman", groups=("base.group_partner_manager", "account.group_account_invoice")
        )
        cls.pricer = make_user(cls.env, "door-pricer", "sales_manager")
        cls.warehouse_user = make_user(cls.env, "door-warehouse", "warehouse")
        cls.portal = make_user(cls.env, "door-portal", "portal")
        cls.walk_in = cls.env["res.partner"].create({"name": "Walk-in customer"})

    def setUp(self):
        super().setUp()
        self.own_order = (
            self.env["sale.order"]
            .with_user(self.salesman)
            .create({"partner_id": self.walk_in.id, "order_line": [Command.create({"product_id": self.rice.id})]})
        )
        self.copyable = {
            "sale.order": self.own_order,
            "sale.order.line": self.own_order.order_line,
            "res.partner": self.walk_in,
            "account.move": self.env["account.move"].create({"move_type": "entry"}),
            "product.product": self.rice,
        }

    def forged_records(self):
        found = {}
        for model, (_base, forged) in FORGERIES.items():
            domain = [(name, "=", value) for name, value in forged(self).items()]
            found[model] = self.env[model].with_context(active_test=False).search(domain)
        return found

    def assert_refused(self, user, model, name, args, kwargs=None, context=None):
        with self.raises(AccessError) as caught, self.env.cr.savepoint():
            self.remote_call(user, model, name, args, kwargs or {}, context)
        return str(caught.exception)

    def test_defaults_copy_and_import_are_refused_on_every_model(self):
        before = self.forged_records()
        for user in (self.salesman, self.warehouse_user, self.portal):
            for model, (base, forged) in FORGERIES.items():
                values = forged(self)
                defaults = {f"default_{name}": value for name, value in values.items()}
                with self.subTest(user=user.login, model=model, door="default_* context keys"):
                    self.assert_refused(user, model, "create", [[base(self)]], context=defaults)
                with self.subTest(user=user.login, model=model, door="copy"):
                    record = self.copyable[model]
                    self.assert_refused(user, model, "copy", [record.ids], {"default": values})
                with self.subTest(user=user.login, model=model, door="import"):
                    # ``load`` reports what it refused instead of raising.
                    row = {**base(self), **values}
                    columns = [
                        f"{name}/.id" if self.env[model]._fields[name].type == "many2one" else name for name in row
                    ]
                    result = self.remote_call(user, model, "load", [columns, [[str(v) for v in row.values()]]], {})
                    self.assertFalse(result["ids"])
        self.assertEqual(self.forged_records(), before)

    def test_salesman_is_refused_by_the_guard_not_by_chance(self):
        # The salesman may create each of these records: only the connector's fields stop them.
        for model, (base, forged) in FORGERIES.items():
            user = self.pricer if model == "product.product" else self.salesman
            with self.subTest(model):
                self.remote_call(user, model, "create", [[base(self)]], {})
                defaults = {f"default_{name}": value for name, value in forged(self).items()}
                message = self.assert_refused(user, model, "create", [[base(self)]], context=defaults)
                self.assertIn("set by the Cartona connector only", message)

    def test_a_user_default_is_a_door_too(self):
        self.env["ir.default"].with_user(self.salesman).set(
            "res.partner", "cartona_id", "C00077", user_id=self.salesman.id
        )
        message = self.assert_refused(self.salesman, "res.partner", "create", [[{"name": "Walk-in 2"}]])
        self.assertIn("Cartona Retailer Code", message)

    def test_a_forged_quotation_is_never_adopted_by_the_import(self):
        context = {"default_cartona_id": "Qx7mK2aP", "default_marketplace_config_id": self.config.id}
        self.assert_refused(self.salesman, "sale.order", "create", [[{"partner_id": self.walk_in.id}]], context=context)
        self.http.reset()
        self.serve_pages([self.order_data("Qx7mK2aP")])
        self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        imported = self.sale("Qx7mK2aP")
        self.assertEqual(len(imported), 1)
        self.assertEqual(imported.partner_id.cartona_id, "B01142")
        self.assertNotEqual(imported.create_uid, self.salesman)

    def test_contact_merge_keeps_the_retailer_code(self):
        self.http.reset()
        self.serve_pages([self.order_data("Qx7mK2aP")])
        self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        order = self.sale("Qx7mK2aP")
        retailer = order.partner_id
        self.assertEqual(retailer.cartona_id, "B01142")
        duplicate = self.env["res.partner"].create({"name": retailer.name, "email": retailer.email})
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.salesman)
            .create({"partner_ids": [Command.set((retailer | duplicate).ids)], "dst_partner_id": duplicate.id})
        )
        self.remote_call(self.salesman, "base.partner.merge.automatic.wizard", "action_merge", [wizard.ids], {})
        self.assertFalse(retailer.exists())
        self.assertEqual(duplicate.cartona_id, "B01142")
        self.assertEqual(duplicate.marketplace_customer_type, "retailer")
        self.assertEqual(order.partner_id, duplicate)

    def test_two_retailers_are_not_merged(self):
        self.http.reset()
        self.serve_pages([self.order_data("Qx7mK2aP")])
        self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        retailer = self.sale("Qx7mK2aP").partner_id
        other = self.env["res.partner"].create(
            {"name": retailer.name, "email": retailer.email, "cartona_id": "C0OTHER"}
        )
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_user(self.salesman)
            .create({"partner_ids": [Command.set((retailer | other).ids)], "dst_partner_id": other.id})
        )
        with self.raises(UserError):
            self.remote_call(self.salesman, "base.partner.merge.automatic.wizard", "action_merge", [wizard.ids], {})
        self.assertEqual(other.cartona_id, "C0OTHER")


class TestPortal(BrowserCase):
    """Odoo's portal routes confirm and cancel with ``sudo()``: a retailer
    following an imported quotation neither signs, pays nor declines it there."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        config = cls.env["marketplace.config"].create(
            {"name": "Cartona (portal)", "api_base_url": BASE_URL, "auth_token": TOKEN}
        )
        cls.retailer_user = make_user(cls.env, "portal-retailer", "portal")
        product = cls.env["product.product"].create({"name": "Tea", "list_price": 10.0})
        cls.env.company.portal_confirmation_sign = True
        # As the import leaves a pending order: a quotation with Cartona's id.
        cls.order = cls.env["sale.order"].create(
            {
                "partner_id": cls.retailer_user.partner_id.id,
                "cartona_id": "Pt7portal",
                "marketplace_config_id": config.id,
                "marketplace_status": "pending",
                "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 2})],
            }
        )
        cls.order._portal_ensure_token()

    def test_retailer_cannot_accept_or_decline(self):
        self.authenticate("portal-retailer", "portal-retailer")
        pixel = base64.b64encode(bytes.fromhex("89504e470d0a1a0a")).decode()
        with trap_jobs() as trap:
            answer = self.make_jsonrpc_request(
                f"/my/orders/{self.order.id}/accept",
                {"access_token": self.order.access_token, "name": "Retailer", "signature": pixel},
            )
            self.assertIn("error", answer)
            # The decline form is only offered when the order is to be signed; the route checks the same.
            self.assertFalse(self.order._has_to_be_signed())
            self.assertFalse(self.order._has_to_be_paid())
            # And whatever route reaches them with ``sudo()`` as the retailer is refused.
            as_retailer = self.order.with_user(self.retailer_user).sudo()
            for action in (as_retailer.action_confirm, as_retailer._action_cancel):
                with self.subTest(action.__name__), self.assertRaises(UserError):
                    action()
            trap.assert_jobs_count(0)
        self.assertEqual(self.order.state, "draft")
        self.assertFalse(self.order.signature)


class TestOdooOwnCodeUnderSudo(RpcCase):
    """Odoo's own code creates records with ``sudo()`` and the caller's context:
    the defaults a person slips in are theirs, not the connector's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = make_user(cls.env, "sudo-salesman", "salesman", groups=("account.group_account_invoice",))

    def test_an_invoice_made_from_a_salesman_s_order_cannot_take_a_cartona_booking(self):
        partner = self.env["res.partner"].create({"name": "Walk-in"})
        own = (
            self.env["sale.order"]
            .with_user(self.salesman)
            .create({"partner_id": partner.id, "order_line": [Command.create({"product_id": self.rice.id})]})
        )
        own.with_user(self.salesman).action_confirm()
        wizard = (
            self.env["sale.advance.payment.inv"]
            .with_user(self.salesman)
            .with_context(active_model="sale.order", active_ids=own.ids)
            .create({"advance_payment_method": "delivered"})
        )
        forged = {"default_cartona_sale_order_id": self.order.id, "default_cartona_move_kind": "invoice"}
        # What Odoo's invoicing does for the salesman: ``sudo()``, with the caller's context.
        as_odoo = self.env["account.move"].with_user(self.salesman).sudo().with_context(**forged)
        with self.raises(AccessError), self.env.cr.savepoint():
            as_odoo.create({"move_type": "entry"})
        # The whole way, over RPC: the salesman's invoice carries no Cartona booking.
        self.remote_call(self.salesman, "sale.advance.payment.inv", "create_invoices", [wizard.ids], {}, forged)
        self.assertTrue(own.invoice_ids)
        self.assertFalse(own.invoice_ids.cartona_move_kind)
        self.assertFalse(self.env["account.move"].search([("cartona_sale_order_id", "=", self.order.id)]))
