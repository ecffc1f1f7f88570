import re
from pathlib import Path

from odoo.exceptions import AccessError

from odoo.addons.cartona_marketplace import const

from .common import MarketplaceCase, make_user

ADDON = Path(__file__).resolve().parent.parent


class TestInstall(MarketplaceCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A configuration with the defaults of the form.
        cls.config = cls.env["marketplace.config"].create({"name": "Cartona", "auth_token": "secret-token"})
        cls.user = make_user(cls.env, "marketplace_user", "mp_user")

    def test_addon_and_dependencies_installed(self):
        names = ["cartona_marketplace", "sale_management", "sale_stock", "queue_job"]
        modules = self.env["ir.module.module"].search([("name", "in", names)])
        self.assertEqual(sorted(modules.mapped("name")), sorted(names))
        self.assertEqual(set(modules.mapped("state")), {"installed"})

    def test_every_model_file_is_loaded_by_its_package(self):
        # A file no ``__init__`` imports is loaded only when a test happens to
        # import it: the tests would pass and the server would miss the model;
        # Odoo's own test runner would miss a test file.
        for package, pattern in (("models", "*.py"), ("wizards", "*.py"), ("tests", "test_*.py")):
            folder = ADDON / package
            loaded = set(re.findall(r"^from \. import (\w+)$", (folder / "__init__.py").read_text(), re.M))
            files = {path.stem for path in folder.glob(pattern) if path.stem != "__init__"}
            with self.subTest(package=package):
                self.assertEqual(files - loaded, set())

    def test_config_fields_types_and_defaults(self):
        fields = self.env["marketplace.config"]._fields
        expected = {
            "name": "char",
            "api_base_url": "char",
            "auth_token": "char",
            "auth_header": "char",
            "auto_sync_stock": "boolean",
            "auto_sync_prices": "boolean",
            "auto_pull_orders": "boolean",
            "batch_size": "integer",
            "retry_attempts": "integer",
            "timeout": "integer",
            "connection_status": "selection",
            "last_sync_date": "datetime",
            "total_products_synced": "integer",
            "total_orders_pulled": "integer",
            "custom_state_mapping": "text",
        }
        self.assertEqual({name: fields[name].type for name in expected}, expected)
        self.assertEqual(
            [key for key, _label in fields["connection_status"].selection], ["not_tested", "connected", "error"]
        )
        config = self.config
        self.assertEqual(config.batch_size, 100)
        self.assertEqual(config.retry_attempts, 3)
        self.assertEqual(config.timeout, 30)
        self.assertEqual(config.auth_header, "AuthorizationToken")
        self.assertEqual(config.api_base_url, const.API_BASE_URL_PRODUCTION)
        self.assertEqual(config.connection_status, "not_tested")
        self.assertTrue(config.active)
        self.assertEqual(fields["auth_token"].groups, "cartona_marketplace.group_marketplace_manager")
        self.assertFalse(fields["auth_token"].copy)

    def test_marketplace_user_reads_but_cannot_write_nor_see_token(self):
        config = self.config.with_user(self.user)
        self.assertEqual(config.name, "Cartona")
        with self.assertRaises(AccessError):
            config.write({"name": "Changed"})
        with self.assertRaises(AccessError):
            self.env["marketplace.config"].with_user(self.user).create({"name": "Other"})
        with self.assertRaises(AccessError):
            config.read(["auth_token"])
        self.assertNotIn("auth_token", config.fields_get())
        # The sync log is read-only for the same user.
        log_id = self.env["marketplace.sync.log"]._log_operation(self.config.id, "api_call", "info", "hello")
        log = self.env["marketplace.sync.log"].with_user(self.user).browse(log_id)
        self.assertEqual(log.message, "hello")
        with self.assertRaises(AccessError):
            log.write({"message": "changed"})

    def test_menu_and_actions_load(self):
        root = self.env.ref("cartona_marketplace.menu_marketplace_root")
        config_menu = self.env.ref("cartona_marketplace.menu_marketplace_config")
        self.assertEqual(config_menu.parent_id.parent_id, root)
        self.assertEqual(self.env.ref("cartona_marketplace.menu_marketplace_configuration").name, "Configuration")
        # The admin sees the menu in the menu tree the web client loads.
        menus = self.env["ir.ui.menu"].load_menus(debug=False)
        self.assertIn(root.id, menus)
        for xmlid, model in [
            ("cartona_marketplace.action_marketplace_config", "marketplace.config"),
            ("cartona_marketplace.action_marketplace_sync_log", "marketplace.sync.log"),
        ]:
            action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
            self.assertEqual(action["res_model"], model)
            views = self.env[model].get_views([(False, "list"), (False, "form"), (False, "search")])
            self.assertEqual(set(views["views"]), {"list", "form", "search"})
        # A marketplace user can open the configuration views too (without the token field).
        views = self.env["marketplace.config"].with_user(self.user).get_views([(False, "form")])
        self.assertNotIn('name="auth_token"', views["views"]["form"]["arch"])
