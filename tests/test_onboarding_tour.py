import threading

from .common import BrowserCase, load_sandbox_module

TOKEN = "sandbox-token"


class TestOnboardingTour(BrowserCase):
    """In Chromium, against the project's Cartona sandbox served on 127.0.0.1:
    create a marketplace, test its connection, run the catalogue mapping
    assistant, correct one proposal, filter on the sure proposals and apply them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        module = load_sandbox_module()
        server = module.make_server("127.0.0.1", 0, module.Sandbox(TOKEN, seed=3))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        cls.addClassCleanup(server.server_close)
        cls.addClassCleanup(server.shutdown)
        host, port = server.server_address[:2]
        # The URL a supplier would type: the sandbox's port is only known now.
        cls.env["ir.default"].set("marketplace.config", "api_base_url", f"http://{host}:{port}/api/v1/")
        product = cls.env["product.product"]
        cls.oil = product.create({"name": "زيت عباد الشمس 1 لتر", "default_code": "311#1"})
        cls.rice = product.create({"name": "ارز مصرى ١ كيلو"})
        cls.pasta = product.create({"name": "Spaghetti 400 g"})
        # Its name says one word more than Cartona's: a likely proposal, left out.
        cls.ghee = product.create({"name": "سمن بلدي ممتاز 1.5 كجم"})

    def test_onboarding(self):
        self.start_tour("/odoo", "cartona_onboarding", login="admin")
        config = self.env["marketplace.config"].search([("name", "=", "Cartona sandbox")])
        self.assertEqual(config.connection_status, "connected")
        self.assertEqual((self.oil.cartona_id, self.oil.cartona_internal_id), ("311001", "311#1"))
        self.assertEqual(self.oil.cartona_uom_id.name, "Box of 12")
        self.assertEqual(self.rice.cartona_id, "518001")
        self.assertEqual(self.pasta.cartona_id, "330412")
        self.assertFalse(self.ghee.cartona_id)
