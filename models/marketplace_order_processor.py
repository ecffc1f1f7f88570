import logging
from collections import Counter
from dataclasses import dataclass, field

import psycopg2

from odoo import Command, api, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import float_compare, float_round

from .. import const
from ..cartona import payloads
from ..exceptions import MarketplaceDataError

_logger = logging.getLogger(__name__)

# The to-dos of a change of Cartona's lines that Odoo does not apply (``_held_lines``).
HELD_EDIT_SUMMARY = "Cartona changed an order while an edit was on its way"
HELD_CONFIRMED_SUMMARY = "Cartona changed a confirmed order"


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
    # The history walk: every order of the page was listed by Cartona before
    # the configuration went live (``import_orders_from``).
    history: bool = False


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
    """Cartona order → partner, lines, sale order and status action.

    Runs for the configuration given in the context (``marketplace_config_id``).
    """

    _name = "marketplace.order.processor"
    _description = "Marketplace Order Processor"

    @api.model
    def _get_config(self):
        return self.env["marketplace.api"]._get_config()

    @api.model
    def _log(self, status, message, order=None, **values):
        if order:
            values.update(res_model="sale.order", res_id=order.id)
        return self.env["marketplace.sync.log"]._log_operation(
            self._get_config().id, "order_process", status, message, **values
        )

    # Entry points ---------------------------------------------------------

    @api.model
    def _process_marketplace_order(self, order_data):
        """Import or update one Cartona order (a ``pull-orders`` item)."""
        order = self._validate_order_data(order_data)
        page = self._prepare_page([order])
        outcome = self._process_order(order, order_data, page)
        self._create_pending(page)
        self._log_imported([outcome])
        return outcome

    @api.model
    def _validate_order_data(self, order_data):
        return payloads.parse_order(order_data)

    @api.model
    def _process_page(self, orders_data, replay=False, history=False):
        """Process one page, its orders together where they may be
        (``_process_orders``).

        Returns ``(Counter of outcomes, hashed ids to acknowledge)``. A bad order
        is logged and skipped; the rest of the page goes on.
        """
        stats = Counter()
        parsed = []
        for data in orders_data:
            try:
                parsed.append((self._validate_order_data(data), data))
            except MarketplaceDataError as exc:
                stats[self._reject(data, str(exc))] += 1
            except Exception as exc:  # a payload the rules did not foresee: it fails alone
                hashed_id = payloads.order_key(data) or "(no id)"
                _logger.exception("Cartona order %s could not be read", hashed_id)
                stats[self._reject(data, f"Cartona order {hashed_id} could not be read: {exc!r}")] += 1
        outcomes = self._process_orders(parsed, history)
        stats.update(outcome.kind for outcome in outcomes)
        ack = [] if replay else [order.hashed_id for (order, _data), o in zip(parsed, outcomes, strict=True) if o.ack]
        self._log_imported(outcomes)
        return stats, ack

    @api.model
    def _log_imported(self, outcomes):
        """The success lines of the imported orders, written together: one
        transaction of the sync log per page, not one per order."""
        self._log_skipped(outcomes)
        self.env["marketplace.sync.log"]._log_operations(
            self._get_config().id,
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
    def _process_orders(self, parsed, history=False):
        """The outcomes of a page's parsed ``(order, data)``, in their order.
        The orders are processed together (``_process_together``), but one
        likely to fail keeps a savepoint of its own, with every other copy of
        it on the page, so that its copies still apply in page order. When the
        batch fails, every order gets one."""
        orders = [order for order, _data in parsed]
        page = self._prepare_page(orders, history)
        alone = {order.hashed_id for order in orders if self._likely_to_fail(order, page)}
        together = [i for i, order in enumerate(orders) if order.hashed_id not in alone]
        outcomes = {}
        failure = None
        if len(together) > 1:
            batch, failure = self._process_together([parsed[i] for i in together], page)
            if failure:
                page = self._prepare_page(orders, history)  # as it was before the batch
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
            self._isolated(order.hashed_id, self._log, "warning", message)
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
        kept = self._record_failure(order.hashed_id, data, message)
        page.parked.add(order.hashed_id)
        return Outcome("failed" if kept else "unidentified", message=message)

    @api.model
    def _reject(self, data, message):
        """A payload that does not parse; returns the outcome's kind. An order
        whose id itself is bad is kept under its escaped id: it can be neither
        acknowledged nor imported, but stays in front of a person."""
        if isinstance(data, dict) and self._other_account(data.get("supplier_code")):
            return "ignored"
        hashed_id = payloads.order_key(data)
        if not hashed_id:
            self._isolated(hashed_id, self._log, "error", message, error_details=payloads.dump(data)[:4000])
            return "unidentified"
        return "failed" if self._record_failure(hashed_id, data, message) else "unidentified"

    @api.model
    def _record_failure(self, hashed_id, data, message):
        """Keep a failed order among the waiting ones, logged when its payload is
        new or changed, not at every pull. Returns False when it could not be
        kept: counted as unidentified, it holds the pull window back."""

        def record():
            parked, changed = self._keep_failed(hashed_id, data, payloads.escaped(message))
            if changed:
                self._log(
                    "error",
                    message,
                    res_model=parked._name,
                    res_id=parked.id,
                    error_details=payloads.dump(data)[:4000],
                )
            return True

        return bool(self._isolated(hashed_id, record))

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
    def _other_account(self, supplier_code):
        """An order of another supplier account on the same token."""
        own = self._get_config().supplier_code
        # A code that is no string or number tells nothing: the order stays ours.
        return bool(own and isinstance(supplier_code, str | int) and supplier_code and str(supplier_code) != own)

    @api.model
    def _keep_failed(self, hashed_id, data, message):
        """A failed order is not acknowledged; keeping it among the waiting
        orders also keeps the pull window open on it until it imports. Returns
        the waiting order and whether its payload is new or changed."""
        return self.env["marketplace.parked.order"]._park(
            self._get_config(),
            hashed_id,
            data,
            message,
            summary=self.env["marketplace.parked.order"]._todo_summaries(hashed_id)["failed"],
        )

    @api.model
    def _process_order(self, order, data, page):
        config = self._get_config()
        if self._other_account(order.supplier_code):
            return Outcome("ignored")
        existing = page.sales.get(order.hashed_id, self.env["sale.order"])
        if existing and existing.cartona_payload_hash == order.payload_hash:
            return Outcome("unchanged", existing, ack=True)
        if not existing and (skipped := self._skipped_before_going_live(order, page)):
            return skipped
        if not existing:
            order.check_new()
        missing = self._missing_products(order, page, existing)
        if existing:
            # Cartona's word (a cancellation above all) reaches an imported
            # order even while a line waits for its product: only the lines wait.
            outcome = self._update_existing_order(existing, order, page, with_lines=not missing)
        if missing:
            page.parked.add(order.hashed_id)
            return self._park_order(order, data, missing)
        if order.warnings:  # once, when the payload is applied
            left_empty = "; ".join(order.warnings)
            self._log("warning", f"Cartona order {order.number}: left empty, unusable: {left_empty}", existing)
        if order.hashed_id in page.parked:
            self.env["marketplace.parked.order"]._release(config, order.hashed_id)
        if existing:
            return outcome
        return self._create_new_order(order, config, page)

    # Going live -----------------------------------------------------------

    @api.model
    def _skipped_before_going_live(self, order, page):
        """The outcome of a new order Cartona last changed before the
        configuration's ``import_orders_from``: acknowledged and logged, not
        imported. That is every new order of the history walk (Cartona's own
        ``to`` filter says so), and any other whose ``updated_at`` says so.
        None for an order to import, among them one already waiting in Odoo
        and any order a person fetches (``cartona_all_dates``)."""
        since = self._get_config().import_orders_from
        older = page.history or (since and order.updated_at and order.updated_at < since)
        if not older or order.hashed_id in page.parked or self.env.context.get("cartona_all_dates"):
            return None
        changed = f"last changed {order.updated_at} UTC" if order.updated_at else "listed by Cartona"
        message = (
            f"Cartona order {order.number} ({order.status}), {changed}, is older "
            f"than Import Orders From ({since} UTC): acknowledged, not imported"
        )
        return Outcome("skipped", ack=True, message=message)

    @api.model
    def _log_skipped(self, outcomes):
        """One line per order left out as older than going live, which the dashboard counts."""
        self.env["marketplace.sync.log"]._log_operations(
            self._get_config().id,
            "order_skipped",
            [{"status": "info", "message": o.message, "records_processed": 1} for o in outcomes if o.kind == "skipped"],
        )

    @api.model
    def _new_order_kind(self, order):
        """``recorded`` for an order Odoo first sees in a final status: it was
        delivered, returned or cancelled outside Odoo, and is kept as history
        (``_record_finished``), unless the supplier imports such orders as
        live (the configuration, or a fetch that asks so)."""
        live = self._get_config().import_final_orders_live or self.env.context.get("cartona_import_live")
        return "recorded" if order.status in const.FINAL_STATUSES and not live else "created"

    @api.model
    def _record_finished(self, sale, order, outcome):
        """A finished order kept as history: a quotation (cancelled when
        Cartona cancelled it), so no delivery, no stock taken, no invoice."""
        if order.status in const.CANCELLED_STATUSES:
            self._cancel_order(sale, order.status)
        outcome.message = (
            f"Cartona order {order.number} recorded as {sale.name}: it was already {order.status} when Odoo "
            "first saw it, so it moves no stock or money"
        )
        sale.message_post(body=outcome.message)

    # Products -------------------------------------------------------------

    @api.model
    def _prepare_page(self, orders, history=False):
        """What the orders of a page share, in a few queries whatever their number."""
        config = self._get_config()
        hashed_ids = [order.hashed_id for order in orders]
        defaults = {
            "discount": 0.0,
        }
        # Read as superuser: a manager pulling now may have no accounting rights.
        if not self.env["account.analytic.distribution.model"].sudo().search_count([], limit=1):
            # Odoo would look the (absent) models up line by line.
            defaults["analytic_distribution"] = False
        return Page(
            self._prefetch_products(orders),
            defaults,
            self._find_existing_orders(hashed_ids),
            self._prefetch_partners(orders),
            set(self.env["marketplace.parked.order"]._of(config, *hashed_ids).mapped("cartona_id")),
            history=history,
        )

    @api.model
    def _prefetch_products(self, orders):
        """Every product a page names, in one query: ``{(key, value): product}``."""
        keys = {"supplier_product_id": set(), "internal_product_id": set()}
        for order in orders:
            for line in order.lines:
                for key in payloads.PRODUCT_KEYS:
                    if getattr(line, key):
                        keys[key].add(getattr(line, key))
        if not any(keys.values()):
            return {}
        # Archived ones too: an order imported before still names them.
        catalogue = self.env["product.product"].with_context(active_test=False)
        products = catalogue.search(
            [
                "|",
                ("cartona_id", "in", list(keys["supplier_product_id"])),
                ("cartona_internal_id", "in", list(keys["internal_product_id"])),
            ]
        )
        found = {}
        for product in products:
            if product.cartona_id:
                found["supplier_product_id", product.cartona_id] = product
            if product.cartona_internal_id:
                found["internal_product_id", product.cartona_internal_id] = product
        return found

    @api.model
    def _match_product(self, line, page, sale=None):
        """The product of a Cartona line: by Cartona's keys, else, on an order
        already imported, the product of the line with the same Cartona line
        id (its product's Cartona ID may have changed since)."""
        for key in payloads.PRODUCT_KEYS:
            value = getattr(line, key)
            if value and (key, value) in page.products:
                return page.products[key, value]
        if sale and line.line_id:
            known = sale.order_line.filtered(lambda sol: sol.cartona_line_id == line.line_id)
            if known.product_id:
                return known.product_id[0]
        return None

    @api.model
    def _missing_products(self, order, page, sale=None):
        return [line for line in order.lines if self._match_product(line, page, sale) is None]

    @api.model
    def _park_order(self, order, data, missing):
        names = ", ".join(
            f"{line.product_name or '?'} ({line.supplier_product_id or line.internal_product_id})" for line in missing
        )
        message = (
            f"Cartona order {order.number} is waiting: no product is mapped to {names}. "
            "Set the Cartona ID on these products; the order is imported on the next pull."
        )
        parked, changed = self.env["marketplace.parked.order"]._park(
            self._get_config(),
            order.hashed_id,
            data,
            message,
            summary=self.env["marketplace.parked.order"]._todo_summaries(order.hashed_id)["unmapped"],
        )
        if changed:
            self._log("error", message, res_model=parked._name, res_id=parked.id)
        return Outcome("parked", message=message)

    # Customer -------------------------------------------------------------

    @api.model
    def _prefetch_partners(self, orders):
        """The partners of the page's retailer codes, in one query: ``{code: partner}``."""
        codes = {order.retailer.code for order in orders if order.retailer and order.retailer.code}
        if not codes:
            return {}
        found = {}
        for partner in self._retailer_partners(codes):
            found.setdefault(partner.cartona_id, partner)
        return found

    @api.model
    def _retailer_partners(self, codes):
        """Partners by retailer code, archived ones too, the one to use first."""
        return self.env["res.partner"].with_context(active_test=False).search([("cartona_id", "in", list(codes))])

    @api.model
    def _find_or_create_customer(self, retailer, page=None):
        partners = self.env["res.partner"].with_context(active_test=False)
        partner = partners.browse()
        if retailer.code:
            # A retailer first seen on this page is not in the page's partners.
            partner = (page and page.partners.get(retailer.code)) or self._retailer_partners([retailer.code])[:1]
        if not partner and retailer.phone_keys:
            # Any customer, entered by hand or not, whose phone or mobile is
            # one of the retailer's numbers; never an employee or a company of ours.
            domain = [
                "|",
                ("cartona_phone_key", "in", retailer.phone_keys),
                ("cartona_mobile_key", "in", retailer.phone_keys),
                ("company_id", "in", [False, self._get_config().company_id.id]),
                ("partner_share", "=", True),
                ("ref_company_ids", "=", False),
            ]
            if "employee_ids" in partners._fields:
                # With Employees installed, an employee without a login has a work contact too.
                domain.append(("employee_ids", "=", False))
            if retailer.code:
                # A partner with another retailer code is another retailer.
                domain.append(("cartona_id", "in", [False, retailer.code]))
            partner = partners.search(domain, order="active desc, id", limit=1)
        vals = self._prepare_partner_vals(retailer)
        if not partner:
            return partners.create(dict(vals, customer_rank=1, marketplace_customer_type="retailer"))
        if partner.marketplace_customer_type != "retailer":
            # The supplier's own customer, found by phone: the code is stamped,
            # the name and address stay theirs.
            if retailer.code and partner.cartona_id != retailer.code:
                partner.write({"cartona_id": retailer.code})
            return partner
        for name in ("phone", "mobile"):
            # A number the customer already has, however written, is left as written.
            if payloads.phone_key(vals[name]) in (partner.cartona_phone_key, partner.cartona_mobile_key):
                del vals[name]
        changed = {name: value for name, value in vals.items() if value and partner[name] != value}
        if changed:
            partner.write(changed)
        return partner

    @api.model
    def _prepare_partner_vals(self, retailer):
        return {
            "name": retailer.name,
            "cartona_id": retailer.code,
            "phone": retailer.phone,
            "mobile": retailer.phone2,
            "street": retailer.address,
            "street2": retailer.address_notes,
        }

    # Sale order -----------------------------------------------------------

    @api.model
    def _find_existing_order(self, hashed_id):
        return self._find_existing_orders([hashed_id]).get(hashed_id, self.env["sale.order"])

    @api.model
    def _find_existing_orders(self, hashed_ids):
        """``{hashed_id: sale.order}`` of the orders imported before."""
        if not hashed_ids:
            return {}
        sales = self.env["sale.order"].search(
            [("marketplace_config_id", "=", self._get_config().id), ("cartona_id", "in", list(hashed_ids))]
        )
        return {sale.cartona_id: sale for sale in sales}

    @api.model
    def _create_new_order(self, order, config, page):
        partner = self._find_or_create_customer(order.retailer, page)
        vals = dict(
            self._prepare_order_vals(order),
            partner_id=partner.id,
            cartona_id=order.hashed_id,
            marketplace_config_id=config.id,
            marketplace_status=order.status,
            company_id=config.company_id.id,
            client_order_ref=order.number,
            order_line=[Command.create(self._prepare_line_vals(line, page)) for line in order.lines],
        )
        if config.warehouse_id:
            vals["warehouse_id"] = config.warehouse_id.id
        if config.pricelist_id:
            vals["pricelist_id"] = config.pricelist_id.id
        if config.team_id:
            vals["team_id"] = config.team_id.id
        if config.user_id:
            vals["user_id"] = config.user_id.id
        outcome = Outcome(self._new_order_kind(order), ack=True)  # its order is made by _create_pending
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
            self._check_totals(sale, order)
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
            self._apply_cartona_state_action(sales.browse(ids), status)
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
    def _prepare_line_vals(self, line, page, sale=None):
        product = self._match_product(line, page, sale)
        return dict(
            page.line_defaults,
            product_id=product.id,
            product_uom=product.cartona_uom_id.id or product.uom_id.id,
            product_uom_qty=line.amount,
            # Written with the quantity: Odoo recomputes a price it did not see set.
            # Taxes: the product's own; a price-excluded one brings the unit price back.
            **self.env["marketplace.invoicing"]._line_prices(self._get_config(), product, line.price, line.amount),
            cartona_amount=line.amount,
            cartona_imported=True,
            cartona_line_id=line.line_id,
            cartona_unit=line.unit,
            cartona_unit_count=line.unit_count,
            cartona_comment=line.comment,
            cartona_supplier_discount=line.supplier_discount,
            cartona_discount=line.cartona_discount,
        )

    @api.model
    def _check_totals(self, sale, order):
        if order.total_price is None:
            return
        if sale.currency_id.compare_amounts(sale.amount_total, order.total_price) != 0:
            message = (
                f"The total of {sale.name} ({sale.amount_total:.2f}) differs from Cartona's "
                f"total_price ({order.total_price:.2f}) for order {order.number}."
            )
            sale.message_post(body=message)
            self._log("warning", message, sale)

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
        held = compared and self._held_lines(sale, order, page, editing)
        with_lines = compared and not (editing or held)
        vals = self._prepare_order_vals(order, sale)
        if not with_lines:
            del vals["cartona_payload_hash"]
        old_status = sale.marketplace_status
        moves_forward = self._status_moves_forward(old_status, order.status)
        if moves_forward:
            vals["marketplace_status"] = order.status
        elif order.status != old_status:
            self._log(
                "warning",
                f"Cartona order {order.number}: status {order.status} arrived after {old_status}; the order keeps it.",
                sale,
            )
        if order.retailer:
            self._find_or_create_customer(order.retailer, page)
        sale.write(vals)
        # A push Cartona refused because it had moved on (the retailer
        # cancelled meanwhile) is moot once Cartona's status arrives.
        push = sale.marketplace_push_status
        if sale.marketplace_sync_status == "error" and push and not sale._marketplace_pushes(push):
            sale.write({"marketplace_sync_status": "synced", "marketplace_error_message": False})
        if order.lines and with_lines:
            self._update_lines(sale, order, page)
        if moves_forward and order.status != old_status:
            self._apply_cartona_state_action(sale, order.status)
            self.env["marketplace.invoicing"]._on_cartona_status(sale, order.status)
        if held:
            summary, note = held
            if self._schedule_activity(sale, summary, note):
                self._log("warning", note, sale)
            return Outcome("held", sale)
        if compared:
            self._release_held(sale, order)
        return Outcome("updated", sale, ack=True)

    @api.model
    def _status_moves_forward(self, old, new):
        if not old:
            return True
        if old in const.CANCELLED_STATUSES:
            return new in const.CANCELLED_STATUSES
        return const.STATUS_RANK[new] >= const.STATUS_RANK[old]

    @api.model
    def _line_signature(self, lines_vals):
        # As Odoo stores them: a price with more decimals than it keeps is no change.
        precision = self.env["decimal.precision"]
        qty_digits, price_digits = (
            precision.precision_get("Product Unit of Measure"),
            precision.precision_get("Product Price"),
        )
        return sorted(
            (
                vals["cartona_line_id"] or "",
                vals["product_id"],
                float_round(vals["product_uom_qty"], precision_digits=qty_digits),
                float_round(vals["price_unit"], precision_digits=price_digits),
            )
            for vals in lines_vals
            # A line cancelled on Cartona stays in a confirmed order at quantity 0.
            if vals["product_uom_qty"]
        )

    @api.model
    def _current_lines(self, sale):
        return [
            {
                "cartona_line_id": line.cartona_line_id,
                "product_id": line.product_id.id,
                "product_uom_qty": line.product_uom_qty,
                "price_unit": line.price_unit,
            }
            for line in sale.order_line
        ]

    @api.model
    def _held_lines(self, sale, order, page, editing):
        """``(summary, note)`` of a change of Cartona's lines that Odoo does not
        apply, or None: the order is not acknowledged and comes back until Odoo
        has its lines, and a person is told once (one to-do per summary). Held:
        the lines of a confirmed order, and those of an order with a user's
        edit on its way to Cartona or refused, once Cartona's lines are no
        longer what Odoo last knew of them (the retailer changed them). The
        lines of a cancelled order no longer matter."""
        if not order.lines or sale.state == "cancel" or order.status in const.CANCELLED_STATUSES:
            return None
        wanted = [self._prepare_line_vals(line, page, sale) for line in order.lines]
        if self._line_signature(wanted) == self._line_signature(self._current_lines(sale)):
            return None
        theirs = "\n".join(
            f"- {line.product_name or line.line_id}: {line.amount:g} at {line.price:g}" for line in order.lines
        )
        if editing:
            if not self._cartona_changed_lines(sale, order):
                return None  # Cartona only lacks the user's edit, which is on its way
            return (
                HELD_EDIT_SUMMARY,
                f"Cartona changed the lines of {sale.name} (order {order.number}) while an edit made in Odoo "
                f"was on its way to Cartona or refused by it. Odoo keeps its lines, and the order is not "
                f"acknowledged until they are Cartona's. Cartona's lines:\n{theirs}",
            )
        if sale.state not in ("draft", "sent"):
            return (
                HELD_CONFIRMED_SUMMARY,
                f"Cartona changed the lines of {sale.name} (order {order.number}) after it was confirmed. "
                f"The change is not applied, and the order is not acknowledged until Odoo's lines are "
                f"Cartona's: review it with the retailer. Cartona's lines:\n{theirs}",
            )
        return None

    @api.model
    def _cartona_changed_lines(self, sale, order):
        """Whether Cartona's lines differ from what Odoo last knew Cartona had
        (each line's ``cartona_amount``; a line removed in Odoo that Cartona
        still has is left out): the retailer changed a quantity or a line."""
        removed = set(sale.cartona_removed_lines or {})
        theirs = sorted(
            (line.line_id or "", line.amount) for line in order.lines if line.amount and line.line_id not in removed
        )
        known = sorted(
            (line.cartona_line_id, line.cartona_amount)
            for line in sale.order_line
            if line.cartona_line_id and line.cartona_amount and line.cartona_line_id not in removed
        )
        return theirs != known

    @api.model
    def _held_since(self):
        """When the oldest change of Cartona's lines that Odoo holds back (an
        open to-do of ``_held_lines``) was first seen: the pull window reaches
        back to it, so that the order comes back until Odoo has its lines."""
        config = self._get_config()
        todos = (
            self.env["mail.activity"]
            .sudo()
            .search(
                [("res_model", "=", "sale.order"), ("summary", "in", [HELD_EDIT_SUMMARY, HELD_CONFIRMED_SUMMARY])],
                order="create_date",
            )
        )
        sales = self.env["sale.order"].sudo().browse(todos.mapped("res_id"))
        return next(
            (todo.create_date for todo, sale in zip(todos, sales, strict=True) if sale.marketplace_config_id == config),
            None,
        )

    @api.model
    def _release_held(self, sale, order):
        """Nothing of Cartona's lines is held now: the to-dos of a held change are done."""
        config = self._get_config()
        for summary in (HELD_EDIT_SUMMARY, HELD_CONFIRMED_SUMMARY):
            config._resolve_alert(summary, f"Odoo has Cartona's lines of order {order.number}.", record=sale)

    @api.model
    def _update_lines(self, sale, order, page):
        """Cartona's lines on an order in quotation; a confirmed or cancelled
        order keeps its own (``_held_lines`` says so to a person)."""
        if sale.state not in ("draft", "sent"):
            return
        wanted = [self._prepare_line_vals(line, page, sale) for line in order.lines]
        if self._line_signature(wanted) == self._line_signature(self._current_lines(sale)):
            return
        by_id = {line.cartona_line_id: line for line in sale.order_line if line.cartona_line_id}
        commands = []
        for vals in wanted:
            line = by_id.pop(vals["cartona_line_id"], None) if vals["cartona_line_id"] else None
            if line:
                commands.append(Command.update(line.id, vals))
            else:
                commands.append(Command.create(vals))
        kept = {command[1] for command in commands if command[0] == Command.UPDATE}
        commands += [Command.delete(line.id) for line in sale.order_line if line.id not in kept]
        sale.write({"order_line": commands})
        self._check_totals(sale, order)

    # Status ---------------------------------------------------------------

    @api.model
    def _apply_cartona_state_action(self, sales, status):
        """Bring the Odoo orders where Cartona's status says (decisions.md section 4)."""
        action = self._get_config()._get_state_mapping().get(status, "none")
        sales = sales.with_context(skip_marketplace_sync=True).filtered(lambda sale: sale.state != "cancel")
        if action == "none" or not sales:
            return
        if action == "cancel":
            for sale in sales:
                self._cancel_order(sale, status)
        elif action == "draft":
            # A return is handled with its money (models/marketplace_returns.py).
            for sale in sales.filtered(lambda sale: sale.state == "sale" and status not in const.RETURNED_STATUSES):
                self._schedule_activity(
                    sale,
                    f"Cartona: order {status}",
                    f"Cartona marked {sale.name} as {status}. Handle the return by hand.",
                )
        else:
            sales.filtered(lambda sale: sale.state in ("draft", "sent")).action_confirm()
            for sale in sales:  # what is left to reserve, order by order as they came
                self._reserve(sale)
            if action == "done":
                for sale in sales:
                    self._complete_delivery(sale)

    @api.model
    def _outgoing_pickings(self, sales):
        return sales.picking_ids.filtered(lambda p: p.state not in ("done", "cancel"))

    @api.model
    def _reserve(self, sales):
        pickings = self._outgoing_pickings(sales).filtered(lambda p: p.state in ("confirmed", "waiting"))
        if pickings:
            pickings.action_assign()

    @api.model
    def _cancel_order(self, sale, status):
        if sale.picking_ids.filtered(lambda p: p.state == "done" and p.picking_type_code == "outgoing"):
            message = f"Cartona cancelled {sale.name} ({status}) but goods were already delivered: nothing undone."
            self._schedule_activity(sale, "Cartona cancelled a delivered order", message)
            self._log("warning", message, sale)
            return
        sale._action_cancel()

    @api.model
    def _complete_delivery(self, sale):
        """Validate every open picking of the order with its full quantity,
        upstream steps first. A picking that cannot be validated (lots missing)
        stays open with an activity saying why."""
        pending = self._outgoing_pickings(sale)
        while pending:
            ready = pending.filtered(lambda p: all(m.state in ("done", "cancel") for m in p.move_ids.move_orig_ids))
            if not ready:
                break
            for picking in ready:
                self._validate_picking(sale, picking)
            still = self._outgoing_pickings(sale)
            if still == pending:
                break
            pending = still

    @api.model
    def _validate_picking(self, sale, picking):
        try:
            with self.env.cr.savepoint():
                for move in picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel")):
                    if float_compare(move.quantity, move.product_uom_qty, precision_rounding=move.product_uom.rounding):
                        move.quantity = move.product_uom_qty
                    move.picked = True
                result = picking.with_context(
                    skip_backorder=True, skip_sms=True, cancel_backorder=True
                ).button_validate()
                if picking.state != "done":
                    raise UserError(
                        self.env._(
                            "Odoo asks for more information: %s",
                            result.get("name") if isinstance(result, dict) else result,
                        )
                    )
        except UserError as exc:
            message = f"Delivery {picking.name} of {sale.name} could not be validated: {exc}"
            config = self._get_config()
            config._raise_alert(config._delivery_alert_summary(), message, record=sale, sale=sale)
            self._log("warning", message, sale)

    @api.model
    def _schedule_activity(self, sale, summary, note):
        return self._get_config()._schedule_activity(sale, summary, note, sale=sale)
