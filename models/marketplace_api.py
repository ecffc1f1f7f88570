import logging
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import quote

from psycopg2 import errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import mute_logger

from odoo.addons.queue_job.job import identity_exact

from .. import const
from ..cartona import payloads
from ..cartona.answers import item_refusal, refusal_scope, short_text, success_flag
from ..cartona.client import CartonaClient, iter_pages
from ..cartona.payloads import parse_catalogue
from ..exceptions import MarketplaceAuthError, MarketplaceError, MarketplacePermanentError

_logger = logging.getLogger(__name__)


class MarketplaceApi(models.AbstractModel):
    """Cartona's endpoints for one configuration, given in the context:
    ``env['marketplace.api'].with_context(marketplace_config_id=config.id)``."""

    _name = "marketplace.api"
    _description = "Marketplace API"

    @api.model
    def _get_config(self):
        config_id = self.env.context.get("marketplace_config_id")
        if not config_id:
            raise UserError(self.env._("No marketplace configuration was given to the API client."))
        return self.env["marketplace.config"].browse(config_id)

    @api.model
    def _get_client(self):
        # Whoever triggered the call (a warehouse user validating a delivery)
        # cannot read the token: the client reads it as superuser.
        config = self._get_config().sudo()
        return CartonaClient(
            base_url=config.api_base_url,
            token=config.auth_token,
            auth_header=config.auth_header,
            timeout=config.timeout,
        )

    @api.model
    def _make_api_request(self, endpoint, method="GET", data=None, params=None, operation_type="api_call"):
        """Call Cartona; return ``{success, data, error}`` or raise a typed error.

        Every failure is written to the sync log (separate cursor), where the
        configuration reads its last error and connection status.
        """
        config = self._get_config()
        client = self._get_client()
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

    def _supplier_params(self, params=None):
        params = dict(params or {})
        supplier_code = self._get_config().supplier_code
        if supplier_code:
            params["internal_supplier_code"] = supplier_code
        return params

    # Orders ---------------------------------------------------------------

    @api.model
    def _pull_orders(self, page=1, per_page=None, date_from=None, date_to=None, operation_type="order_pull"):
        """One page of ``order/pull-orders``; ``data`` is that page's list."""
        config = self._get_config()
        params = {"page": page, "per_page": per_page or config.pull_page_size}
        if date_from:
            params["from"] = fields.Datetime.to_string(date_from)
        if date_to:
            params["to"] = fields.Datetime.to_string(date_to)
        answer = self._make_api_request(
            const.ENDPOINT_PULL_ORDERS, params=self._supplier_params(params), operation_type=operation_type
        )
        data = answer["data"]
        if answer["success"] and data is None:
            answer["data"] = data = []
        if not answer["success"] or not isinstance(data, list):
            raise self._permanent(
                const.ENDPOINT_PULL_ORDERS,
                answer["error"] or self.env._("pull-orders answered a %s, not a list of orders", type(data).__name__),
                operation_type,
            )
        return answer

    @api.model
    def _going_live(self, state):
        """Fix, once Cartona answered a pull, from when orders are Odoo's
        business (``import_orders_from``) unless a manager set it: the first
        time Cartona accepted the token, a connection test or this pull. It is
        kept on the pull's ``state`` (locked by ``_lock_pull``), whose one
        run-time writer is the pull: the configuration row is left to its users."""
        if not state.import_orders_from:
            state.import_orders_from = self._going_live_moment(state)

    @api.model
    def _going_live_moment(self, state):
        """``import_orders_from`` as set, or as ``_going_live`` sets it."""
        if state.import_orders_from:
            return state.import_orders_from
        config = self._get_config()
        tested = (
            self.env["marketplace.sync.log"]
            .sudo()
            .search(
                [
                    ("marketplace_config_id", "=", config.id),
                    ("operation_type", "=", "connection_test"),
                    ("status", "=", "success"),
                ],
                order="id",
                limit=1,
            )
        )
        # This transaction began before Cartona was asked: no order changed
        # since it answered is older than that.
        return min(filter(None, [tested.create_date, self.env.cr.now()]))

    @api.model
    def _iter_order_pages(
        self, per_page=None, date_from=None, date_to=None, operation_type="order_pull", max_pages=const.MAX_PULL_PAGES
    ):
        """Yield ``(page, orders)`` over every page up to an empty one, and
        never past ``max_pages``."""
        per_page = per_page or self._get_config().pull_page_size
        return iter_pages(
            lambda page: self._pull_orders(page, per_page, date_from, date_to, operation_type)["data"],
            max_pages,
        )

    @api.model
    def _update_single_order_status(self, hashed_id, status, **extra):
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
        answer = self._make_api_request(endpoint, "POST", data=payload, operation_type="status_sync")
        if not answer["success"]:
            raise self._permanent(endpoint, answer["error"], "status_sync")
        return answer

    @api.model
    def _bulk_update_order_status(self, updates, operation_type="status_sync"):
        """``order/update-order-status`` with a list of ``{hashed_id, status, ...}``."""
        return self._make_api_request(
            const.ENDPOINT_ORDER_STATUS, "POST", data=list(updates), operation_type=operation_type
        )

    @api.model
    def _update_order_details(self, orders):
        """``order/update-order-details`` with a list of ``{hashed_id, order_details}``."""
        return self._make_api_request(
            const.ENDPOINT_ORDER_DETAILS, "POST", data=list(orders), operation_type="order_edit"
        )

    @api.model
    def _acknowledge_orders(self, config_id, hashed_ids, read=None):
        """Job: tell Cartona these orders are safely in Odoo (status ``synced``),
        in one bulk request.

        Cartona's ``synced`` names no version: it marks the order as it is
        now as read, and a change made after the pull read it would never be
        pulled. So it is sent once, soon after the pull, or not at all (a
        retried, requeued or long-queued job sends nothing), and only for the
        orders Cartona still lists unchanged since they were read: ``read``
        says what the pull read (``_process_orders_page``; jobs queued before
        it was passed have none). An order left unacknowledged comes back in
        the next pull, which imports its latest state and acknowledges it then."""
        job = self.env["queue.job"].sudo().search([("uuid", "=", self.env.context.get("job_uuid"))], limit=1)
        age = job and (fields.Datetime.now() - job.date_created).total_seconds()
        if age and age > const.ACK_MAX_AGE_SECONDS:
            return self._leave_unacknowledged(config_id, hashed_ids, f"queued {int(age)} s ago")
        api_model = self.with_context(marketplace_config_id=config_id)
        try:
            if read is not None:
                hashed_ids = api_model._unchanged_since_read(read)
            if hashed_ids:
                api_model._bulk_update_order_status(
                    [{"hashed_id": hashed_id, "status": const.STATUS_SYNCED} for hashed_id in hashed_ids],
                    operation_type="order_ack",
                )
        except MarketplaceError as exc:
            return self._leave_unacknowledged(config_id, hashed_ids, short_text(str(exc)))
        message = f"Acknowledged {len(hashed_ids)} Cartona orders"
        self.env["marketplace.sync.log"]._log_operation(
            config_id, "order_ack", "success", message, records_processed=len(hashed_ids)
        )
        return message

    @api.model
    def _unchanged_since_read(self, read):
        """The orders of ``read`` that Cartona still lists as not acknowledged,
        as the pull read them. ``read`` is ``{"orders": {hashed id: hash of
        what the import used}, "page", "per_page", "from", "to"}``: the pull's
        window is walked again from its first page, never past the page the
        orders were read on (acknowledgements since then only move them to an
        earlier page), and the walk stops once every order is found. A job
        queued by the previous version holds hashes of the raw payload, which
        match nothing now: it reads nothing, and the next pull acknowledges
        its orders."""
        hashes = read.get("orders")
        found = {}
        if isinstance(hashes, dict):
            for _page, orders in self._iter_order_pages(
                per_page=read["per_page"],
                date_from=fields.Datetime.to_datetime(read["from"]),
                date_to=fields.Datetime.to_datetime(read["to"]),
                operation_type="order_ack",
                max_pages=min(read["page"], const.MAX_PULL_PAGES),
            ):
                for data in orders:
                    hashed_id = payloads.order_key(data)
                    if hashed_id in hashes:
                        found[hashed_id] = payloads.payload_hash(data)
                if len(found) == len(hashes):
                    break
        else:
            hashes = read
        unchanged = sorted(hashed_id for hashed_id, digest in found.items() if digest == hashes[hashed_id])
        left = sorted(set(hashes) - set(unchanged))
        if left:
            self.env["marketplace.sync.log"]._log_operation(
                self._get_config().id,
                "order_ack",
                "info",
                f"{len(left)} Cartona orders changed since they were read, or were not found where they were "
                f"read, not acknowledged: the next pull imports and acknowledges them ({', '.join(left)})",
            )
        return unchanged

    @api.model
    def _leave_unacknowledged(self, config_id, hashed_ids, reason):
        message = (
            f"{len(hashed_ids)} Cartona orders not acknowledged ({reason}): "
            "the next pull reads them again and acknowledges them"
        )
        self.env["marketplace.sync.log"]._log_operation(config_id, "order_ack", "warning", message)
        return message

    # Order pull -----------------------------------------------------------

    @api.model
    def _pull_and_process_orders(self):
        """Walk every page of ``order/pull-orders`` in this transaction, import
        its orders (a failing one rolls back alone) and queue the acknowledgements.

        Returns a Counter of outcomes, or None when another pull of the same
        marketplace holds the lock or committed since this transaction began
        (the loser skips quietly)."""
        state = self._lock_pull()
        if not state:
            return None
        started, (date_from, date_to) = fields.Datetime.now(), self._pull_window(state)
        stats = Counter()
        last_page = 0
        for page, orders in self._iter_order_pages(date_from=date_from, date_to=date_to):
            self._going_live(state)  # before the first page is processed
            last_page = page
            stats += self._process_orders_page(orders, page, date_from, date_to, history=bool(date_to))[0]
        self._going_live(state)  # Cartona answered with no order at all
        stats["created"] += self._replay_parked(started)["created"]
        # The walk ended on an empty page: it read the whole window. (The
        # acknowledgements go out after the commit: no page moved under it.)
        complete = last_page < const.MAX_PULL_PAGES
        if not complete:
            _logger.warning("Stopped after %s pages: the page cap was reached", last_page)
        self._record_pull(state, stats, watermark=(date_to or started) if complete else None)
        return stats

    @api.model
    def _fetch_orders(self, reference=None, date_from=None, date_to=None):
        """Import now the order Cartona knows as ``reference`` (its hashed id or
        number), or the orders of a date range, whatever the pull window says:
        through the processor (an imported order is updated, never doubled) and
        acknowledged as a pull would. An order waiting in Odoo that Cartona no
        longer returns is tried again from its kept payload.

        Returns ``(Counter of outcomes, Cartona ids found)``, or None while a
        pull of the same marketplace runs."""
        if not self.env.context.get("cartona_all_dates"):
            # A person asked for these orders: "Import Orders From" does not hold them back.
            return self.with_context(cartona_all_dates=True)._fetch_orders(reference, date_from, date_to)
        config = self._get_config()
        state = self._lock_pull()
        if not state:
            return None
        stats, found = Counter(), set()
        for page, orders in self._iter_order_pages(date_from=date_from, date_to=date_to):
            self._going_live(state)
            if reference:
                orders = [order for order in orders if self._names_order(order, reference)]
            found.update(payloads.order_key(order) for order in orders)
            stats += self._process_orders_page(orders, page, date_from, date_to)[0]
            if reference and orders:
                break
        self._going_live(state)
        if reference and not found:
            parked = self.env["marketplace.parked.order"]._of(config, reference)
            if parked:
                found.add(reference)
                stats += parked._replay().get(config.id, Counter())
        found.discard(None)
        return stats, found

    @api.model
    def _names_order(self, data, reference):
        return isinstance(data, dict) and reference in (
            payloads.order_key(data),
            str(data.get("receipt_id") or "").strip(),
        )

    @api.model
    def _pull_next_page(self):
        """One page of the walk the cron keeps on the configuration; returns
        whether pages remain, and the Counter of the page's outcomes."""
        config = self._get_config()
        state = self._lock_pull()
        if not state:
            return False, Counter()
        page = state.pull_next_page or 1
        if page == 1:
            started, (date_from, date_to) = fields.Datetime.now(), self._pull_window(state)
        else:  # the whole walk asks for the same window
            started, date_from, date_to = state.pull_walk_started, state.pull_walk_from, state.pull_walk_to
        orders = self._pull_orders(page=page, per_page=config.pull_page_size, date_from=date_from, date_to=date_to)
        orders = orders["data"]
        self._going_live(state)
        stats, acknowledged = self._process_orders_page(orders, page, date_from, date_to, history=bool(date_to))
        # An order without a usable id keeps the window too, as in a pull of one transaction.
        acknowledged = acknowledged or stats["unidentified"] or (page > 1 and state.pull_walk_acked)
        if orders and page < const.MAX_PULL_PAGES:  # only an empty page ends the walk
            state.write(
                {
                    "pull_next_page": page + 1,
                    "pull_walk_started": started,
                    "pull_walk_from": date_from,
                    "pull_walk_to": date_to,
                    "pull_walk_acked": acknowledged,
                }
            )
            self._record_pull(state, stats)
            return True, stats
        stats["created"] += self._replay_parked(started)["created"]
        if page > 1:
            state.write(
                {"pull_next_page": 1, "pull_walk_started": False, "pull_walk_from": False, "pull_walk_to": False}
            )
        # Orders acknowledged between two runs leave the list and shift the
        # pages under the walk: only a walk that acknowledged nothing before
        # its empty page saw everything, so only it moves the watermark.
        # Until then the same window is walked again.
        # The history walk's window gains no orders: it is read once it ends, and
        # a history order it missed would have been left out anyway.
        complete = not orders and (not acknowledged or bool(date_to))
        self._record_pull(state, stats, watermark=(date_to or started) if complete else None)
        return False, stats

    @api.model
    def _lock_pull(self):
        """One pull per configuration at a time, across workers. Returns the
        pull's state record, locked, or nothing when this pull must skip."""
        config = self._get_config()
        skip = self.env["marketplace.sync.state"]
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [const.PULL_LOCK_KEY, config.id])
        if not self.env.cr.fetchone()[0]:
            _logger.info("A pull of %s is already running: this one skips", config.name)
            return skip
        # A pull that committed after this transaction began wrote the state
        # row: PostgreSQL refuses to lock a row changed since our snapshot,
        # and this pull skips now rather than fail at its end.
        try:
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                state = self.env["marketplace.sync.state"]._of(config, "order_pull")
                self.env.cr.execute("SELECT 1 FROM marketplace_sync_state WHERE id = %s FOR UPDATE NOWAIT", [state.id])
        except (errors.SerializationFailure, errors.LockNotAvailable, errors.UniqueViolation):
            _logger.info("A pull of %s has just run or its state is being edited: this one skips", config.name)
            return skip
        return state

    @api.model
    def _pull_window(self, state):
        """``(from, to)`` of the next walk. Before the first complete pull it is
        the history walk: what Cartona lists as changed up to going live
        (``import_orders_from``), whose new orders are acknowledged and logged,
        not imported; it moves the watermark to going live. After it, the
        orders changed since the last complete pull (``_pull_date_from``)."""
        if not state.last_pull_date:
            return None, self._going_live_moment(state)
        return self._pull_date_from(state), None

    @api.model
    def _pull_date_from(self, state):
        """Orders changed since the last complete pull (on the pull's ``state``),
        minus the overlap, and never after the oldest order still waiting or
        held back."""
        config = self._get_config()
        oldest_parked = self.env["marketplace.parked.order"].search(
            [("marketplace_config_id", "=", config.id)], order="first_seen", limit=1
        )
        held_since = config._processor()._held_since()
        bounds = [date for date in (state.last_pull_date, oldest_parked.first_seen, held_since) if date]
        return min(bounds) - timedelta(minutes=config.pull_overlap_minutes)

    @api.model
    def _process_orders_page(self, orders, page=1, date_from=None, date_to=None, history=False):
        """Import ``orders``, read on ``page`` of the window ``date_from`` to
        ``date_to``, and queue the acknowledgement of those Odoo holds now;
        on the ``history`` walk, new orders are acknowledged, not imported.
        Returns the Counter of outcomes and how many it acknowledges."""
        if not orders:  # an idle poll costs no more queries
            return Counter(), 0
        config = self._get_config()
        stats, ack = config._processor()._process_page(orders, history=history)
        if ack:
            # What the import used of each order it acknowledges (they all parsed: their hash is computable),
            # and where the acknowledgement finds them again.
            acked = set(ack)
            read = {
                "orders": {
                    key: payloads.payload_hash(data) for data in orders if (key := payloads.order_key(data)) in acked
                },
                "page": page,
                "per_page": config.pull_page_size,
                "from": date_from and fields.Datetime.to_string(date_from),
                "to": date_to and fields.Datetime.to_string(date_to),
            }
            # Queued in the transaction that imported the orders: it goes out
            # only once they are committed.
            self.with_delay(
                max_retries=config.retry_attempts,
                priority=const.ORDER_JOB_PRIORITY,
                identity_key=identity_exact,
                description=f"Acknowledge {len(ack)} Cartona orders ({config.name})",
            )._acknowledge_orders(config.id, sorted(ack), read)
        return stats, len(ack)

    @api.model
    def _replay_parked(self, started):
        """Import the waiting orders Cartona did not send this time, once a
        product's Cartona mapping changed since they were last tried."""
        config = self._get_config()
        parked = self.env["marketplace.parked.order"].search(
            [("marketplace_config_id", "=", config.id), ("last_seen", "<", started)]
        )
        if not parked:
            return Counter()
        last_mapped = (
            self.env["product.product"]
            .with_context(active_test=False)
            .search([("cartona_mapping_date", "!=", False)], order="cartona_mapping_date desc", limit=1)
            .cartona_mapping_date
        )
        parked = parked.filtered(lambda p: last_mapped and p.last_seen <= last_mapped)
        if not parked:
            return Counter()
        return parked._replay().get(config.id, Counter())

    @api.model
    def _record_pull(self, state, stats, watermark=None):
        """Write the pull's outcome on its ``state`` (locked by ``_lock_pull``)."""
        config = self._get_config()
        vals = {
            "last_sync_date": fields.Datetime.now(),
            "total_orders_pulled": state.total_orders_pulled + stats["created"],
        }
        # An order that could not be identified may be lost behind the window:
        # keep the window until a pull reads every order it returns.
        if watermark and not stats["unidentified"]:
            vals["last_pull_date"] = watermark
        state.write(vals)
        if sum(stats.values()):
            summary = ", ".join(f"{count} {kind}" for kind, count in sorted(stats.items()) if count)
            self.env["marketplace.sync.log"]._log_operation(
                config.id,
                "order_pull",
                "warning" if stats["failed"] or stats["parked"] or stats["unidentified"] else "success",
                f"Pulled {sum(stats.values())} Cartona orders: {summary}",
                records_processed=sum(stats.values()),
            )

    # Products -------------------------------------------------------------

    @api.model
    def _get_products(self, page=1, per_page=None, operation_type="api_call", **filters):
        params = dict(filters, page=page, per_page=per_page or self._get_config().batch_size)
        return self._make_api_request(
            const.ENDPOINT_PRODUCTS, params=self._supplier_params(params), operation_type=operation_type
        )

    @api.model
    def _read_catalogue(self):
        """Every page of ``supplier-product`` for the configuration's supplier
        code, up to the page cap: ``(items, problems, complete)``, the
        readable ``CatalogueItem``s and a sentence per item left out."""
        per_page = self._get_config().batch_size

        def fetch(page):
            data = self._get_products(page=page, per_page=per_page, operation_type="catalogue_read")["data"]
            if not isinstance(data, list | type(None)):
                raise self._permanent(
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
    def _bulk_update_products(self, items, operation_type="product_sync"):
        """``supplier-product/bulk-update`` in chunks of the batch size;
        returns one normalized answer per chunk, in order."""
        config = self._get_config()
        items = list(items)
        if config.supplier_code:
            items = [dict(item, supplier_code=item.get("supplier_code", config.supplier_code)) for item in items]
        size = config.batch_size
        return [
            self._make_api_request(
                const.ENDPOINT_PRODUCTS_BULK_UPDATE, "POST", data=items[i : i + size], operation_type=operation_type
            )
            for i in range(0, len(items), size)
        ]

    @api.model
    def _publish_internal_refs(self, config_id, product_ids):
        """Job: Cartona's ``internal_product_id`` of each product becomes its
        internal reference, so that orders name products the supplier knows.
        What Cartona accepted is kept as the product's Cartona internal ID,
        unless another product has that one already."""
        api_model = self.with_context(marketplace_config_id=config_id)
        products = (
            self.env["product.product"].browse(product_ids).exists().filtered(lambda p: p.cartona_id and p.default_code)
        )
        entries = [(p, {"supplier_product_id": p.cartona_id, "internal_product_id": p.default_code}) for p in products]
        errors = api_model._send_product_items(entries, "product_sync")
        codes = products.mapped("default_code")
        taken = {
            p.cartona_internal_id: p
            for p in self.env["product.product"]
            .with_context(active_test=False)
            .search([("cartona_internal_id", "in", codes)])
        }
        problems = dict(errors)
        for product, item in entries:
            code = item["internal_product_id"]
            if item["supplier_product_id"] in errors:
                continue
            if taken.get(code, product) != product:
                problems[product.cartona_id] = self.env._(
                    "internal ID %(code)s is kept by %(other)s", code=code, other=taken[code].display_name
                )
                continue
            # The connector's bookkeeping: Cartona now names the product so.
            product.sudo().cartona_internal_id = taken[code] = code
        message = self.env._(
            "%(sent)s of %(count)s internal references sent to Cartona",
            sent=len(entries) - len(errors),
            count=len(entries),
        )
        if problems:
            message += "\n" + "\n".join(f"[{key}]: {reason}" for key, reason in problems.items())
        self.env["marketplace.sync.log"]._log_operation(
            config_id, "product_sync", "warning" if problems else "success", message, records_processed=len(entries)
        )
        return message

    @api.model
    def _bulk_update_stock(self, items):
        """Stock goes through the same bulk endpoint as prices."""
        return self._bulk_update_products(items, operation_type="stock_sync")

    # Helpers --------------------------------------------------------------

    def _permanent(self, endpoint, message, operation_type):
        self.env["marketplace.sync.log"]._log_operation(
            self._get_config().id, operation_type, "error", message, endpoint=endpoint
        )
        return MarketplacePermanentError(message, endpoint=endpoint)

    # Product sync ---------------------------------------------------------

    @api.model
    def _sync_products(self, products, parts, force=False):
        """Publish ``parts`` ("price", "stock") of ``products`` as they are now.

        A value equal to the last one published is not sent again, unless the
        product is not known to be synced or ``force`` is set. A refused item
        is marked ``error`` with Cartona's message; the others go out. Returns
        a short summary (the job's result).
        """
        config = self._get_config()
        entries = self._product_sync_entries(products, parts, force)
        if not entries:
            return self.env._("Nothing changed since the last publication.")
        operation = "product_sync" if const.SYNC_PART_PRICE in parts else "stock_sync"
        errors = self._send_product_items(entries, operation)
        now = fields.Datetime.now()
        # Bookkeeping of the connector: whoever triggered the job may not write products.
        for product, item in entries:
            product = product.sudo()
            error = errors.get(item["supplier_product_id"])
            if error:
                product.write({"marketplace_sync_status": "error", "marketplace_error_message": error})
                continue
            vals = {
                "marketplace_sync_status": "synced",
                "marketplace_sync_date": now,
                "marketplace_error_message": False,
            }
            if "selling_price" in item:
                vals["marketplace_published_price"] = item["selling_price"]
            if "available_stock_quantity" in item:
                vals["marketplace_published_qty"] = item["available_stock_quantity"]
            if "is_unlimited_stock" in item:
                vals["marketplace_published_unlimited"] = item["is_unlimited_stock"]
            product.write(vals)
        synced = len(entries) - len(errors)
        # No write on the configuration: the pull cron's transaction writes it,
        # and two writers of one row make one of them fail (REPEATABLE READ).
        message = self.env._("%(synced)s of %(sent)s products published", synced=synced, sent=len(entries))
        if errors:
            message += "\n" + "\n".join(
                f"{product.display_name} [{item['supplier_product_id']}]: {errors[item['supplier_product_id']]}"
                for product, item in entries
                if item["supplier_product_id"] in errors
            )
        self.env["marketplace.sync.log"]._log_operation(
            config.id, operation, "warning" if errors else "success", message, records_processed=synced
        )
        return message

    @api.model
    def _withdraw_products(self, cartona_ids):
        """Tell Cartona that nothing is for sale any more under ``cartona_ids``:
        out of stock, and not unlimited. A refused item is logged; a failure of
        the whole request raises (the job is retried)."""
        config = self._get_config()
        if not cartona_ids:
            return self.env._("Every product is for sale again: nothing to withdraw.")
        no_product = self.env["product.product"]
        entries = [
            (
                no_product,
                {
                    "supplier_product_id": cartona_id,
                    "available_stock_quantity": 0,
                    "in_stock": False,
                    "is_unlimited_stock": False,
                },
            )
            for cartona_id in cartona_ids
        ]
        errors = self._send_product_items(entries, "stock_sync")
        message = self.env._(
            "%(withdrawn)s of %(sent)s Cartona products withdrawn (out of stock): %(ids)s",
            withdrawn=len(cartona_ids) - len(errors),
            sent=len(cartona_ids),
            ids=", ".join(cartona_ids),
        )
        if errors:
            message += "\n" + "\n".join(f"[{cartona_id}]: {error}" for cartona_id, error in errors.items())
        self.env["marketplace.sync.log"]._log_operation(
            config.id,
            "stock_sync",
            "warning" if errors else "success",
            message,
            records_processed=len(cartona_ids) - len(errors),
        )
        return message

    @api.model
    def _product_sync_entries(self, products, parts, force):
        """``[(product, bulk-update item)]`` of the products with something to send."""
        config = self._get_config()
        figures = products._marketplace_figures(config)
        currency = config.company_id.currency_id
        entries = []
        for product in products:
            price, qty = figures[product.id]
            resend = force or product.marketplace_sync_status != "synced"
            item = {"supplier_product_id": product.cartona_id}
            if const.SYNC_PART_PRICE in parts and (
                resend or currency.compare_amounts(price, product.marketplace_published_price)
            ):
                item["selling_price"] = price
            if const.SYNC_PART_STOCK in parts and product.marketplace_stock_sync_enabled:
                item.update(self._stock_item_fields(product, qty, resend))
            if len(item) > 1:
                entries.append((product, item))
        return entries

    @api.model
    def _stock_item_fields(self, product, qty, resend):
        """The stock fields of ``product``'s item that Cartona does not have yet.

        Odoo tracks no stock of a product that is not storable: it is sold as
        unlimited, never as 0. Leaving unlimited is said once, with the quantity.
        """
        was_unlimited = product.marketplace_published_unlimited
        if not product.is_storable:
            if resend or not was_unlimited:
                return {"is_unlimited_stock": True, "in_stock": True}
            return {}
        if not (resend or was_unlimited or qty != product.marketplace_published_qty):
            return {}
        stock = {"available_stock_quantity": qty, "in_stock": qty > 0}
        if was_unlimited:
            stock["is_unlimited_stock"] = False
        return stock

    @api.model
    def _send_product_items(self, entries, operation_type, probing=False, splitting=False):
        """Send ``entries`` in one bulk request; return ``{supplier_product_id: error}``.

        A chunk Cartona refuses for some of its items is split in two and each
        half sent again, so one bad item costs about log2(n) extra requests
        and blocks no other. A refusal of the request itself
        (``answers.refusal_scope``) is raised as it is: the job fails once,
        with the log line of the refused request, and the products are sent
        again as a whole later. A refusal that names nothing is told apart by
        its halves: both refused alike, it was the request's (three requests);
        otherwise the refused half is split as for an item.
        """
        try:
            answers = self._bulk_update_products([item for _product, item in entries], operation_type=operation_type)
            refused = next((answer for answer in answers if not answer["success"]), None)
            if refused:
                raise self._permanent(const.ENDPOINT_PRODUCTS_BULK_UPDATE, refused["error"], operation_type)
        except MarketplacePermanentError as exc:
            keys = [
                key
                for product, item in entries
                for key in (item["supplier_product_id"], item.get("internal_product_id"), product.cartona_internal_id)
            ]
            scope = refusal_scope(exc.status_code, exc, keys)
            if scope == "request" or (scope is None and probing):
                raise
            if len(entries) == 1:
                return {item["supplier_product_id"]: str(exc) for _product, item in entries}
            half = len(entries) // 2
            parts = (entries[:half], entries[half:])
            if scope is None and not splitting:
                outcomes = [self._probe_product_items(part, operation_type) for part in parts]
                if all(
                    isinstance(outcome, MarketplacePermanentError) and str(outcome) == str(exc) for outcome in outcomes
                ):
                    raise
                errors = {}
                for part, outcome in zip(parts, outcomes, strict=True):
                    refused_alone = isinstance(outcome, MarketplacePermanentError)
                    errors.update(
                        self._send_product_items(part, operation_type, splitting=True) if refused_alone else outcome
                    )
                return errors
            return {
                key: error
                for part in parts
                for key, error in self._send_product_items(part, operation_type, splitting=splitting).items()
            }
        results = [result for answer in answers if isinstance(answer["data"], list) for result in answer["data"]]
        return self._bulk_item_errors(entries, results)

    @api.model
    def _probe_product_items(self, entries, operation_type):
        """``_send_product_items`` of half a chunk refused without naming why:
        its errors, or the refusal of the whole half."""
        try:
            return self._send_product_items(entries, operation_type, probing=True)
        except MarketplacePermanentError as exc:
            return exc

    @api.model
    def _bulk_item_errors(self, entries, results):
        """The items a bulk answer says were refused (``answers.item_refusal``),
        as ``{supplier_product_id: reason}``.

        An answer names its item by ``supplier_product_id``, or by the
        ``internal_product_id`` of the product that still has the item's ID.
        An answer that names no item of ``entries`` is ignored.
        """
        keys = {}
        for product, item in entries:
            cartona_id = item["supplier_product_id"]
            keys[("supplier_product_id", cartona_id)] = cartona_id
            if product.cartona_internal_id and product.cartona_id == cartona_id:
                keys[("internal_product_id", product.cartona_internal_id)] = cartona_id
        errors = {}
        for result in results:
            reason = item_refusal(result)
            if not reason:
                continue
            cartona_id = next(
                (
                    keys[(key, str(result[key]))]
                    for key in ("supplier_product_id", "internal_product_id")
                    if result.get(key) is not None and (key, str(result[key])) in keys
                ),
                None,
            )
            if cartona_id:
                errors[cartona_id] = reason
        return errors
