import logging
import time
from urllib.parse import quote

from odoo import api, fields, models

from .. import const
from ..cartona.answers import short_text, success_flag
from ..cartona.client import CartonaClient, iter_pages
from ..cartona.payloads import parse_catalogue
from ..exceptions import MarketplaceAuthError, MarketplaceError, MarketplacePermanentError

_logger = logging.getLogger(__name__)


class MarketplaceApi(models.AbstractModel):
    """Cartona's endpoints, each called for the configuration it is given:
    ``env["marketplace.api"]._pull_orders(config, page=2)``."""

    _name = "marketplace.api"
    _description = "Marketplace API"

    @api.model
    def _get_client(self, config):
        # Whoever triggered the call (a warehouse user validating a delivery)
        # cannot read the token: the client reads it as superuser.
        config = config.sudo()
        return CartonaClient(
            base_url=config.api_base_url,
            token=config.auth_token,
            auth_header=config.auth_header,
            timeout=config.timeout,
        )

    @api.model
    def _make_api_request(self, config, endpoint, method="GET", data=None, params=None, operation_type="api_call"):
        """Call Cartona; return ``{success, data, error}`` or raise a typed error.

        Every failure is written to the sync log (separate cursor), where the
        configuration reads its last error and connection status.
        """
        client = self._get_client(config)
        start = time.monotonic()
        try:
            status_code, body = client.request(endpoint, method=method, data=data, params=params)
        except MarketplaceError as exc:
            self.env["marketplace.sync.log"]._log_operation(
                config.id,
                operation_type,
                "error",
                str(exc),
                endpoint=f"{method} {endpoint}",
                status_code=exc.status_code,
                duration_ms=int((time.monotonic() - start) * 1000),
            )
            if isinstance(exc, MarketplaceAuthError):
                # A person must give a new token; the failing job is rolled back, the alert stays.
                config._raise_alert(config._token_alert_summary(), str(exc), detached=True)
            raise
        _logger.debug("%s %s answered %s in %.3fs", method, endpoint, status_code, time.monotonic() - start)
        config._resolve_alert(config._token_alert_summary(), self.env._("Cartona accepts the token again."))
        return self._normalize_api_response(body)

    @api.model
    def _normalize_api_response(self, response):
        """Any decoded body → ``{"success": bool, "data": ..., "error": str|None}``."""
        if isinstance(response, list):
            return {"success": True, "data": response, "error": None}
        if isinstance(response, dict):
            if "success" in response:
                # Anything but a clear yes (a string "false", a null) is a failure.
                success = success_flag(response["success"]) is True
                error = response.get("error") or response.get("message")
                return {
                    "success": success,
                    "data": response.get("data"),
                    "error": None if success else short_text(error or self.env._("Cartona reported a failure")),
                }
            return {"success": True, "data": response, "error": None}
        if response is None:
            return {"success": True, "data": None, "error": None}
        return {
            "success": False,
            "data": None,
            "error": self.env._("Invalid response format: %s", type(response).__name__),
        }

    @api.model
    def _supplier_params(self, config, params=None):
        params = dict(params or {})
        supplier_code = config.supplier_code
        if supplier_code:
            params["internal_supplier_code"] = supplier_code
        return params

    # Orders ---------------------------------------------------------------

    @api.model
    def _pull_orders(self, config, page=1, per_page=None, date_from=None, date_to=None, operation_type="order_pull"):
        """One page of ``order/pull-orders``; ``data`` is that page's list."""
        params = {"page": page, "per_page": per_page or config.pull_page_size}
        if date_from:
            params["from"] = fields.Datetime.to_string(date_from)
        if date_to:
            params["to"] = fields.Datetime.to_string(date_to)
        answer = self._make_api_request(
            config,
            const.ENDPOINT_PULL_ORDERS,
            params=self._supplier_params(config, params),
            operation_type=operation_type,
        )
        data = answer["data"]
        if answer["success"] and data is None:
            answer["data"] = data = []
        if not answer["success"] or not isinstance(data, list):
            raise self._permanent(
                config,
                const.ENDPOINT_PULL_ORDERS,
                answer["error"] or self.env._("pull-orders answered a %s, not a list of orders", type(data).__name__),
                operation_type,
            )
        return answer

    @api.model
    def _iter_order_pages(
        self,
        config,
        per_page=None,
        date_from=None,
        date_to=None,
        operation_type="order_pull",
        max_pages=const.MAX_PULL_PAGES,
    ):
        """Yield ``(page, orders)`` over every page up to an empty one, and
        never past ``max_pages``."""
        per_page = per_page or config.pull_page_size
        return iter_pages(
            lambda page: self._pull_orders(config, page, per_page, date_from, date_to, operation_type)["data"],
            max_pages,
        )

    @api.model
    def _update_single_order_status(self, config, hashed_id, status, **extra):
        """``order/update-order-status/<hashed_id>``: fails loudly (OTP checks)."""
        payload = dict(extra, hashed_id=hashed_id, status=status)
        # Quoted whole, so that no id changes the path ("/", "?", "#"); a dot
        # segment would still be resolved away by the URL parser.
        segment = quote(hashed_id or "", safe="")
        if segment in ("", ".", ".."):
            raise MarketplacePermanentError(
                f"Cartona order id {hashed_id!r} cannot be put in a URL path",
                endpoint=const.ENDPOINT_ORDER_STATUS_SINGLE,
            )
        endpoint = const.ENDPOINT_ORDER_STATUS_SINGLE.format(hashed_id=segment)
        answer = self._make_api_request(config, endpoint, "POST", data=payload, operation_type="status_sync")
        if not answer["success"]:
            raise self._permanent(config, endpoint, answer["error"], "status_sync")
        return answer

    @api.model
    def _bulk_update_order_status(self, config, updates, operation_type="status_sync"):
        """``order/update-order-status`` with a list of ``{hashed_id, status, ...}``."""
        return self._make_api_request(
            config, const.ENDPOINT_ORDER_STATUS, "POST", data=list(updates), operation_type=operation_type
        )

    @api.model
    def _update_order_details(self, config, orders):
        """``order/update-order-details`` with a list of ``{hashed_id, order_details}``."""
        return self._make_api_request(
            config, const.ENDPOINT_ORDER_DETAILS, "POST", data=list(orders), operation_type="order_edit"
        )

    # Products -------------------------------------------------------------

    @api.model
    def _get_products(self, config, page=1, per_page=None, operation_type="api_call", **filters):
        params = dict(filters, page=page, per_page=per_page or config.batch_size)
        return self._make_api_request(
            config, const.ENDPOINT_PRODUCTS, params=self._supplier_params(config, params), operation_type=operation_type
        )

    @api.model
    def _read_catalogue(self, config):
        """Every page of ``supplier-product`` for the configuration's supplier
        code, up to the page cap: ``(items, problems, complete)``, the
        readable ``CatalogueItem``s and a sentence per item left out."""
        per_page = config.batch_size

        def fetch(page):
            data = self._get_products(config, page=page, per_page=per_page, operation_type="catalogue_read")["data"]
            if not isinstance(data, list | type(None)):
                raise self._permanent(
                    config,
                    const.ENDPOINT_PRODUCTS,
                    self.env._("supplier-product answered a %s, not a list of products", type(data).__name__),
                    "catalogue_read",
                )
            return data

        raw, last_page = [], 0
        for page, items in iter_pages(fetch, const.MAX_CATALOGUE_PAGES):
            raw.extend(items)
            last_page = page
        items, problems = parse_catalogue(raw)
        return items, problems, last_page < const.MAX_CATALOGUE_PAGES

    @api.model
    def _bulk_update_products(self, config, items, operation_type="product_sync"):
        """``supplier-product/bulk-update`` in chunks of the batch size;
        returns one normalized answer per chunk, in order."""
        items = list(items)
        if config.supplier_code:
            items = [dict(item, supplier_code=item.get("supplier_code", config.supplier_code)) for item in items]
        size = config.batch_size
        return [
            self._make_api_request(
                config,
                const.ENDPOINT_PRODUCTS_BULK_UPDATE,
                "POST",
                data=items[i : i + size],
                operation_type=operation_type,
            )
            for i in range(0, len(items), size)
        ]

    @api.model
    def _bulk_update_stock(self, config, items):
        """Stock goes through the same bulk endpoint as prices."""
        return self._bulk_update_products(config, items, operation_type="stock_sync")

    # Helpers --------------------------------------------------------------

    @api.model
    def _permanent(self, config, endpoint, message, operation_type):
        self.env["marketplace.sync.log"]._log_operation(config.id, operation_type, "error", message, endpoint=endpoint)
        return MarketplacePermanentError(message, endpoint=endpoint)
