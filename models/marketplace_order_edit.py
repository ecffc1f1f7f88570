"""The supplier's own edits of a Cartona order, sent to Cartona.

A user changes a line's quantity, removes a line or adds one on a Cartona
order; at commit one job per order is queued, which sends to Cartona what Odoo
has and Cartona has not (``order/update-order-details``). What Cartona has is
kept on the order: each line's ``cartona_amount`` and the order's
``cartona_removed_lines``. The job compares, so a late or repeated job sends
only what is still missing, and an accepted edit leaves nothing to send.
"""

from dataclasses import dataclass

from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from .. import const
from ..access import skips_marketplace_sync
from ..cartona import payloads, statuses
from ..cartona.answers import item_refusal, order_edit_results
from ..exceptions import MarketplaceDataError, MarketplaceError, MarketplacePermanentError
from ..transaction import collect_at_commit

# Orders whose lines changed in this transaction, collected for the commit.
EDITS_KEY = "cartona_marketplace.orders_edited"
# Writes of a line that change what Cartona should have.
EDIT_FIELDS = {"product_id", "product_uom", "product_uom_qty"}
REFUSED_SUMMARY = "Cartona refused an order edit"
# Cartona's product keys and the product fields that hold them.
PRODUCT_KEY_FIELDS = (("supplier_product_id", "cartona_id"), ("internal_product_id", "cartona_internal_id"))


@dataclass
class Change:
    """One line of an edit: ``kind`` is amount, cancel (quantity 0), remove
    (line deleted in Odoo) or add; ``error`` says why it cannot be sent."""

    kind: str
    label: str
    item: dict = None
    line: object = None
    line_id: str = None
    amount: int = 0
    price: float = 0.0
    error: str = None


class MarketplaceOrderEdit(models.AbstractModel):
    _name = "marketplace.order.edit"
    _description = "Marketplace Order Edit"

    # Which edits ----------------------------------------------------------

    @api.model
    def _by_user(self):
        """Whether the lines are changed by a user: the import's own changes
        (``skip_marketplace_sync``) and the connector's bookkeeping (superuser)
        are Cartona's word already."""
        return not self.env.su and not skips_marketplace_sync(self.env)

    @api.model
    def _order_lines(self, lines):
        """The lines of ``lines`` that Cartona knows or should: products sold on
        Cartona orders (not sections, notes, down payments or delivery fees).
        A line added at quantity 0 orders nothing: it is how Odoo records a
        product delivered that the order did not have (sale_stock), no edit.
        Read as the connector: the user may not read the configuration."""
        return (
            lines.sudo()
            .exists()
            .filtered(
                lambda line: (
                    line.order_id.marketplace_config_id
                    and line.product_id
                    and not line.display_type
                    and not line.is_downpayment
                    and not line._is_delivery()
                    and not line._is_not_sellable_line()
                    and (
                        line.cartona_imported
                        or not float_is_zero(line.product_uom_qty, precision_rounding=line.product_uom.rounding)
                    )
                )
            )
        )

    @api.model
    def _refusal(self, order):
        """Why Cartona takes no edit of ``order`` any more, or None."""
        status = statuses.latest(order.marketplace_status, order.marketplace_push_status)
        labels = dict(const.ORDER_STATUSES)
        if order.delivered_by == "delivered_by_cartona":
            return self.env._("Cartona delivers %s: its lines are changed on Cartona, never from Odoo.", order.name)
        if statuses.is_cancelled(status) or order.state == "cancel":
            return self.env._("%s is cancelled: its lines can no longer change.", order.name)
        if statuses.out_for_delivery(status):
            return self.env._(
                "%(order)s is %(status)s on Cartona: once an order is assigned to a salesman, "
                "Cartona takes no change of its lines.",
                order=order.name,
                status=labels[status].lower(),
            )
        return None

    @api.model
    def _check_editable(self, orders):
        orders._check_not_editing(self.env._("change the lines of"))
        for order in orders:
            reason = self._refusal(order)
            if reason:
                raise UserError(reason)

    @api.model
    def _changes(self, order):
        """``[Change]``: what ``order`` has in Odoo and not on Cartona. Nothing
        for an order Cartona takes no edit of."""
        if self._refusal(order) or order.marketplace_status == "editing":
            return []
        changes = [
            Change("remove", label, payloads.line_cancel(line_id), line_id=line_id)
            for line_id, label in (order.cartona_removed_lines or {}).items()
        ]
        for line in self._order_lines(order.order_line):
            if line.cartona_line_id:
                change = self._line_change(line)
            elif not line.cartona_imported:
                change = self._new_line(line)
            else:
                change = None
            if change:
                changes.append(change)
        return changes

    @api.model
    def _line_change(self, line):
        """A line Cartona has: its quantity is in Cartona's unit already (the
        line keeps the unit of its import)."""
        amount, error = self._whole(line, line.product_uom)
        if error or float_compare(amount, line.cartona_amount, precision_digits=6):
            label = line.product_id.display_name
            if not error and amount <= 0:
                return Change("cancel", label, payloads.line_cancel(line.cartona_line_id), line, line.cartona_line_id)
            item = None if error else payloads.line_amount(line.cartona_line_id, amount)
            return Change("amount", label, item, line, line.cartona_line_id, amount, error=error)
        return None

    @api.model
    def _new_line(self, line):
        """A line the user added: sent in the product's Cartona unit, at the
        price per that unit that the retailer pays."""
        product = line.product_id
        label = product.display_name
        unit = product.cartona_uom_id or product.uom_id
        amount, error = self._whole(line, unit)
        # Cartona's supplier_product_id first, as everywhere.
        key = next(
            ((name, product[field]) for name, field in PRODUCT_KEY_FIELDS if product[field]),
            None,
        )
        if not key:
            error = self.env._("%s is not on Cartona (it has no Cartona ID): Cartona cannot add it.", label)
        elif not error and amount <= 0:
            error = self.env._("Cartona adds no line of %(amount)s %(unit)s.", amount=amount, unit=unit.name)
        price = line.order_id.currency_id.round(line.product_uom._compute_price(line.price_reduce_taxinc, unit))
        item = None if error else payloads.line_new(*key, amount, price)
        return Change("add", label, item, line, amount=amount, price=price, error=error)

    @api.model
    def _whole(self, line, unit):
        """``(amount, error)``: the line's quantity in ``unit``, which Cartona
        sells whole."""
        amount = line.product_uom._compute_quantity(line.product_uom_qty, unit, round=False)
        if not float_is_zero(amount - round(amount), precision_digits=6):
            return amount, self.env._(
                "%(qty)s %(uom)s of %(product)s is %(amount)s %(unit)s: Cartona sells it by the whole %(unit)s.",
                qty=line.product_uom_qty,
                uom=line.product_uom.name,
                product=line.product_id.display_name,
                amount=round(amount, 3),
                unit=unit.name,
            )
        return round(amount), None

    # A user changes lines ---------------------------------------------------

    @api.model
    def _before_write(self, lines, vals):
        """A line Cartona has keeps its product and unit: its quantity changes."""
        if not self._by_user() or not EDIT_FIELDS & set(vals):
            return
        lines.check_access("write")
        ours = self._order_lines(lines)
        self._check_editable(ours.order_id)
        for line in ours.filtered("cartona_line_id"):
            for name in ("product_id", "product_uom"):
                if name in vals and line[name].id != vals[name]:
                    raise UserError(
                        self.env._(
                            "The line of %(product)s is Cartona's, in %(unit)s: change its quantity, "
                            "or remove it and add another line.",
                            product=line.product_id.display_name,
                            unit=line.product_uom.name,
                        )
                    )

    @api.model
    def _after_change(self, lines, vals=None):
        """Lines created or written: refuse what Cartona cannot take, send the
        rest when the transaction commits."""
        if not self._by_user() or (vals is not None and not EDIT_FIELDS & set(vals)):
            return
        ours = self._order_lines(lines)
        if not ours:
            return
        self._check_editable(ours.order_id)
        for order in ours.order_id:
            errors = [c.error for c in self._changes(order) if c.error and c.line and c.line in ours]
            if errors:
                raise UserError("\n".join(errors))
        self._push_later(ours.order_id)

    @api.model
    def _before_unlink(self, lines):
        """The Cartona lines about to be deleted: ``{order: {line id: label}}``."""
        if not self._by_user():
            return {}
        lines.check_access("unlink")
        ours = self._order_lines(lines)
        known = ours.filtered(lambda line: line.cartona_line_id and line.cartona_amount)
        self._check_editable(known.order_id)
        removed = {}
        for line in known:
            removed.setdefault(line.order_id, {})[line.cartona_line_id] = line.product_id.display_name
        return removed

    @api.model
    def _after_unlink(self, removed):
        for order, lines in removed.items():
            order.write({"cartona_removed_lines": dict(order.cartona_removed_lines or {}, **lines)})
        if removed:
            self._push_later(self.env["sale.order"].sudo().union(*removed))

    @api.model
    def _push_later(self, orders):
        """Queue the edit of ``orders`` when the transaction commits: one job per
        order, however many lines changed."""
        collect_at_commit(self.env, EDITS_KEY, set, self.env["marketplace.order.edit"]._enqueue_collected).update(
            orders.ids
        )

    def _enqueue_collected(self, ids):
        """At commit (and at each savepoint): a job per order of ``ids`` with
        something to send, unless one is waiting already (its identity key):
        the job reads the order when it runs."""
        for order in self.env["sale.order"].sudo().browse(sorted(ids)).exists():
            config = order.marketplace_config_id
            if not config or not self._changes(order):
                continue
            # Queued on the order, as the connector: the salesman may not read the
            # configuration. As the status pushes: an edit is not overtaken by a later status.
            order.with_delay(
                priority=const.ORDER_JOB_PRIORITY,
                max_retries=config.retry_attempts,
                identity_key=identity_exact,
                description=self.env._("Cartona edit of %s", order.name),
            )._push_order_edits()

    # The job --------------------------------------------------------------

    @api.model
    def _push(self, order):
        """Send Cartona what ``order`` has and Cartona has not (the order's job
        ``_push_order_edits``); record what Cartona accepted, and show on the
        order what it refused and why."""
        order = order.sudo()
        config = order.marketplace_config_id
        if not config:
            return "The order is no longer a Cartona order."
        self._lock(order)
        reason = self._refusal(order)
        if reason:
            return self._record(order, [], [(None, self.env._("Not sent to Cartona: %s", reason))])
        changes = self._changes(order)
        sendable = [change for change in changes if not change.error]
        if not changes:
            return f"Cartona already has every change of {order.name}"
        total = None
        results = {}
        problems = []
        if sendable:
            try:
                answer = self.env["marketplace.api"]._update_order_details(
                    config, [payloads.order_edit(order.cartona_id, [change.item for change in sendable])]
                )
                refusal, lines, total = order_edit_results(answer["data"], order.cartona_id)
                refusal = refusal if answer["success"] else answer["error"]
            except MarketplacePermanentError as exc:
                refusal, lines = str(exc), []
            except MarketplaceError as exc:
                self.env["marketplace.sync.log"]._write_detached(
                    order,
                    {
                        "marketplace_sync_status": "error",
                        "marketplace_error_message": order._marketplace_push_failure(exc),
                    },
                )
                raise
            results = self._match(sendable, lines)
            for change in sendable:
                result = results.get(id(change))
                change.error = item_refusal(result) if result else refusal
        if total is not None:
            try:
                total = payloads.edit_total(order.cartona_id, total)
            except MarketplaceDataError as exc:
                total = None
                problems.append(self.env._("Cartona's answer is not kept: %s", exc))
        accepted = [change for change in changes if not change.error]
        problems += self._apply(order, accepted, results)
        refused = [change for change in changes if change.error]
        # Cartona keeps a line it refused to cancel: nothing Odoo can undo by itself.
        removed = {change.line_id for change in changes if change.kind == "remove"}
        if removed:
            left = {k: v for k, v in (order.cartona_removed_lines or {}).items() if k not in removed}
            order.write({"cartona_removed_lines": left or False})
        if total is not None:
            order.write({"cartona_total_price": total})
        return self._record(order, accepted, [(change, change.error) for change in refused], total, problems)

    @api.model
    def _lock(self, order):
        """One edit of an order at a time, without locking the order's row
        through the call to Cartona (the error status written beside the job,
        an import, a user: all write it meanwhile). A second job waits here;
        when the order or its lines changed since this job's snapshot (the
        first job's record, say), it is retried on what is committed."""
        self.env.cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", [const.ORDER_EDIT_LOCK_KEY, order.id])
        query = """
            SELECT 'o', id, xmin::text FROM sale_order WHERE id = %(id)s
            UNION ALL SELECT 'l', id, xmin::text FROM sale_order_line WHERE order_id = %(id)s
        """
        self.env.cr.execute(query, {"id": order.id})
        seen = set(self.env.cr.fetchall())
        with self.env.registry.cursor() as cr:
            cr.execute(query, {"id": order.id})
            committed = set(cr.fetchall())
        if seen != committed:
            raise RetryableJobError(
                f"{order.name} changed while this edit waited for another: retried on what is committed",
                seconds=1,
                ignore_retry=True,
            )

    @api.model
    def _match(self, changes, results):
        """``{id(change): result}``: a line Cartona has by its id, a new line by
        its product key (in order, for several of one product)."""
        matched = {}
        open_changes = list(changes)
        for result in results:
            line_id = result.get("id")
            found = next(
                (
                    change
                    for change in open_changes
                    if change.kind != "add" and line_id is not None and change.line_id == str(line_id)
                ),
                None,
            ) or next(
                (
                    change
                    for change in open_changes
                    if change.kind == "add"
                    and any(
                        str(result.get(key)) == str(change.item.get(key))
                        for key in payloads.PRODUCT_KEYS
                        if change.item.get(key)
                    )
                ),
                None,
            )
            if found:
                matched[id(found)] = result
                open_changes.remove(found)
        return matched

    @api.model
    def _apply(self, order, accepted, results):
        """Cartona has these changes now. A line added becomes Cartona's, in its
        terms (unit, price, taxes, as imported lines are):
        the next pull finds it as it is. Returns what of Cartona's answer
        cannot be kept: an id that breaks the rules of a line id leaves the
        line without one, as an answer that gives none."""
        config = order.marketplace_config_id
        problems = []
        for change in accepted:
            if change.kind == "amount":
                change.line.write({"cartona_amount": change.amount})
            elif change.kind == "cancel":
                change.line.write({"cartona_amount": 0})
            elif change.kind == "add":
                product = change.line.product_id
                try:
                    new_id = payloads.edit_line_id(order.cartona_id, results.get(id(change), {}).get("id"))
                except MarketplaceDataError as exc:
                    new_id = None
                    problems.append(self.env._("Cartona's answer is not kept: %s", exc))
                change.line.write(
                    {
                        "cartona_imported": True,
                        "cartona_line_id": new_id or False,
                        "cartona_amount": change.amount,
                        "product_uom": (product.cartona_uom_id or product.uom_id).id,
                        "product_uom_qty": change.amount,
                        **self.env["marketplace.invoicing"]._line_prices(config, product, change.price, change.amount),
                        "discount": 0.0,
                    }
                )
        return problems

    @api.model
    def _record(self, order, accepted, refused, total=None, problems=()):
        """Show the outcome on the order and in the sync log; a refusal gets a
        message on the order and an activity, what of Cartona's answer cannot
        be kept a message and a warning."""
        config = order.marketplace_config_id
        sent = ", ".join(f"{change.kind} {change.label}" for change in accepted)
        message = f"Cartona edit of {order.name}: {sent}" if accepted else ""
        if refused:
            reasons = "\n".join(f"{self._describe(change)}: {error}" if change else error for change, error in refused)
            text = self.env._(
                "Cartona refused the edit of %(order)s:\n%(reasons)s\nCartona keeps its lines until it accepts a "
                'change: set Odoo\'s back to them, or correct them and press "Sync to Cartona".',
                order=order.name,
                reasons=reasons,
            )
            order.write({"marketplace_sync_status": "error", "marketplace_error_message": text})
            order.message_post(body=text)
            config._schedule_activity(order, REFUSED_SUMMARY, text, sale=order)
            message = "\n".join(filter(None, [message, text]))
        elif not (order.marketplace_push_status and order._marketplace_pushes(order.marketplace_push_status)):
            # An error of a status push still waiting stays in sight.
            order.write({"marketplace_sync_status": "synced", "marketplace_error_message": False})
        warning = order._marketplace_total_warning(total, "after the edit")
        if warning:
            order.message_post(body=warning)
            message = f"{message}\n{warning}"
        for problem in problems:
            order.message_post(body=problem)
            message = f"{message}\n{problem}"
        self.env["marketplace.sync.log"]._log_operation(
            config.id,
            "order_edit",
            "warning" if refused or warning or problems else "success",
            message,
            res_model="sale.order",
            res_id=order.id,
            records_processed=len(accepted),
        )
        return message

    @api.model
    def _describe(self, change):
        if change.kind == "amount":
            return self.env._("%(product)s to %(amount)s", product=change.label, amount=change.amount)
        if change.kind == "add":
            return self.env._("Adding %(amount)s of %(product)s", product=change.label, amount=change.amount)
        if change.kind == "remove":
            return self.env._("Removing %s (Odoo no longer has the line, Cartona keeps it)", change.label)
        return self.env._("Removing %s", change.label)
