from odoo import http

from .common import BASE_URL, TOKEN, BrowserCase, load_json


class TestMarketplaceUi(BrowserCase):
    """In Chromium: after login the Marketplace app shows its menus and opens
    the configuration list."""

    def test_manifests_are_read_before_the_browser_comes(self):
        self.assertIn("statics", vars(http.root), "read lazily by the browser's first requests, on several threads")

    def test_marketplace_menu_after_login(self):
        self.assertEqual(self.url_open("/web/login").status_code, 200)
        self.browser_js(
            "/odoo/action-cartona_marketplace.action_marketplace_config",
            """
            (async () => {
                for (let i = 0; i < 100; i++) {
                    const brand = document.querySelector('.o_menu_brand');
                    const sections = [...document.querySelectorAll('.o_menu_sections .dropdown-toggle, '
                        + '.o_menu_sections a')].map((el) => el.textContent.trim());
                    if (brand && brand.textContent.trim() === 'Marketplace'
                            && sections.includes('Configuration')
                            && document.querySelector('.o_list_view')) {
                        console.log('test successful');
                        return;
                    }
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
                console.error('the Marketplace app, its Configuration menu or the list did not show');
            })();
            """,
            ready="odoo.isReady",
            login="admin",
        )


class TourCase(BrowserCase):
    """A marketplace for a tour in Chromium (static/tests/tours/). Each tour
    has its class, hence its own browser: the alerts a tour raises reach the
    web client of the next one, whose records are gone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.config = cls.env["marketplace.config"].create(
            {"name": "Cartona (tour)", "api_base_url": BASE_URL, "auth_token": TOKEN}
        )


class TestDashboardTour(TourCase):
    def test_dashboard_follow_an_error_and_requeue(self):
        self.env["marketplace.sync.log"]._log_operation(self.config.id, "order_pull", "error", "Cartona is down")
        soda = self.env["product.product"].create({"name": "Tour soda", "cartona_id": "T-220731"})
        soda.sudo().write({"marketplace_sync_status": "error", "marketplace_error_message": "refused"})
        job = self.config.with_delay(description="Tour acknowledgement")._acknowledge_orders(["Tour1"])
        job.set_failed(exc_name="MarketplacePermanentError", exc_message="Cartona said no")
        job.store()
        self.start_tour("/odoo", "cartona_marketplace_dashboard", login="admin")
        self.assertEqual(job.db_record().state, "pending")


class TestOrderTour(TourCase):
    def test_order_cartona_tab_and_delivery_otp(self):
        for name, internal in (("Tour oil", "311#1"), ("Tour rice", "518#1")):
            self.env["product.product"].create({"name": name, "is_storable": True, "cartona_internal_id": internal})
        data = next(o for o in load_json("pull_orders_page.json") if o["hashed_id"] == "Qx7mK2aP")
        data["status"] = "approved"
        self.env["marketplace.order.processor"]._process_page(self.config, [data])
        order = self.env["sale.order"].search([("cartona_id", "=", "Qx7mK2aP")])
        self.assertEqual(order.state, "sale")
        self.start_tour("/odoo", "cartona_marketplace_order_otp", login="admin")
        self.assertEqual(order.retailer_otp, "4821")
