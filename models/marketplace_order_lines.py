from odoo import Command, api, models
from odoo.tools import float_round

from ..cartona import payloads, statuses

# The to-dos of a change of Cartona's lines that Odoo does not apply (``_held_lines``).
HELD_EDIT_SUMMARY = "Cartona changed an order while an edit was on its way"
HELD_CONFIRMED_SUMMARY = "Cartona changed a confirmed order"


class MarketplaceOrderLines(models.AbstractModel):
    """Cartona's lines on an Odoo order: the product each names, the line
    values, whether Cartona's lines changed, the changes Odoo holds back
    (with their to-dos), and Cartona's total compared with Odoo's."""

    _name = "marketplace.order.lines"
    _description = "Marketplace Order Lines"

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
        known = self._known_line(line, sale)
        return known.product_id[:1] or None

    @api.model
    def _known_line(self, line, sale=None):
        """The line of ``sale`` Odoo holds for Cartona's ``line`` (its Cartona line id), if any."""
        if not (sale and line.line_id):
            return self.env["sale.order.line"]
        return sale.order_line.filtered(lambda sol: sol.cartona_line_id == line.line_id)[:1]

    @api.model
    def _missing_products(self, order, page, sale=None):
        return [line for line in order.lines if self._match_product(line, page, sale) is None]

    @api.model
    def _prepare_line_vals(self, line, page, sale=None):
        product = self._match_product(line, page, sale)
        # A line Odoo holds keeps the taxes it was imported with (an order of
        # a version that used the configuration's): Cartona's same price is no change.
        known = self._known_line(line, sale)
        taxes = known.tax_id if known else None
        return dict(
            page.line_defaults,
            product_id=product.id,
            product_uom=product.cartona_uom_id.id or product.uom_id.id,
            product_uom_qty=line.amount,
            # Written with the quantity: Odoo recomputes a price it did not see set.
            # Taxes: the product's own; a price-excluded one brings the unit price back.
            **self.env["marketplace.invoicing"]._line_prices(page.config, product, line.price, line.amount, taxes),
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
        message = sale._marketplace_total_warning(order.total_price, f"for order {order.number}")
        if message:
            sale.message_post(body=message)
            self.env["marketplace.order.processor"]._log(sale.marketplace_config_id, "warning", message, sale)

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
        if not order.lines or sale.state == "cancel" or statuses.is_cancelled(order.status):
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
    def _held_since(self, config):
        """When the oldest change of Cartona's lines that Odoo holds back (an
        open to-do of ``_held_lines``) was first seen: the pull window reaches
        back to it, so that the order comes back until Odoo has its lines."""
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
    def _release_held(self, config, sale, order):
        """Nothing of Cartona's lines is held now: the to-dos of a held change are done."""
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
