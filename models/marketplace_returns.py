from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero

from .. import const

RETURN_SUMMARY = "Cartona: receive the returned goods"


class MarketplaceReturns(models.AbstractModel):
    """Cartona's ``returned``: the retailer refused the goods at the door.

    Before the delivery is validated, the order is called off: its delivery
    cancelled, the reservation released (and the free stock published
    again), any invoice credited. After, Odoo's own return of what was
    delivered is prepared and waits for the warehouse: stock comes back when
    it is received, and the money follows what was received.

    Runs as the connector (``sudo``), called in the invoicing's savepoint."""

    _name = "marketplace.returns"
    _description = "Cartona Returns"

    @api.model
    def _on_returned(self, sale):
        sale = sale.sudo().with_context(skip_marketplace_sync=True)
        invoicing = self.env["marketplace.invoicing"]
        if sale.state == "cancel":
            # The state mapping cancelled it already (``returned`` mapped to cancel): the money follows.
            invoicing._reverse(sale)
            return
        if sale.state != "sale":
            return
        outgoing = sale.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing")
        delivered = outgoing.filtered(lambda p: p.state == "done")
        if not delivered:
            # Nothing reached the retailer: the order is off, like a cancellation.
            sale._action_cancel()
            invoicing._reverse(sale)  # an invoice made at confirmation
            message = f"Cartona returned {sale.name} before its delivery was validated: order cancelled, stock freed"
        else:
            # What was not delivered yet is not going either.
            outgoing.filtered(lambda p: p.state not in ("done", "cancel")).action_cancel()
            returns = self._prepare_returns(delivered)
            if not returns:
                return  # everything delivered has its return already (Cartona said it twice)
            message = (
                f"Cartona returned {sale.name} (reason: {sale.cartona_return_reason or 'none given'}): "
                f"receive {', '.join(returns.mapped('name'))} when the goods are back; "
                "the credit note follows what is received."
            )
            config = sale.marketplace_config_id
            config._schedule_activity(sale, RETURN_SUMMARY, message, sale=sale)
        invoicing._log(sale, "success", message)

    @api.model
    def _prepare_returns(self, pickings):
        """Odoo's return (its "Return" wizard) of everything delivered and not
        returned yet, decreasing the order's delivered quantities when received."""
        returns = self.env["stock.picking"]
        for picking in pickings:
            wizard = self.env["stock.return.picking"].create({"picking_id": picking.id})
            for line in wizard.product_return_moves:
                move = line.move_id
                returned = sum(move.returned_move_ids.filtered(lambda m: m.state != "cancel").mapped("product_qty"))
                line.write(
                    {
                        "quantity": move.product_uom._compute_quantity(move.quantity, move.product_id.uom_id)
                        - returned,
                        "to_refund": True,
                    }
                )
            wizard.product_return_moves.filtered(
                lambda line: float_is_zero(line.quantity, precision_rounding=line.uom_id.rounding) or line.quantity < 0
            ).unlink()
            if wizard.product_return_moves:
                returns |= wizard._create_return()
        return returns

    @api.model
    def _on_received(self, pickings):
        """Returns of returned Cartona orders received: the money follows."""
        invoicing = self.env["marketplace.invoicing"]
        # A return's backorder is a copy, without ``return_id``: its moves still name what they return.
        received = pickings.sudo().filtered(
            lambda p: p.picking_type_code == "incoming" and (p.return_id or p.move_ids.origin_returned_move_id)
        )
        for sale in received.sale_id.filtered(
            lambda o: o.is_marketplace_order and o.marketplace_status in const.RETURNED_STATUSES
        ):
            invoicing._run_safely(sale, self._credit_received)
            still = sale.picking_ids.filtered(
                lambda p: p.picking_type_code == "incoming" and p.state not in ("done", "cancel")
            )
            if not still:
                config = sale.marketplace_config_id
                config._resolve_alert(RETURN_SUMMARY, f"The return of {sale.name} is received.", record=sale)

    @api.model
    def _credit_received(self, sale):
        """Everything back: the whole invoice credited, Cartona's bookings
        reversed. Part of it: a credit note of what came back (Odoo's own,
        from the delivered quantities) and Cartona's bookings reversed in the
        same proportion."""
        invoicing = self.env["marketplace.invoicing"]
        booked = invoicing._bookings(sale)
        invoice = booked.get("invoice")
        if not invoice:
            return
        if invoice.state != "posted" or "refund" in booked:
            # A second part of the return, or an invoice still in draft: one
            # credit note per order is the connector's; the rest is a person's.
            raise UserError(
                self.env._(
                    "Goods of %s came back after its credit note, or its invoice is not posted: "
                    "credit what came back by hand.",
                    sale.name,
                )
            )
        goods = sale.order_line.filtered(lambda line: line.qty_delivered_method == "stock_move")
        if all(float_is_zero(line.qty_delivered, precision_rounding=line.product_uom.rounding) for line in goods):
            invoicing._reverse(sale)
            return
        refund = sale.with_company(sale.company_id)._create_invoices(final=True)
        if refund.move_type != "out_refund":
            # Something else is left to invoice with it: a person sorts the two out.
            raise UserError(
                self.env._("%s has more to invoice than the goods that came back: credit them by hand.", sale.name)
            )
        refund.write({"cartona_sale_order_id": sale.id, "cartona_move_kind": "refund"})
        refund.action_post()
        ratio = refund.amount_total / invoice.amount_total if invoice.amount_total else 0.0
        for kind in ("cartona_share", "cartona_discount", "top_up"):
            if booked.get(kind):
                invoicing._reverse_part(sale, booked[kind], ratio)
        retailer = invoice.commercial_partner_id
        share_reversal = invoicing._bookings(sale).get("cartona_share_reversal", refund)
        (invoice | refund | share_reversal).line_ids.filtered(
            lambda line: line.account_type == "asset_receivable" and line.partner_id == retailer and not line.reconciled
        ).reconcile()
        invoicing._log_credited(sale)
