import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.job import identity_exact

from .. import const
from ..access import MANAGER_GROUP, USER_GROUP, check_caller, skips_marketplace_sync
from ..cartona import statuses
from ..cartona.answers import item_refusal
from ..exceptions import (
    MarketplaceAuthError,
    MarketplaceError,
    MarketplacePermanentError,
    MarketplaceRetryableError,
)

_logger = logging.getLogger(__name__)

# The orders this transaction is cancelling, in ``cr.precommit.data``.
CANCELLING_KEY = "cartona_marketplace.cancelling_orders"

# What Cartona said of the order and what the connector told it: a user who
# writes them would make the connector push a status for an order, or skip one.
CONNECTOR_FIELDS = {
    "cartona_id",
    "marketplace_config_id",
    "is_marketplace_order",
    "marketplace_order_number",
    "marketplace_status",
    "delivered_by",
    "marketplace_payment_method",
    "marketplace_supplier_code",
    "marketplace_sync_status",
    "marketplace_error_message",
    "cartona_payload_hash",
    "cartona_estimated_delivery_day",
    "cartona_delivery_day",
    "cartona_preferred_delivery_date",
    "cartona_pickup_date",
    "cartona_route_code",
    "cartona_note",
    "cartona_total_price",
    "cartona_credit",
    "cartona_discount_total",
    "cartona_share_amount",
    "cartona_installment_cost",
    "cartona_wallet_top_up",
    "cartona_supplier_rebate",
    "cartona_otp_required",
    "cartona_return_reason",
    "marketplace_push_status",
    "cartona_removed_lines",
}


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "marketplace.connector.fields"]
    _cartona_connector_fields = CONNECTOR_FIELDS

    cartona_id = fields.Char("Cartona Order ID", copy=False, index="btree_not_null", readonly=True)
    marketplace_config_id = fields.Many2one(
        "marketplace.config", "Marketplace", copy=False, index="btree_not_null", readonly=True
    )
    is_marketplace_order = fields.Boolean(compute="_compute_is_marketplace_order", store=True)
    marketplace_order_number = fields.Char("Cartona Order Number", copy=False, readonly=True)
    marketplace_status = fields.Selection(const.ORDER_STATUSES, "Cartona Status", copy=False, readonly=True)
    delivered_by = fields.Selection(const.DELIVERED_BY, copy=False, readonly=True)
    marketplace_payment_method = fields.Char("Payment Method", copy=False, readonly=True)
    marketplace_supplier_code = fields.Char("Cartona Supplier Code", copy=False, readonly=True)
    marketplace_sync_status = fields.Selection(const.SYNC_STATUSES, "Status Sync", copy=False, readonly=True)
    marketplace_error_message = fields.Text("Sync Error", copy=False, readonly=True)
    cartona_payload_hash = fields.Char(copy=False, readonly=True)
    # Delivery
    cartona_estimated_delivery_day = fields.Date("Estimated Delivery Day", copy=False, readonly=True)
    cartona_delivery_day = fields.Date("Delivery Day", copy=False, readonly=True)
    cartona_preferred_delivery_date = fields.Date("Retailer's Preferred Date", copy=False, readonly=True)
    cartona_pickup_date = fields.Date("Pickup Date", copy=False, readonly=True)
    cartona_route_code = fields.Char("Distribution Route", copy=False, readonly=True)
    cartona_note = fields.Text("Retailer Note", copy=False, readonly=True)
    # Money facts
    cartona_total_price = fields.Monetary("Cartona Total", copy=False, readonly=True)
    cartona_credit = fields.Monetary(copy=False, readonly=True)
    cartona_discount_total = fields.Monetary(
        "Cartona-funded Discounts",
        copy=False,
        readonly=True,
        help="applied_cartona_discount times amount, over the lines.",
    )
    cartona_installment_cost = fields.Monetary("Installment (paid by Cartona)", copy=False, readonly=True)
    cartona_share_amount = fields.Monetary(
        "Paid by Cartona",
        compute="_compute_cartona_share_amount",
        help="Cartona credit and installment: the part of the invoice Cartona pays instead of the retailer. "
        "Cartona-funded discounts are owed by Cartona on top of the invoice.",
    )
    cartona_wallet_top_up = fields.Monetary("Wallet Top-up", copy=False, readonly=True)
    cartona_supplier_rebate = fields.Monetary("Supplier Rebate", copy=False, readonly=True)
    cartona_otp_required = fields.Boolean("OTP Required", copy=False, readonly=True)
    retailer_otp = fields.Char("Retailer OTP", copy=False, help="The code the retailer gives at delivery.")
    cartona_cancellation_reason = fields.Selection(const.CANCELLATION_REASONS, copy=False)
    cartona_return_reason = fields.Char(copy=False, readonly=True)
    marketplace_push_status = fields.Selection(
        const.ORDER_STATUSES,
        "Status to Push",
        copy=False,
        readonly=True,
        help="The last status Odoo sent, or is sending, to Cartona.",
    )
    # Cartona lines deleted in Odoo that Cartona still has: {line id: product}.
    cartona_removed_lines = fields.Json(copy=False, readonly=True)

    _sql_constraints = [
        (
            "cartona_id_per_marketplace_unique",
            "UNIQUE(marketplace_config_id, cartona_id)",
            "This Cartona order is already imported.",
        ),
    ]

    @api.depends("marketplace_config_id")
    def _compute_is_marketplace_order(self):
        for order in self:
            order.is_marketplace_order = bool(order.marketplace_config_id)

    @api.depends("cartona_credit", "cartona_installment_cost")
    def _compute_cartona_share_amount(self):
        # Not the discounts: selling_price is already after them, the retailer never owed them.
        for order in self:
            order.cartona_share_amount = order.currency_id.round(order.cartona_credit + order.cartona_installment_cost)

    def _get_update_prices_lines(self):
        # "Update prices" leaves Cartona's lines alone, discount included.
        return super()._get_update_prices_lines().filtered(lambda line: not line.cartona_imported)

    def _check_not_editing(self, what):
        """While the retailer edits the order on Cartona, hands off. Read as
        the connector: a warehouse user may deliver an order they cannot read."""
        editing = self.sudo().filtered(lambda o: o.marketplace_status == "editing")
        if editing:
            raise UserError(
                self.env._(
                    "The retailer is editing %(orders)s on Cartona: you cannot %(what)s it until "
                    "Cartona sets it back to pending.",
                    orders=", ".join(editing.mapped("name")),
                    what=what,
                )
            )

    def _check_not_from_portal(self, what):
        """Odoo's portal routes confirm and cancel quotations with ``sudo()``;
        a Cartona order's status is decided on Cartona or by the supplier."""
        if self.env.user.share and any(self.sudo().mapped("is_marketplace_order")):
            raise UserError(self.env._("Cartona orders cannot be %(what)s on the portal: use Cartona.", what=what))

    def _has_to_be_signed(self):
        return not self.is_marketplace_order and super()._has_to_be_signed()

    def _has_to_be_paid(self):
        # Cartona collects the retailer's money: none is asked on the supplier's portal.
        return not self.is_marketplace_order and super()._has_to_be_paid()

    def _is_confirmation_amount_reached(self):
        # Nor does a payment made there (a payment link) confirm a Cartona order.
        return not self.is_marketplace_order and super()._is_confirmation_amount_reached()

    def _check_not_finished(self):
        """An order Odoo first saw delivered, returned or cancelled was dealt
        with outside Odoo: confirming it would deliver and invoice it again.
        The connector (importing such orders as live) and marketplace managers may."""
        if self.env.su or self.env.user.has_group(MANAGER_GROUP):
            return
        finished = self.sudo().filtered(
            lambda o: o.state in ("draft", "sent") and statuses.is_final(o.marketplace_status)
        )
        if finished:
            raise UserError(
                self.env._(
                    "Cartona already closed %(orders)s (delivered, returned or cancelled before Odoo saw it): "
                    "confirming it would deliver and invoice it a second time. Ask a member of %(group)s.",
                    orders=", ".join(finished.mapped("name")),
                    group=self.env.ref(MANAGER_GROUP).sudo().full_name,
                )
            )

    def action_confirm(self):
        check_caller(self, "write")
        self._check_not_from_portal(self.env._("accepted"))
        self._check_not_finished()
        self._check_not_editing(self.env._("confirm"))
        result = super().action_confirm()
        self._marketplace_queue_status("approved")
        return result

    def action_cancel(self):
        check_caller(self, "write")
        self._check_not_editing(self.env._("cancel"))
        if not skips_marketplace_sync(self.env):
            without_reason = self.filtered(lambda o: o.is_marketplace_order and not o.cartona_cancellation_reason)
            if without_reason:
                # Cartona needs a reason to cancel: ask for it first.
                return {
                    "type": "ir.actions.act_window",
                    "name": self.env._("Why cancel on Cartona?"),
                    "res_model": "marketplace.cancel.wizard",
                    "view_mode": "form",
                    "target": "new",
                    "context": {"default_order_ids": self.ids},
                }
        return super().action_cancel()

    def _action_cancel(self):
        self._check_not_from_portal(self.env._("declined"))
        self._check_not_editing(self.env._("cancel"))
        # The open deliveries it cancels end no delivery (``stock.move._action_cancel``).
        # Kept with the transaction, not in the context, which any caller sets.
        cancelling = self.env.cr.precommit.data.setdefault(CANCELLING_KEY, set())
        cancelling.update(self.ids)
        try:
            result = super()._action_cancel()
        finally:
            cancelling.difference_update(self.ids)
        self._marketplace_queue_status("cancelled_by_supplier")
        return result

    def action_out_for_delivery(self):
        """The goods left the warehouse: Cartona shows the order as shipped."""
        check_caller(self, "write")
        not_confirmed = self.filtered(lambda o: o.state != "sale")
        if not_confirmed:
            raise UserError(self.env._("Confirm %s before sending it out.", ", ".join(not_confirmed.mapped("name"))))
        self._marketplace_queue_status("assigned_to_salesman")
        # Integrations press buttons over XML-RPC, which cannot carry None.
        return True

    def action_marketplace_sync_now(self):
        """Send the status Cartona has not accepted yet (after correcting the OTP, say)."""
        check_caller(self, "write", USER_GROUP)
        for order in self.filtered("is_marketplace_order"):
            status = order.marketplace_push_status or order._marketplace_status_from_odoo()
            if status:
                order._marketplace_queue_status(status)
        # And the lines Cartona refused or never got.
        self.env["marketplace.order.edit"]._push_later(self.filtered("is_marketplace_order"))
        return True

    def _marketplace_status_from_odoo(self):
        self.ensure_one()
        if self.state == "cancel":
            return "cancelled_by_supplier"
        if self.state != "sale":
            return None
        return "delivered" if self._marketplace_all_delivered() else "approved"

    def _marketplace_total_warning(self, total, when, amount=None):
        """The one check of a total against Cartona's: the sentence saying
        that Odoo's ``amount`` (the order's total by default) differs from
        Cartona's ``total_price`` ``total`` (``when``: "after the edit"), or
        None when they agree or Cartona gave none."""
        self.ensure_one()
        amount = self.amount_total if amount is None else amount
        if total is None or not self.currency_id.compare_amounts(amount, total):
            return None
        return f"The total of {self.name} ({amount:.2f}) differs from Cartona's total_price ({total:.2f}) {when}."

    def _marketplace_all_delivered(self):
        """The one rule of a delivered order, for the status push, the
        invoicing and the import's to-dos: every outgoing delivery is done or
        cancelled (a backorder dropped), and at least one is done."""
        self.ensure_one()
        outgoing = self.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing" and p.state != "cancel")
        return bool(outgoing) and all(p.state == "done" for p in outgoing)

    def _marketplace_pushes(self, status):
        """Whether ``status`` is news to Cartona for this order (decisions.md section 5)."""
        self.ensure_one()
        if not self.is_marketplace_order:
            return False
        if self.delivered_by == "delivered_by_cartona" and not statuses.is_cancelled(status):
            return False
        return statuses.is_news(self.marketplace_status, status)

    def _marketplace_queue_status(self, status):
        """Queue one push of ``status`` per order it is news to. What the
        import itself changes (``skip_marketplace_sync``) never echoes back."""
        if skips_marketplace_sync(self.env):
            return
        # The connector's bookkeeping, whoever triggers it (a warehouse user
        # who may not read the order): the job runs as that user, with sudo.
        for order in self.sudo().filtered(lambda o: o._marketplace_pushes(status)):
            config = order.marketplace_config_id
            order.write({"marketplace_push_status": status, "marketplace_sync_status": "syncing"})
            order.with_delay(
                max_retries=config.retry_attempts,
                priority=const.ORDER_JOB_PRIORITY,
                identity_key=identity_exact,
                description=f"Cartona status {status} for {order.name}",
            )._push_marketplace_status(status)

    def _marketplace_status_steps(self, status):
        """Statuses to send, in order: ``delivered`` is preceded by
        ``assigned_to_salesman`` when Cartona never got it."""
        return statuses.steps_to(self.marketplace_status, status)

    def _marketplace_status_payload(self, status):
        payload = {"hashed_id": self.cartona_id, "status": status}
        if status == "cancelled_by_supplier":
            payload["cancellation_reason"] = self.cartona_cancellation_reason
        return payload

    def _push_marketplace_status(self, status):
        """Job: send ``status`` to Cartona. OTP orders are delivered through the
        single-order endpoint, which fails loudly when the OTP is wrong."""
        self.ensure_one()
        if not self._marketplace_pushes(status):
            # An earlier job already sent this status, or a later one.
            return f"Cartona already has {self.marketplace_status}"
        config = self.marketplace_config_id
        api = self.env["marketplace.api"]
        steps = self._marketplace_status_steps(status)
        accepted = []
        otp_step = status == "delivered" and self.cartona_otp_required
        try:
            if otp_step:
                if not self.retailer_otp:
                    raise MarketplacePermanentError(
                        self.env._("Enter the retailer's OTP: Cartona needs it to mark %s delivered.", self.name)
                    )
                for step in steps:
                    extra = {"retailer_otp": self.retailer_otp} if step == "delivered" else {}
                    api._update_single_order_status(config, self.cartona_id, step, **extra)
                    accepted.append(step)
            else:
                answer = api._bulk_update_order_status(
                    config, [self._marketplace_status_payload(step) for step in steps]
                )
                self._marketplace_check_bulk_answer(answer)
        except MarketplaceError as exc:
            failure = self._marketplace_push_failure(exc)
            self._marketplace_record_push_error(failure, accepted[-1] if accepted else None)
            if otp_step and not isinstance(exc, MarketplaceRetryableError | MarketplaceAuthError):
                # Cartona refused the OTP (or none was entered): a person must ask the retailer.
                config._raise_alert(config._otp_alert_summary(self), failure, record=self, sale=self, detached=True)
            raise
        if otp_step:
            config._resolve_alert(
                config._otp_alert_summary(self), self.env._("Cartona accepted the OTP of %s.", self.name), record=self
            )
        self.sudo().with_context(skip_marketplace_sync=True).write(
            {"marketplace_status": status, "marketplace_sync_status": "synced", "marketplace_error_message": False}
        )
        message = f"Cartona status of {self.name} set to {', then '.join(steps)}"
        self.env["marketplace.sync.log"]._log_operation(
            self.marketplace_config_id.id, "status_sync", "success", message, res_model=self._name, res_id=self.id
        )
        return message

    def _marketplace_check_bulk_answer(self, answer):
        """The bulk endpoint reports per item, without an HTTP error; the items
        are read as the products' are (``answers.item_refusal``). The request
        is about this order only: an item naming no order is about it.

        The last item answers the status the push is for. A step before it
        that Cartona refused while taking the last one is moot: Cartona is
        past that step already (an earlier attempt applied, its answer lost)."""
        items = answer.get("data") if answer.get("success") else None
        if not answer.get("success"):
            raise MarketplacePermanentError(answer.get("error") or "Cartona refused the status update")
        refusals = [
            item_refusal(item)
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and item.get("hashed_id") in (None, self.cartona_id)
        ]
        if refusals and refusals[-1]:
            raise MarketplacePermanentError(refusals[-1])

    def _push_order_edits(self):
        """Job: send Cartona the supplier's edits of this order's lines."""
        self.ensure_one()
        return self.env["marketplace.order.edit"]._push(self)

    def _marketplace_push_failure(self, exc):
        """What the order shows of a failed push: the reason, and whether the
        job runner tries again by itself. When queue_job gives up after the
        last attempt, ``_marketplace_push_given_up`` says so."""
        if isinstance(exc, MarketplaceRetryableError):
            return self.env._("%s\nOdoo tries again by itself.", exc)
        return self.env._('%s\nNot retried: correct what Cartona refused, then press "Sync to Cartona".', exc)

    def _marketplace_push_given_up(self):
        """queue_job failed the status push for good, its attempts spent: the
        order says what a person does now."""
        for order in self.sudo().filtered(lambda o: o.marketplace_sync_status == "error"):
            reason = (order.marketplace_error_message or "").split("\n")[0]
            order.marketplace_error_message = self.env._(
                '%s\nNo attempt left: press "Sync to Cartona" to try again.', reason
            )

    def _marketplace_record_push_error(self, message, accepted=None):
        """Shown on the order even though the failing job is rolled back, with
        the step Cartona accepted before the failure (out for delivery, when
        the OTP of the delivery is refused)."""
        vals = {"marketplace_sync_status": "error", "marketplace_error_message": message}
        if accepted:
            vals["marketplace_status"] = accepted
        self.env["marketplace.sync.log"]._write_detached(self, vals)
