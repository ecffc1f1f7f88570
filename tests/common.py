import json
import unittest
from pathlib import Path

import responses

from odoo.tests import TransactionCase

# Odoo's test classes only let requests reach localhost; ``responses`` answers
# below that guard, so the stand-in Cartona lives on 127.0.0.1.
BASE_URL = "http://127.0.0.1:8069/cartona/api/v1/"
TOKEN = "tok-S3CRET-9f2c1e7a"
DATA = Path(__file__).parent / "data"


def load_json(name):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class CartonaCase(TransactionCase):
    """A configuration pointing at a ``responses`` stand-in for Cartona."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Sync logs and connection statuses go through registry.cursor(); in
        # test mode it shares the test transaction, which is rolled back.
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.config = cls.env["marketplace.config"].create(
            {
                "name": "Cartona (test)",
                "api_base_url": BASE_URL,
                "auth_token": TOKEN,
                "timeout": 5,
                "batch_size": 100,
            }
        )
        cls.api = cls.config._api()

    def setUp(self):
        super().setUp()
        self.http = responses.RequestsMock(assert_all_requests_are_fired=False)
        self.http.start()
        self.addCleanup(self.http.reset)
        self.addCleanup(self.http.stop)

    @staticmethod
    def url(endpoint):
        return BASE_URL + endpoint

    def raises(self, exception):
        """``assertRaises`` without Odoo's savepoint rollback.

        In test mode the log cursor shares the test's transaction, so Odoo's
        ``assertRaises`` would roll back the log the failure wrote. (That the
        log survives a real rollback is tested with a real second cursor.)"""
        return unittest.TestCase.assertRaises(self, exception)

    def logs(self, *domain):
        return self.env["marketplace.sync.log"].search([("marketplace_config_id", "=", self.config.id), *domain])
