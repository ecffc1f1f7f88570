from odoo import api, fields, models

from .. import const
from ..cartona.answers import item_refusal, refusal_scope
from ..exceptions import MarketplaceError, MarketplacePermanentError


class MarketplaceProductSync(models.AbstractModel):
    """What goes to Cartona for products: the items of a publication, the
    request, and what Cartona answered for each item, kept on the product."""

    _name = "marketplace.product.sync"
    _description = "Marketplace Product Publishing"

    @api.model
    def _publish_internal_refs(self, config, product_ids):
        """Job: Cartona's ``internal_product_id`` of each product becomes its
        internal reference, so that orders name products the supplier knows.
        What Cartona accepted is kept as the product's Cartona internal ID,
        unless another product has that one already."""
        products = (
            self.env["product.product"].browse(product_ids).exists().filtered(lambda p: p.cartona_id and p.default_code)
        )
        entries = [(p, {"supplier_product_id": p.cartona_id, "internal_product_id": p.default_code}) for p in products]
        errors = self._send_product_items(config, entries, "product_sync")
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
            config.id, "product_sync", "warning" if problems else "success", message, records_processed=len(entries)
        )
        return message

    # Product sync ---------------------------------------------------------

    @api.model
    def _publish_pending(self, config):
        """Job (one waiting per configuration): send the oldest chunk of its
        pending publications (``marketplace.publication``) in one request,
        delete their rows, and queue the next drain while rows are left.

        The figures sent are those the products have now: a late drain never
        sends a stale one, and a product archived or unmapped since is not
        published. A refused item is marked ``error`` and the drain goes on; a
        failure of the whole request (retryable, or a refused token) marks the
        products ``error`` in a transaction of its own and fails the job: its
        rows stay, and queue_job retries it (or keeps it failed, for the
        "Requeue failed jobs" button).
        """
        if not config.exists():
            return self.env._("The marketplace configuration no longer exists.")
        publications = self.env["marketplace.publication"]
        chunk = publications._next_chunk(config)
        if not chunk:
            return self.env._("Nothing left to publish.")
        Product = self.env["product.product"]
        if chunk.cartona_ids:
            # An ID a product sells again by now is left to that product's publication.
            sold_again = set(Product._marketplace_selling(chunk.cartona_ids).mapped("cartona_id"))
            message = self._withdraw_products(
                config, [cartona_id for cartona_id in chunk.cartona_ids if cartona_id not in sold_again]
            )
        else:
            products = (
                Product.browse(chunk.product_ids)
                .exists()
                .filtered(lambda p: p.active and p.cartona_id and p.marketplace_sync_enabled)
            )
            try:
                message = self._sync_products(config, products, chunk.parts, force=chunk.force)
            except MarketplaceError as exc:
                products._marketplace_set_error_detached(str(exc))
                raise
        publications._done(config, chunk)
        return message

    @api.model
    def _sync_products(self, config, products, parts, force=False):
        """Publish ``parts`` ("price", "stock") of ``products`` as they are now.

        A value equal to the last one published is not sent again, unless the
        product is not known to be synced or ``force`` is set. A refused item
        is marked ``error`` with Cartona's message; the others go out. Returns
        a short summary (the job's result).
        """
        entries = self._product_sync_entries(config, products, parts, force)
        if not entries:
            return self.env._("Nothing changed since the last publication.")
        operation = "product_sync" if const.SYNC_PART_PRICE in parts else "stock_sync"
        errors = self._send_product_items(config, entries, operation)
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
    def _withdraw_products(self, config, cartona_ids):
        """Tell Cartona that nothing is for sale any more under ``cartona_ids``:
        out of stock, and not unlimited. A refused item is logged; a failure of
        the whole request raises (the job is retried)."""
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
        errors = self._send_product_items(config, entries, "stock_sync")
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
    def _product_sync_entries(self, config, products, parts, force):
        """``[(product, bulk-update item)]`` of the products with something to send."""
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
    def _send_product_items(self, config, entries, operation_type, probing=False, splitting=False):
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
            answers = self.env["marketplace.api"]._bulk_update_products(
                config, [item for _product, item in entries], operation_type=operation_type
            )
            refused = next((answer for answer in answers if not answer["success"]), None)
            if refused:
                raise self.env["marketplace.api"]._permanent(
                    config, const.ENDPOINT_PRODUCTS_BULK_UPDATE, refused["error"], operation_type
                )
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
                outcomes = [self._probe_product_items(config, part, operation_type) for part in parts]
                if all(
                    isinstance(outcome, MarketplacePermanentError) and str(outcome) == str(exc) for outcome in outcomes
                ):
                    raise
                errors = {}
                for part, outcome in zip(parts, outcomes, strict=True):
                    refused_alone = isinstance(outcome, MarketplacePermanentError)
                    errors.update(
                        self._send_product_items(config, part, operation_type, splitting=True)
                        if refused_alone
                        else outcome
                    )
                return errors
            return {
                key: error
                for part in parts
                for key, error in self._send_product_items(config, part, operation_type, splitting=splitting).items()
            }
        results = [result for answer in answers if isinstance(answer["data"], list) for result in answer["data"]]
        return self._bulk_item_errors(entries, results)

    @api.model
    def _probe_product_items(self, config, entries, operation_type):
        """``_send_product_items`` of half a chunk refused without naming why:
        its errors, or the refusal of the whole half."""
        try:
            return self._send_product_items(config, entries, operation_type, probing=True)
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
