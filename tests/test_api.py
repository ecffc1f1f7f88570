import json
import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import requests
import responses

from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.cartona.client import _session, parse_retry_after
from odoo.addons.cartona_marketplace.exceptions import (
    MarketplaceAuthError,
    MarketplacePermanentError,
    MarketplaceRetryableError,
)

from .common import BASE_URL, TOKEN, CartonaCase, DatabaseCase

PRODUCTS = const.ENDPOINT_PRODUCTS
PULL = const.ENDPOINT_PULL_ORDERS


class TestApiAnswers(CartonaCase):
    def test_list_answer_is_normalized(self):
        self.http.get(self.url(PRODUCTS), json=[{"supplier_product_id": "1"}])
        answer = self.api._get_products(self.config, page=1, per_page=1)
        self.assertEqual(answer, {"success": True, "data": [{"supplier_product_id": "1"}], "error": None})

    def test_dict_answers_are_normalized(self):
        normalize = self.api._normalize_api_response
        self.assertEqual(normalize({"id": 1}), {"success": True, "data": {"id": 1}, "error": None})
        self.assertEqual(
            normalize({"success": False, "message": "bad otp"}), {"success": False, "data": None, "error": "bad otp"}
        )
        self.assertEqual(normalize({"success": True, "data": [1]}), {"success": True, "data": [1], "error": None})
        self.assertFalse(normalize("text")["success"])
        # The flag is read as Cartona's per-item answers are: a string "false" is no success.
        for flag, success in (("false", False), ("0", False), (None, False), ("true", True), (1, True)):
            with self.subTest(flag):
                answer = normalize({"success": flag, "message": "refused"})
                self.assertEqual((answer["success"], answer["error"]), (success, None if success else "refused"))

    def test_request_headers_and_configurable_header_name(self):
        self.config.auth_header = "X-Cartona-Token"
        self.http.get(self.url(PRODUCTS), json=[])
        self.api._get_products(self.config, page=2, per_page=5)
        request = self.http.calls[0].request
        self.assertEqual(request.headers["X-Cartona-Token"], TOKEN)
        self.assertNotIn("AuthorizationToken", request.headers)
        self.assertEqual(request.headers["Content-Type"], "application/json")
        self.assertEqual(request.headers["User-Agent"], const.USER_AGENT)
        self.assertIn("page=2", request.url)
        self.assertIn("per_page=5", request.url)
        self.assertNotIn(TOKEN, request.url)

    def test_session_is_pooled(self):
        self.assertIs(_session(), _session())

    def test_auth_errors_never_retried_and_mark_config(self):
        for status in (401, 403):
            self.http.reset()
            self.env["marketplace.sync.log"]._log_operation(self.config.id, "connection_test", "success", "Connected")
            self.assertEqual(self.config.connection_status, "connected")
            self.http.get(self.url(PRODUCTS), status=status, json={"message": "invalid token"})
            with self.raises(MarketplaceAuthError) as caught:
                self.api._get_products(self.config)
            self.assertNotIsInstance(caught.exception, MarketplaceRetryableError)
            self.assertEqual(caught.exception.status_code, status)
            self.assertEqual(len(self.http.calls), 1)
            self.assertEqual(self.config.connection_status, "error")
            self.assertIn("invalid token", self.config.connection_message)

    def test_retryable_statuses(self):
        for status in (408, 429, 500, 502, 503, 504):
            self.http.reset()
            self.http.get(self.url(PRODUCTS), status=status, body="busy")
            with self.raises(MarketplaceRetryableError) as caught:
                self.api._get_products(self.config)
            self.assertEqual(caught.exception.status_code, status)
            self.assertIsNone(caught.exception.seconds)
        self.assertEqual(self.config.connection_status, "not_tested")

    def test_retry_after_seconds_and_http_date(self):
        self.http.get(self.url(PRODUCTS), status=429, headers={"Retry-After": "120"}, body="slow down")
        with self.raises(MarketplaceRetryableError) as caught:
            self.api._get_products(self.config)
        self.assertEqual(caught.exception.seconds, 120)

        self.http.reset()
        when = datetime.now(timezone.utc) + timedelta(seconds=90)
        self.http.get(self.url(PRODUCTS), status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
        with self.raises(MarketplaceRetryableError) as caught:
            self.api._get_products(self.config)
        self.assertTrue(80 <= caught.exception.seconds <= 91, caught.exception.seconds)

    def test_parse_retry_after(self):
        now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=timezone.utc)
        self.assertEqual(parse_retry_after("7"), 7)
        self.assertEqual(parse_retry_after("Wed, 25 Nov 2026 10:02:00 GMT", now=now), 120)
        self.assertEqual(parse_retry_after("Wed, 25 Nov 2026 09:00:00 GMT", now=now), 0)
        self.assertIsNone(parse_retry_after("soon"))
        self.assertIsNone(parse_retry_after(None))

    def test_timeout_and_connection_errors_are_retryable(self):
        for error in (requests.Timeout("read timed out"), requests.ConnectionError("refused")):
            self.http.reset()
            self.http.get(self.url(PRODUCTS), body=error)
            with self.raises(MarketplaceRetryableError):
                self.api._get_products(self.config)

    def test_other_4xx_are_permanent_with_body_excerpt(self):
        long_body = json.dumps({"message": "supplier_product_id is invalid", "detail": "x" * 2000})
        self.http.get(self.url(PRODUCTS), status=422, body=long_body)
        with self.raises(MarketplacePermanentError) as caught:
            self.api._get_products(self.config)
        error = caught.exception
        self.assertEqual(error.status_code, 422)
        self.assertIn("supplier_product_id is invalid", str(error))
        self.assertLess(len(str(error)), const.BODY_EXCERPT_LENGTH + 100)
        self.http.reset()
        self.http.get(self.url(PRODUCTS), status=404, body="not here")
        with self.raises(MarketplacePermanentError):
            self.api._get_products(self.config)

    def test_html_error_page_with_200_is_an_error_not_a_crash(self):
        self.http.get(self.url(PRODUCTS), status=200, body="<html><body>Maintenance</body></html>")
        with self.raises(MarketplacePermanentError) as caught:
            self.api._get_products(self.config)
        self.assertIn("not JSON", str(caught.exception))
        self.assertIn("Maintenance", str(caught.exception))

    def test_json_nested_past_the_decoder_is_an_error_not_a_crash(self):
        self.http.get(self.url(PRODUCTS), status=200, body="[" * 100_000)
        with self.raises(MarketplacePermanentError) as caught:
            self.api._get_products(self.config)
        self.assertIn("not JSON", str(caught.exception))

    def test_control_characters_in_answers_never_reach_the_database(self):
        # PostgreSQL refuses NUL in text: an error page or an error message with one
        # must still be logged, not crash the logging.
        self.http.get(self.url(PRODUCTS), status=500, body="down\x00 for\x1b maintenance")
        with self.raises(MarketplaceRetryableError) as caught:
            self.api._get_products(self.config)
        self.assertNotIn("\x00", str(caught.exception))
        self.http.replace(responses.GET, self.url(PRODUCTS), json={"success": False, "error": "bad\x00token"})
        answer = self.api._get_products(self.config)
        self.assertFalse(answer["success"])
        self.assertNotIn("\x00", answer["error"])
        messages = self.logs(("status", "=", "error")).mapped("message")
        self.assertEqual(len(messages), 1)
        self.assertIn("maintenance", messages[0])
        self.assertFalse(any("\x00" in message for message in messages))
        # Whatever a caller hands the sync log is stored clean.
        log_id = self.env["marketplace.sync.log"]._log_operation(
            self.config.id, "api_call", "error", "a\x00b", error_details="c\x00d"
        )
        log = self.env["marketplace.sync.log"].browse(log_id)
        self.assertEqual((log.message, log.error_details), ("a\\u0000b", "c\\u0000d"))

    def test_failures_are_logged_with_endpoint_and_status(self):
        self.http.get(self.url(PRODUCTS), status=500, body="boom")
        with self.raises(MarketplaceRetryableError):
            self.api._get_products(self.config)
        log = self.logs(("status", "=", "error"))
        self.assertEqual(len(log), 1)
        self.assertEqual(log.status_code, 500)
        self.assertEqual(log.endpoint, f"GET {PRODUCTS}")
        self.assertIn("boom", log.message)
        self.assertGreaterEqual(log.duration_ms, 0)

    def test_token_never_leaks(self):
        self.http.get(self.url(PRODUCTS), status=500, body=f"Internal error for header AuthorizationToken={TOKEN}")
        self.http.get(self.url(PULL), status=401, body=f"bad token {TOKEN}")
        with self.assertLogs(level=logging.DEBUG) as captured:
            logging.getLogger("urllib3").setLevel(logging.DEBUG)
            with self.raises(MarketplaceRetryableError) as first:
                self.api._get_products(self.config)
            with self.raises(MarketplaceAuthError) as second:
                self.api._pull_orders(self.config)
        self.assertTrue(captured.output)
        for text in [*captured.output, str(first.exception), str(second.exception), self.config.connection_message]:
            self.assertNotIn(TOKEN, text)
        for log in self.logs():
            self.assertNotIn(TOKEN, f"{log.message} {log.error_details} {log.endpoint}")
        for call in self.http.calls:
            self.assertNotIn(TOKEN, call.request.url)


class TestApiEndpoints(CartonaCase):
    def test_pull_orders_params(self):
        self.config.supplier_code = "3"
        self.http.get(self.url(PULL), json=[])
        date_from = datetime(2026, 11, 24, 8, 30)
        answer = self.api._pull_orders(self.config, page=2, per_page=10, date_from=date_from)
        self.assertEqual(answer["data"], [])
        params = self.http.calls[0].request.params
        self.assertEqual(params["page"], "2")
        self.assertEqual(params["per_page"], "10")
        self.assertEqual(params["from"], "2026-11-24 08:30:00")
        self.assertEqual(params["internal_supplier_code"], "3")

    def test_pull_orders_refuses_a_non_list(self):
        self.http.get(self.url(PULL), json={"orders": "nope"})
        with self.raises(MarketplacePermanentError):
            self.api._pull_orders(self.config)

    def test_pagination_three_pages_then_empty(self):
        pages = {1: [{"hashed_id": "a"}, {"hashed_id": "b"}], 2: [{"hashed_id": "c"}, {"hashed_id": "d"}]}
        pages[3] = [{"hashed_id": "e"}, {"hashed_id": "f"}]

        def answer(request):
            page = int(request.params["page"])
            return 200, {}, json.dumps(pages.get(page, []))

        self.http.add_callback(responses.GET, self.url(PULL), callback=answer)
        walked = list(self.api._iter_order_pages(self.config, per_page=2))
        self.assertEqual([page for page, _orders in walked], [1, 2, 3])
        self.assertEqual([o["hashed_id"] for _page, orders in walked for o in orders], list("abcdef"))
        self.assertEqual(len(self.http.calls), 4)

    def test_pagination_goes_on_past_a_short_page(self):
        """Cartona may serve fewer orders a page than asked: only an empty page ends the walk."""
        self.serve_cartona(*({"hashed_id": key} for key in "abcde"), max_per_page=2)
        walked = list(self.api._iter_order_pages(self.config, per_page=3))
        pages = [[order["hashed_id"] for order in orders] for _page, orders in walked]
        self.assertEqual(pages, [["a", "b"], ["c", "d"], ["e"]])
        self.assertEqual(len(self.http.calls), 4)

    def test_pagination_has_a_hard_cap(self):
        self.http.get(self.url(PULL), json=[{"hashed_id": "same"}])
        walked = list(self.api._iter_order_pages(self.config, per_page=1))
        self.assertEqual(len(walked), const.MAX_PULL_PAGES)
        self.assertEqual(len(self.http.calls), const.MAX_PULL_PAGES)

    def test_bulk_update_products_chunked_by_batch_size(self):
        self.config.batch_size = 100
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])
        items = [{"supplier_product_id": str(i), "selling_price": 10} for i in range(250)]
        answers = self.api._bulk_update_products(self.config, items)
        self.assertEqual(len(answers), 3)
        sizes = [len(json.loads(call.request.body)) for call in self.http.calls]
        self.assertEqual(sizes, [100, 100, 50])
        self.http.reset()
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])
        self.api._bulk_update_stock(
            self.config, [{"supplier_product_id": "1", "available_stock_quantity": 3, "in_stock": True}]
        )
        self.assertEqual(
            json.loads(self.http.calls[0].request.body),
            [{"supplier_product_id": "1", "available_stock_quantity": 3, "in_stock": True}],
        )

    def test_order_status_endpoints(self):
        single = self.url(const.ENDPOINT_ORDER_STATUS_SINGLE.format(hashed_id="Qx7mK2aP"))
        self.http.post(single, json={"success": True})
        self.api._update_single_order_status(self.config, "Qx7mK2aP", "delivered", retailer_otp="1234")
        self.assertEqual(
            json.loads(self.http.calls[0].request.body),
            {"hashed_id": "Qx7mK2aP", "status": "delivered", "retailer_otp": "1234"},
        )
        self.http.reset()
        self.http.post(single, json={"success": False, "message": "Wrong OTP"})
        with self.raises(MarketplacePermanentError) as caught:
            self.api._update_single_order_status(self.config, "Qx7mK2aP", "delivered", retailer_otp="0000")
        self.assertIn("Wrong OTP", str(caught.exception))
        self.http.reset()
        self.http.post(self.url(const.ENDPOINT_ORDER_STATUS), json=[{"hashed_id": "a", "success": True}])
        self.api._bulk_update_order_status(self.config, [{"hashed_id": "a", "status": "synced"}])
        self.assertEqual(json.loads(self.http.calls[0].request.body), [{"hashed_id": "a", "status": "synced"}])


class TestConfig(CartonaCase):
    def test_connection_success(self):
        self.http.get(self.url(PRODUCTS), json=[{"supplier_product_id": "1"}])
        action = self.config.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(self.config.connection_status, "connected")
        self.assertEqual(self.http.calls[0].request.params["per_page"], "1")
        self.assertTrue(self.logs(("operation_type", "=", "connection_test"), ("status", "=", "success")))

    def test_connection_failure_shows_reason(self):
        self.http.get(self.url(PRODUCTS), status=401, json={"message": "token revoked"})
        action = self.config.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(self.config.connection_status, "error")
        self.assertIn("token revoked", self.config.connection_message)
        self.http.reset()
        self.http.get(self.url(PRODUCTS), status=502, body="<html>Bad gateway</html>")
        self.config.action_test_connection()
        self.assertEqual(self.config.connection_status, "error")
        self.assertIn("502", self.config.connection_message)

    def test_state_mapping_validation(self):
        self.config.custom_state_mapping = '{"returned": "cancel"}'
        self.assertEqual(self.config._get_state_mapping()["returned"], "cancel")
        self.assertEqual(self.config._get_state_mapping()["approved"], "sale")
        bad = {
            '{"shipped": "sale"}': "shipped",
            '{"approved": "confirm"}': "confirm",
            "[1, 2]": "JSON object",
            "{not json": "not valid JSON",
        }
        for text, named in bad.items():
            with self.assertRaises(ValidationError) as caught:
                self.config.custom_state_mapping = text
            self.assertIn(named, str(caught.exception))

    def test_configs_sharing_a_token_name_their_account(self):
        configs = self.env["marketplace.config"]
        wholesale = {"name": "Wholesale", "api_base_url": BASE_URL, "auth_token": TOKEN}
        self.config.supplier_code = "1"
        self.assertEqual(configs.create(dict(wholesale, supplier_code="2")).supplier_code, "2")
        with self.assertRaisesRegex(ValidationError, "supplier code"):
            configs.create(dict(wholesale, name="Retail"))

    def test_price_excluded_tax_refused(self):
        tax = self.env["account.tax"].create({"name": "VAT 14% excl", "amount": 14, "type_tax_use": "sale"})
        with self.assertRaises(ValidationError) as caught:
            self.config.tax_ids = tax
        self.assertIn("not included in the price", str(caught.exception))


class TestSyncLog(CartonaCase):
    def test_cleanup_by_age(self):
        model = self.env["marketplace.sync.log"]
        old = model.browse([model._log_operation(self.config.id, "api_call", "info", f"old {i}") for i in range(3)])
        new = model.browse(model._log_operation(self.config.id, "api_call", "info", "new"))
        self.env.cr.execute(
            "UPDATE marketplace_sync_log SET create_date = now() - interval '40 days' WHERE id IN %s",
            [tuple(old.ids)],
        )
        model.invalidate_model()
        self.assertEqual(model._cleanup_old_logs(days=30, batch_size=2), 3)
        self.assertFalse(old.exists())
        self.assertTrue(new.exists())

    def test_cleanup_cron_calls_it(self):
        cron = self.env.ref("cartona_marketplace.cron_cleanup_sync_logs")
        self.assertEqual(cron.code.strip(), "model._cleanup_old_logs(days=30)")
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "days"))
        cron.method_direct_trigger()


class TestSyncLogSurvivesRollback(DatabaseCase):
    """No test mode here: the log's cursor is a real second connection."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cls.config_id = (
                env["marketplace.config"]
                .create({"name": "Committed config", "api_base_url": BASE_URL, "auth_token": TOKEN})
                .id
            )
            env.flush_all()
        cls.addClassCleanup(cls._drop_config)

    @classmethod
    def _drop_config(cls):
        with cls.registry.cursor() as cr:
            # Through the ORM: the alert a refused token raised (its to-do, its message) goes too.
            api.Environment(cr, SUPERUSER_ID, {})["marketplace.config"].browse(cls.config_id).unlink()

    def _committed_logs(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT message, status_code FROM marketplace_sync_log WHERE marketplace_config_id = %s",
                [self.config_id],
            )
            return cr.fetchall()

    def test_log_survives_the_failing_transaction(self):
        config = self.env["marketplace.config"].browse(self.config_id)
        with responses.RequestsMock() as http:
            http.get(BASE_URL + PRODUCTS, status=503, body="down for maintenance")
            with self.assertRaises(MarketplaceRetryableError), self.env.cr.savepoint():
                self.env["res.partner"].create({"name": "rolled back"})
                self.env["marketplace.api"]._get_products(config)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "rolled back")]))
        self.assertEqual(
            self._committed_logs(), [("Cartona answered 503 for GET supplier-product: down for maintenance", 503)]
        )

    def test_refused_token_shows_after_the_failing_transaction(self):
        self.addCleanup(self._drop_logs)
        config = self.env["marketplace.config"].browse(self.config_id)
        with responses.RequestsMock() as http:
            http.get(BASE_URL + PRODUCTS, status=401, body="token revoked")
            with self.assertRaises(MarketplaceAuthError), self.env.cr.savepoint():
                self.env["marketplace.api"]._get_products(config)
        with self.registry.cursor() as cr:
            config = api.Environment(cr, SUPERUSER_ID, {})["marketplace.config"].browse(self.config_id)
            self.assertEqual(config.connection_status, "error")
            self.assertIn("token revoked", config.last_error)

    def _drop_logs(self):
        with self.registry.cursor() as cr:
            cr.execute("DELETE FROM marketplace_sync_log WHERE marketplace_config_id = %s", [self.config_id])
