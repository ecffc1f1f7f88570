import logging
from collections import Counter
from dataclasses import dataclass, field

import psycopg2

from odoo import Command, api, models
from odoo.exceptions import UserError, ValidationError

from ..cartona import payloads, statuses
from ..exceptions import MarketplaceDataError

_logger = logging.getLogger(__name__)


def _ends_transaction(exc):
    """Database errors after which the whole run must retry (serialization
    failures, deadlocks, a lost connection); a value too big for an index is
    one order's fault, and the transaction goes on."""
    return isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError) and not isinstance(
        exc, psycopg2.errors.ProgramLimitExceeded
    )


# The values of a sale order each payload key gives (``_prepare_order_vals``).
ORDER_VALS_FROM = {
    "receipt_id": ("marketplace_order_number",),
    "delivered_by": ("delivered_by",),
    "total_price": ("cartona_total_price",),
    "cartona_credit": ("cartona_credit",),
    "installment_cost": ("cartona_installment_cost", "cartona_otp_required", "marketplace_payment_method"),
    "wallet_top_up": ("cartona_wallet_top_up", "cartona_otp_required", "marketplace_payment_method"),
    "applied_supplier_rebate": ("cartona_supplier_rebate",),
    "estimated_delivery_day": ("cartona_estimated_delivery_day", "commitment_date"),
    "delivery_day": ("cartona_delivery_day",),
    "retailer_preferred_delivery_date": ("cartona_preferred_delivery_date",),
    "pickup_date": ("cartona_pickup_date",),
    "distribution_route_code": ("cartona_route_code",),
    "note_message": ("cartona_note",),
    "return_reason": ("cartona_return_reason",),
    "order_details": ("cartona_discount_total",),
}


@dataclass
class Page:
    """What every order of a page shares, looked up once."""

    products: dict  # {(key, value): product.product}
    line_defaults: dict
    sales: dict  # {hashed_id: sale.order}, kept up to date as the page goes
    partners: dict  # {retailer code: res.partner} as they were when the page began
    parked: set  # hashed ids that may be waiting: known, or parked on this page
    # New orders ready to be created, as (order, vals, outcome): created and
    # confirmed together by _create_pending, which Odoo does far cheaper than one by one.
    pending: list = field(default_factory=list)
    config: object = None  # the marketplace.config the page is processed for
    # The history walk: every order of the page was listed by Cartona before
    # the configuration went live (``import_orders_from``).
    history: bool = False
    # A person fetched the page (``marketplace.order.pull._fetch_orders``):
    # "Import Orders From" does not hold it back; ``live`` imports finished orders as live.
    fetched: bool = False
    live: bool = False


@dataclass
class Outcome:
    """What processing one Cartona order did; ``ack`` says whether it may be acknowledged."""

    # created, recorded (a finished order, kept as history), skipped (changed
    # before going live), updated, held (not all applied), unchanged, parked,
    # ignored, failed, unidentified
    kind: str
    order: object = None
    ack: bool = False
    message: str = ""


class MarketplaceOrderProcessor(models.AbstractModel):
    """A page of Cartona orders → sale orders, for the configuration passed
    to each call: one savepoint per page, one per order when the page fails,
    parking, order and line values, and the changes of Cartona's lines Odoo holds."""

    _name = "marketplace.order.processor"
    _description = "Marketplace Order Processor"

    @api.model
    def _log(self, config, status, message, order=None, **values):
        if order:
            values.update(res_model="sale.order", res_id=order.id)
        return self.env["marketplace.sync.log"]._log_operation(config.id, "order_process", status, message, **values)

    # Entry points ---------------------------------------------------------

    @api.model
    def _process_marketplace_order(self, config, order_data):
        """Import or update one Cartona order (a ``pull-orders`` item)."""
        order = self._validate_order_data(order_data)
        page = self._prepare_page(config, [order])
        outcome = self._process_order(order, order_data, page)
        self._create_pending(page)
        self._log_imported(config, [outcome])
        return outcome

    @api.model
    def _validate_order_data(self, order_data):
        return payloads.parse_order(order_data)

    @api.model
    def _process_page(self, config, orders_data, replay=False, history=False, fetched=False, live=False):
        """Process one page, its orders together where they may be
        (``_process_orders``); ``history``, ``fetched`` and ``live`` as on ``Page``.

        Returns ``(Counter of outcomes, hashed ids to acknowledge)``. A bad order
        is logged and skipped; the rest of the page goes on.
        """
        stats = Counter()
        parsed = []
        for data in orders_data:
            try:
                parsed.append((self._validate_order_data(data), data))
            except MarketplaceDataError as exc:
                stats[self._reject(config, data, str(exc))] += 1
            except Exception as exc:  # a payload the rules did not foresee: it fails alone
                hashed_id = payloads.order_key(data) or "(no id)"
                _logger.exception("Cartona order %s could not be read", hashed_id)
                stats[self._reject(config, data, f"Cartona order {hashed_id} could not be read: {exc!r}")] += 1
        outcomes = self._process_orders(
            parsed, lambda orders: self._prepare_page(config, orders, history, fetched, live)
        )
        stats.update(outcome.kind for outcome in outcomes)
        ack = [] if replay else [order.hashed_id for (order, _data), o in zip(parsed, outcomes, strict=True) if o.ack]
        self._log_imported(config, outcomes)
        return stats, ack

    @api.model
    def _log_imported(self, config, outcomes):
        """The success lines of the imported orders, written together: one
        transaction of the sync log per page, not one per order."""
        self._log_skipped(config, outcomes)
        self.env["marketplace.sync.log"]._log_operations(
            config.id,
            "order_process",
            [
                {
                    "status": "success",
                    "message": outcome.message,
                    "res_model": "sale.order",
                    "res_id": outcome.order.id,
                    "records_processed": 1,
                }
                for outcome in outcomes
                if outcome.kind in ("created", "recorded")
            ],
        )

    @api.model
    def _process_orders(self, parsed, prepare):
        """The outcomes of a page's parsed ``(order, data)``, in their order;
        ``prepare(orders)`` looks up what they share (``_prepare_page``).
        The orders are processed together (``_process_together``), but one
        likely to fail keeps a savepoint of its own, with every other copy of
        it on the page, so that its copies still apply in page order. When the
        batch fails, every order gets one."""
        orders = [order for order, _data in parsed]
        page = prepare(orders)
        alone = {order.hashed_id for order in orders if self._likely_to_fail(order, page)}
        together = [i for i, order in enumerate(orders) if order.hashed_id not in alone]
        outcomes = {}
        failure = None
        if len(together) > 1:
            batch, failure = self._process_together([parsed[i] for i in together], page)
            if failure:
                page = prepare(orders)  # as it was before the batch
            else:
                outcomes = dict(zip(together, batch, strict=True))
        for i, (order, data) in enumerate(parsed):
            if i not in outcomes:
                outcomes[i] = self._process_safely(order, data, page)
        outcomes = [outcomes[i] for i in range(len(parsed))]
        if failure and not any(outcomes[i].kind in ("failed", "unidentified") for i in together):
            # Failed together, not alone: the order by order run logged nothing about it.
            _logger.warning("A page of Cartona orders failed together but not order by order", exc_info=failure)
        return outcomes

    @api.model
    def _likely_to_fail(self, order, page):
        """An order that failed or waited before, or a new one lacking what a
        new order needs: it would roll the batch back, burning the numbers of
        the orders before it."""
        if order.hashed_id in page.parked:
            return True
        if order.hashed_id in page.sales:
            return False
        try:
            order.check_new()
        except MarketplaceDataError:
            return True
        return False

    @api.model
    def _process_together(self, parsed, page):
        """The orders of a page in one savepoint: one flush and one run of the
        precommit hooks for the page, and one create and one confirmation of
        its new orders (``_create_pending``). Returns ``(outcomes, None)``, or
        ``(None, exception)`` when an order fails: everything the batch did is
        rolled back, its detached writes included (``_attached``), and the
        caller processes the page again order by order."""
        try:
            with self.env["marketplace.sync.log"]._attached(), self.env.cr.savepoint():
                outcomes = []
                for order, data in parsed:
                    if any(new.hashed_id == order.hashed_id for new, _vals, _outcome in page.pending):
                        # The same order again: it updates the one created before it.
                        self._create_pending(page)
                        for (done, _data), outcome in zip(parsed, outcomes, strict=False):
                            self._remember(page, done, outcome)
                    outcomes.append(self._process_order(order, data, page))
                self._create_pending(page)
        except Exception as exc:
            if _ends_transaction(exc):
                raise
            _logger.info("%s in a page of Cartona orders: processed again order by order", type(exc).__name__)
            return None, exc
        for (order, _data), outcome in zip(parsed, outcomes, strict=True):
            self._remember(page, order, outcome)
        return outcomes, None

    @api.model
    def _remember(self, page, order, outcome):
        if outcome.order:
            # The same order again further on the page finds it here.
            page.sales[order.hashed_id] = outcome.order

    @api.model
    def _process_safely(self, order, data, page):
        try:
            with self.env.cr.savepoint():
                outcome = self._process_order(order, data, page)
                self._create_pending(page)
            self._remember(page, order, outcome)
            return outcome
        except psycopg2.errors.UniqueViolation:
            message = f"Cartona order {order.hashed_id} is being imported by another transaction: skipped"
            self._isolated(order.hashed_id, self._log, page.config, "warning", message)
            return Outcome("failed", message=message)
        except MarketplaceDataError as exc:
            message = str(exc)  # it names the order already
        except (UserError, ValidationError) as exc:
            message = f"Cartona order {order.hashed_id}: {exc}"
        except Exception as exc:
            if _ends_transaction(exc):
                raise  # serialization failures and the like: the whole run retries
            _logger.exception("Cartona order %s could not be processed", order.hashed_id)
            message = f"Cartona order {order.hashed_id} could not be processed: {exc!r}"
        kept = self._record_failure(page.config, order.hashed_id, data, message)
        page.parked.add(order.hashed_id)
        return Outcome("failed" if kept else "unidentified", message=message)

    @api.model
    def _reject(self, config, data, message):
        """A payload that does not parse; returns the outcome's kind. An order
        whose id itself is bad is kept under its escaped id: it can be neither
        acknowledged nor imported, but stays in front of a person."""
        if isinstance(data, dict) and self._other_account(config, data.get("supplier_code")):
            return "ignored"
        hashed_id = payloads.order_key(data)
        if not hashed_id:
            self._isolated(hashed_id, self._log, config, "error", message, error_details=payloads.dump(data)[:4000])
            return "unidentified"
        return "failed" if self._record_failure(config, hashed_id, data, message) else "unidentified"

    @api.model
    def _record_failure(self, config, hashed_id, data, message):
        """Keep a failed order among the waiting ones (``_park``). Returns False
        when it could not be kept: counted as unidentified, it holds the pull
        window back."""
        parked = self.env["marketplace.parked.order"]
        return bool(
            self._isolated(
                hashed_id, parked._park, config, hashed_id, data, payloads.escaped(message), "failed", message
            )
        )

    @api.model
    def _isolated(self, hashed_id, func, *args, **kwargs):
        """Run one order's bookkeeping (its log line, its parking) in a savepoint:
        what fails there is logged and stops neither the page nor the pull."""
        try:
            with self.env.cr.savepoint():
                return func(*args, **kwargs)
        except Exception as exc:
            if _ends_transaction(exc):
                raise
            _logger.exception("Cartona order %s: its failure could not be recorded", hashed_id)
            return None

    @api.model
    def _other_account(self, config, supplier_code):
        """An order of another supplier account on the same token."""
        own = config.supplier_code
        # A code that is no string or number tells nothing: the order stays ours.
        return bool(own and isinstance(supplier_code, str | int) and supplier_code and str(supplier_code) != own)

    @api.model
    def _process_order(self, order, data, page):
        config = page.config
        if self._other_account(config, order.supplier_code):
            return Outcome("ignored")
        existing = page.sales.get(order.hashed_id, self.env["sale.order"])
        if existing and existing.cartona_payload_hash == order.payload_hash:
            return Outcome("unchanged", existing, ack=True)
        if not existing and (skipped := self._skipped_before_going_live(order, page)):
            return skipped
        if not existing:
            order.check_new()
        missing = self.env["marketplace.order.lines"]._missing_products(order, page, existing)
        if existing:
            # Cartona's word (a cancellation above all) reaches an imported
            # order even while a line waits for its product: only the lines wait.
            outcome = self._update_existing_order(existing, order, page, with_lines=not missing)
        if missing:
            page.parked.add(order.hashed_id)
            return self._park_order(config, order, data, missing)
        if order.warnings:  # once, when the payload is applied
            left_empty = "; ".join(order.warnings)
            self._log(config, "warning", f"Cartona order {order.number}: left empty, unusable: {left_empty}", existing)
        if order.hashed_id in page.parked:
            self.env["marketplace.parked.order"]._release(config, order.hashed_id)
        if existing:
            return outcome
        return self._create_new_order(order, page)

    # Going live -----------------------------------------------------------

    @api.model
    def _skipped_before_going_live(self, order, page):
        """The outcome of a new order Cartona last changed before the
        configuration's ``import_orders_from``: acknowledged and logged, not
        imported. That is every new order of the history walk (Cartona's own
        ``to`` filter says so), and any other whose ``updated_at`` says so.
        None for an order to import, among them one already waiting in Odoo
        and any order a person fetches (``page.fetched``)."""
        since = page.config.import_orders_from
        older = page.history or (since and order.updated_at and order.updated_at < since)
        if not older or order.hashed_id in page.parked or page.fetched:
            return None
        changed = f"last changed {order.updated_at} UTC" if order.updated_at else "listed by Cartona"
        message = (
            f"Cartona order {order.number} ({order.status}), {changed}, is older "
            f"than Import Orders From ({since} UTC): acknowledged, not imported"
        )
        return Outcome("skipped", ack=True, message=message)

    @api.model
    def _log_skipped(self, config, outcomes):
        """One line per order left out as older than going live, which the dashboard counts."""
        self.env["marketplace.sync.log"]._log_operations(
            config.id,
            "order_skipped",
            [{"status": "info", "message": o.message, "records_processed": 1} for o in outcomes if o.kind == "skipped"],
        )

    @api.model
    def _new_order_kind(self, order, page):
        """``recorded`` for an order Odoo first sees in a final status: it was
        delivered, returned or cancelled outside Odoo, and is kept as history
        (``_record_finished``), unless the supplier imports such orders as
        live (the configuration, or a fetch that asks so)."""
        live = page.config.import_final_orders_live or page.live
        return "recorded" if statuses.is_final(order.status) and not live else "created"

    @api.model
    def _record_finished(self, sale, order, outcome):
        """A finished order kept as history: a quotation (cancelled when
        Cartona cancelled it), so no delivery, no stock taken, no invoice."""
        if statuses.is_cancelled(order.status):
            self.env["marketplace.order.status"]._cancel(sale, order.status)
        outcome.message = (
            f"Cartona order {order.number} recorded as {sale.name}: it was already {order.status} when Odoo "
            "first saw it, so it moves no stock or money"
        )
        sale.message_post(body=outcome.message)

    # Products -------------------------------------------------------------

    @api.model
    def _prepare_page(self, config, orders, history=False, fetched=False, live=False):
        """What the orders of a page share, in a few queries whatever their number."""
        hashed_ids = [order.hashed_id for order in orders]
        defaults = {
            "discount": 0.0,
        }
        # Read as superuser: a manager pulling now may have no accounting rights.
        if not self.env["account.analytic.distribution.model"].sudo().search_count([], limit=1):
            # Odoo would look the (absent) models up line by line.
            defaults["analytic_distribution"] = False
        return Page(
            self.env["marketplace.order.lines"]._prefetch_products(orders),
            defaults,
            self._find_existing_orders(config, hashed_ids),
            self.env["marketplace.customer"]._prefetch(orders),
            set(self.env["marketplace.parked.order"]._of(config, *hashed_ids).mapped("cartona_id")),
            config=config,
            history=history,
            fetched=fetched,
            live=live,
        )

    @api.model
    def _park_order(self, config, order, data, missing):
        names = ", ".join(
            f"{line.product_name or '?'} ({line.supplier_product_id or line.internal_product_id})" for line in missing
        )
        message = (
            f"Cartona order {order.number} is waiting: no product is mapped to {names}. "
            "Set the Cartona ID on these products; the order is imported on the next pull."
        )
        self.env["marketplace.parked.order"]._park(config, order.hashed_id, data, message, "unmapped")
        return Outcome("parked", message=message)

    # Sale order -----------------------------------------------------------

    @api.model
    def _find_existing_order(self, config, hashed_id):
        return self._find_existing_orders(config, [hashed_id]).get(hashed_id, self.env["sale.order"])

    @api.model
    def _find_existing_orders(self, config, hashed_ids):
        """``{hashed_id: sale.order}`` of the orders imported before."""
        if not hashed_ids:
            return {}
        sales = self.env["sale.order"].search(
            [("marketplace_config_id", "=", config.id), ("cartona_id", "in", list(hashed_ids))]
        )
        return {sale.cartona_id: sale for sale in sales}

    @api.model
    def _create_new_order(self, order, page):
        config, lines = page.config, self.env["marketplace.order.lines"]
        partner = self.env["marketplace.customer"]._find_or_create(config, order.retailer, page.partners)
        vals = dict(
            self._prepare_order_vals(order),
            partner_id=partner.id,
            cartona_id=order.hashed_id,
            marketplace_config_id=config.id,
            marketplace_status=order.status,
            company_id=config.company_id.id,
            client_order_ref=order.number,
            order_line=[Command.create(lines._prepare_line_vals(line, page)) for line in order.lines],
        )
        if config.warehouse_id:
            vals["warehouse_id"] = config.warehouse_id.id
        if config.pricelist_id:
            vals["pricelist_id"] = config.pricelist_id.id
        if config.team_id:
            vals["team_id"] = config.team_id.id
        if config.user_id:
            vals["user_id"] = config.user_id.id
        outcome = Outcome(self._new_order_kind(order, page), ack=True)  # its order is made by _create_pending
        page.pending.append((order, vals, outcome))
        return outcome

    @api.model
    def _create_pending(self, page):
        """Create the new orders of ``page.pending`` in one ``create``, then
        bring them where Cartona's status says, status by status: one
        ``action_confirm`` for a page of approved orders."""
        pending, page.pending = page.pending, []
        if not pending:
            return
        sales = (
            self.env["sale.order"]
            .with_context(skip_marketplace_sync=True)
            .create([vals for _order, vals, _outcome in pending])
        )
        runs = []  # [status, sale ids]: runs of the same status, in page order
        for (order, _vals, outcome), sale in zip(pending, sales, strict=True):
            self.env["marketplace.order.lines"]._check_totals(sale, order)
            outcome.order = sale
            # Logged with the page's others (_log_imported), once its savepoint is released.
            outcome.message = f"Cartona order {order.number} imported as {sale.name}"
            if outcome.kind == "recorded":
                self._record_finished(sale, order, outcome)
                continue
            if runs and runs[-1][0] == order.status:
                runs[-1][1].append(sale.id)
            else:
                runs.append([order.status, [sale.id]])
        # Run by run, so that the first orders of the page reserve first.
        for status, ids in runs:
            self.env["marketplace.order.status"]._apply(page.config, sales.browse(ids), status)
        for order, _vals, outcome in pending:
            if outcome.kind == "created":
                self.env["marketplace.invoicing"]._on_cartona_status(outcome.order, order.status)

    @api.model
    def _prepare_order_vals(self, order, sale=None):
        """What Cartona may change on an order after it is imported. On an
        order Odoo holds (``sale``), what Cartona sent unusable this time keeps
        what Odoo has."""
        vals = {
            "cartona_payload_hash": order.payload_hash,
            "marketplace_order_number": order.number,
            "delivered_by": order.delivered_by,
            "marketplace_supplier_code": order.supplier_code,
            "marketplace_payment_method": "installment"
            if order.installment_cost
            else ("wallet_top_up" if order.wallet_top_up else False),
            "cartona_estimated_delivery_day": order.estimated_delivery_day,
            "cartona_delivery_day": order.delivery_day,
            "cartona_preferred_delivery_date": order.preferred_delivery_date,
            "cartona_pickup_date": order.pickup_date,
            "cartona_route_code": order.route_code,
            "cartona_note": order.note,
            "cartona_total_price": order.total_price,
            "cartona_credit": order.cartona_credit,
            "cartona_discount_total": order.cartona_discount_total,
            "cartona_installment_cost": order.installment_cost,
            "cartona_wallet_top_up": order.wallet_top_up,
            "cartona_supplier_rebate": order.supplier_rebate,
            "cartona_otp_required": order.otp_required,
            "cartona_return_reason": order.return_reason,
            "commitment_date": order.estimated_delivery_day,
        }
        if sale:
            for name in {name for key in order.unusable for name in ORDER_VALS_FROM.get(key, ())}:
                vals.pop(name, None)
        return vals

    @api.model
    def _update_existing_order(self, sale, order, page, with_lines=True):
        """Bring an imported order to Cartona's word. Without ``with_lines``
        (a line names a product not mapped yet) the lines are left as they are
        and the payload is not marked as applied: it comes back, or is
        replayed, until the lines can follow. Lines Cartona changed that Odoo
        keeps as they are (``_held_lines``) leave the order unacknowledged."""
        sale = sale.with_context(skip_marketplace_sync=True)
        # A user's edit is on its way to Cartona (or was refused and waits
        # for them): the lines follow Cartona once it has them, not before.
        compared = with_lines  # not while a line waits for its product
        editing = compared and bool(self.env["marketplace.order.edit"]._changes(sale))
        held = compared and self.env["marketplace.order.lines"]._held_lines(sale, order, page, editing)
        with_lines = compared and not (editing or held)
        vals = self._prepare_order_vals(order, sale)
        if not with_lines:
            del vals["cartona_payload_hash"]
        old_status = sale.marketplace_status
        moves_forward = statuses.moves_forward(old_status, order.status)
        if moves_forward:
            vals["marketplace_status"] = order.status
        elif order.status != old_status:
            self._log(
                page.config,
                "warning",
                f"Cartona order {order.number}: status {order.status} arrived after {old_status}; the order keeps it.",
                sale,
            )
        if order.retailer:
            self.env["marketplace.customer"]._find_or_create(page.config, order.retailer, page.partners)
        sale.write(vals)
        # A push Cartona refused because it had moved on (the retailer
        # cancelled meanwhile) is moot once Cartona's status arrives.
        push = sale.marketplace_push_status
        if sale.marketplace_sync_status == "error" and push and not sale._marketplace_pushes(push):
            sale.write({"marketplace_sync_status": "synced", "marketplace_error_message": False})
        if order.lines and with_lines:
            self.env["marketplace.order.lines"]._update_lines(sale, order, page)
        if moves_forward and order.status != old_status:
            self.env["marketplace.order.status"]._apply(page.config, sale, order.status)
            self.env["marketplace.invoicing"]._on_cartona_status(sale, order.status)
        if held:
            summary, note = held
            if page.config._schedule_activity(sale, summary, note, sale=sale):
                self._log(page.config, "warning", note, sale)
            return Outcome("held", sale)
        if compared:
            self.env["marketplace.order.lines"]._release_held(page.config, sale, order)
        return Outcome("updated", sale, ack=True)
