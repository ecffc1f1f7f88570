"""Every view of the addon loads, with its records, for a marketplace manager,
a marketplace user and a plain employee, each seeing what its group allows."""

from lxml import etree

from odoo.exceptions import AccessError
from odoo.tools.safe_eval import safe_eval

from .common import ImportCase, make_user

# The views Odoo's own models show with the addon's additions: who reads them.
EXTENDED = (
    ("sale.order", ("form", "list", "search")),
    ("product.template", ("form", "search")),
    ("product.product", ("form", "list", "search")),
    ("res.partner", ("form", "search")),
    ("stock.picking", ("form",)),
)


# The catalogue mapping assistant's review remaps what Cartona is told: managers only.
MANAGERS_ONLY = {"marketplace.mapping.line"}


class TestViewsPerUser(ImportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Each with the rights of their daily work; only the marketplace group differs.
        work = ("sales_manager", "warehouse")
        cls.users = {
            "manager": make_user(cls.env, "mp-manager", "mp_manager", *work),
            "user": make_user(cls.env, "mp-user", "mp_user", *work),
            "employee": make_user(cls.env, "employee", *work),
        }

    def setUp(self):
        super().setUp()
        self.pull([self.order_data("Qx7mK2aP", status="approved")])
        self.order = self.sale("Qx7mK2aP")
        self.env["marketplace.sync.log"]._log_operation(self.config.id, "order_pull", "error", "Cartona is down")

    def actions(self):
        data = self.env["ir.model.data"].search(
            [("module", "=", "cartona_marketplace"), ("model", "=", "ir.actions.act_window")]
        )
        return self.env["ir.actions.act_window"].browse(data.mapped("res_id"))

    def load(self, user, model, modes, domain=(), view=None):
        """The views of ``modes`` as the web client asks for them (``view``
        for its type), then the records of each list and kanban with every
        field those views show."""
        records = self.env[model].with_user(user)
        result = records.get_views([(view.id if view and view.type == mode else False, mode) for mode in modes])
        for mode in modes:
            arch = etree.fromstring(result["views"][mode]["arch"])
            if mode in ("list", "kanban"):
                names = {node.get("name") for node in arch.iter("field")}
                records.web_search_read(list(domain), {name: {} for name in names}, limit=20)
        return result

    def test_every_action_loads_for_whom_it_is_meant(self):
        for action in self.actions():
            modes = [mode for mode in action.view_mode.split(",") if mode != "form"] + ["form", "search"]
            for role, user in self.users.items():
                with self.subTest(action=action.xml_id, role=role):
                    model = self.env[action.res_model]
                    readable = model.with_user(user).has_access("read")
                    if action.res_model in MANAGERS_ONLY:
                        self.assertEqual(readable, role == "manager", f"{role} reading {action.res_model}")
                    elif not readable:
                        self.assertEqual(role, "employee", f"{role} cannot read {action.res_model}")
                    elif role == "employee":
                        # The addon's records are its groups'; Odoo's follow Odoo's rules.
                        ours = action.res_model.startswith("marketplace.")
                        self.assertFalse(ours, f"employee reads {action.res_model}")
                    if not readable:
                        with self.assertRaises(AccessError):
                            self.load(user, action.res_model, modes)
                        continue
                    self.load(user, action.res_model, modes, safe_eval(action.domain or "[]"), action.view_id)

    def test_dashboard_shows_each_group_its_figures(self):
        for role in ("manager", "user"):
            views = self.load(self.users[role], "marketplace.config", ["kanban"])
            arch = views["views"]["kanban"]["arch"]
            card = (
                self.env["marketplace.config"]
                .with_user(self.users[role])
                .web_search_read([], {"last_error": {}, "orders_today_count": {}, "parked_order_count": {}})
            )
            self.assertEqual(card["records"][0]["last_error"], "Cartona is down")
            self.assertEqual(card["records"][0]["orders_today_count"], 1)
            with self.subTest(role):
                # Jobs and the recovery buttons are the managers'.
                self.assertEqual("action_requeue_failed_jobs" in arch, role == "manager")
                self.assertEqual("failed_job_count" in arch, role == "manager")

    def test_dashboard_opens_for_a_marketplace_user_without_sales_rights(self):
        clerk = make_user(self.env, "mp-clerk", "mp_user")
        self.assertFalse(self.env["sale.order"].with_user(clerk).has_access("read"))
        views = self.load(clerk, "marketplace.config", ["kanban"])
        arch = etree.fromstring(views["views"]["kanban"]["arch"])
        names = {node.get("name") for node in arch.iter("field")}
        configs = self.env["marketplace.config"].with_user(clerk)
        card = configs.web_search_read([], {name: {} for name in names})
        self.assertEqual(card["records"][0]["orders_today_count"], 1, "a count, not the orders")
        # What the figure opens is the orders themselves: theirs to read or not.
        with self.assertRaises(AccessError):
            configs.browse(self.config.id).action_view_orders_today()

    def test_extended_views_load_for_everyone_who_reads_the_model(self):
        for model, modes in EXTENDED:
            for role, user in self.users.items():
                with self.subTest(model=model, role=role):
                    self.load(user, model, modes)
        # The delivery shows its Cartona order to the warehouse, whatever its group.
        picking = self.order.picking_ids.with_user(self.users["employee"])
        self.assertEqual(picking.marketplace_order_number, self.order.marketplace_order_number)

    def test_menus_per_group(self):
        def menus(user):
            loaded = self.env["ir.ui.menu"].with_user(user).load_menus(debug=False)
            return {menu["xmlid"] for menu in loaded.values() if isinstance(menu, dict) and menu.get("xmlid")}

        ours = "cartona_marketplace.menu_marketplace_{}".format
        manager, user, employee = (menus(self.users[role]) for role in ("manager", "user", "employee"))
        for name in ("root", "dashboard", "orders", "parked_order", "sync_log"):
            self.assertIn(ours(name), user)
            self.assertIn(ours(name), manager)
            self.assertNotIn(ours(name), employee)
        self.assertIn(ours("config"), manager)
        self.assertNotIn(ours("config"), user)
