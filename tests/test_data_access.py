from odoo.exceptions import AccessError

from .common import ImportCase, make_user


class TestWaitingOrderAccess(ImportCase):
    """Waiting orders keep retailers' names, phone numbers and addresses:
    marketplace users of the configuration's company read them, nobody else."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Supplier B"})
        cls.config_b = cls.env["marketplace.config"].create(
            {"name": "Cartona (B)", "company_id": cls.company_b.id, "auth_token": "other"}
        )
        company_a = cls.config.company_id
        cls.mp_user = make_user(
            cls.env,
            "mp-user-a",
            "mp_user",
            company_id=company_a.id,
            company_ids=[company_a.id],
        )
        cls.employee = make_user(cls.env, "employee", "employee")
        cls.salesman = make_user(cls.env, "salesman", "salesman")

    def setUp(self):
        super().setUp()
        data = self.order_data("Pz2cV6yE")
        data["order_details"][0].update(supplier_product_id="777001", internal_product_id="777#1")
        self.pull([data])
        self.parked = self.env["marketplace.parked.order"].search([("marketplace_config_id", "=", self.config.id)])
        self.parked_b = self.env["marketplace.parked.order"].create(
            {"marketplace_config_id": self.config_b.id, "cartona_id": "Bb1", "payload": "{}", "reason": "test"}
        )
        self.assertIn("+201234567890", self.parked.payload)

    def test_marketplace_user_reads_their_company_s_waiting_orders_only(self):
        model = self.env["marketplace.parked.order"].with_user(self.mp_user)
        self.assertEqual(model.search([]), self.parked)
        self.assertIn("+201234567890", model.browse(self.parked.id).payload)
        with self.assertRaises(AccessError):
            model.browse(self.parked_b.id).read(["payload"])

    def test_employee_and_salesman_cannot_read_payloads(self):
        for user in (self.employee, self.salesman):
            with self.subTest(user.login):
                parked = self.env["marketplace.parked.order"].with_user(user)
                with self.assertRaises(AccessError):
                    parked.browse(self.parked.id).read(["payload"])
                with self.assertRaises(AccessError):
                    parked.search_read([], ["payload"])
                # The sync log keeps the payload of an order that failed too.
                with self.assertRaises(AccessError):
                    self.env["marketplace.sync.log"].with_user(user).search_read([], ["error_details"])
