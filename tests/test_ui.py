from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestMarketplaceUi(HttpCase):
    """In Chromium: after login the Marketplace app shows its menus and opens
    the configuration list."""

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
