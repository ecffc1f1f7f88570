import json

from odoo import api, fields, models

from ..cartona import payloads


class MarketplaceParkedOrder(models.Model):
    """A Cartona order that cannot be imported yet: a product is not mapped,
    or the order failed.

    Its last payload is kept so that it is imported as soon as the product is
    mapped, even if Cartona does not send the order again; and the pull window
    reaches back to it until then.
    """

    _name = "marketplace.parked.order"
    _description = "Parked Marketplace Order"
    _order = "first_seen desc, id desc"
    _rec_name = "cartona_id"

    marketplace_config_id = fields.Many2one("marketplace.config", required=True, ondelete="cascade", index=True)
    cartona_id = fields.Char("Cartona Order ID", required=True, readonly=True)
    payload = fields.Text(readonly=True)
    reason = fields.Text(readonly=True)
    first_seen = fields.Datetime(readonly=True, default=fields.Datetime.now)
    last_seen = fields.Datetime(readonly=True, default=fields.Datetime.now)

    _sql_constraints = [
        ("cartona_id_unique", "UNIQUE(marketplace_config_id, cartona_id)", "This order is already parked."),
    ]

    @api.model
    def _park(self, config, hashed_id, data, reason, kind, log_message=None):
        """Keep the order's payload, waiting because it ``kind`` ("failed",
        "unmapped": ``_todo_summaries``). Keeping it out of the acknowledgement
        keeps the pull window open on it until it imports. It is logged
        (``log_message``, else the reason) and a person told once, when its
        payload is new or changed: the same payload at every pull is not."""
        parked = self._of(config, hashed_id)
        payload = payloads.dump(data)
        vals = {"payload": payload, "reason": reason, "last_seen": fields.Datetime.now()}
        if parked:
            changed = parked.payload != payload
            parked.write(vals)
        else:
            parked, changed = self.create(dict(vals, marketplace_config_id=config.id, cartona_id=hashed_id)), True
            # Tell a person once, not at every pull: the salesperson of the order
            # when it was imported before, else the configuration's responsible.
            sale = self.env["marketplace.order.processor"]._find_existing_order(config, hashed_id)
            config._raise_alert(self._todo_summaries(hashed_id)[kind], reason, sale=sale)
        if changed:
            self.env["marketplace.order.processor"]._log(
                config,
                "error",
                log_message or reason,
                res_model=self._name,
                res_id=parked.id,
                error_details=payload[:4000] if kind == "failed" else None,
            )
        return parked

    @api.model
    def _release(self, config, hashed_id):
        parked = self._of(config, hashed_id)
        if not parked:
            return
        # The order is imported: its to-do is done.
        for summary in self._todo_summaries(hashed_id).values():
            config._resolve_alert(summary, self.env._("Cartona order %s imported.", hashed_id))
        parked.unlink()

    @api.model
    def _of(self, config, *hashed_ids):
        return self.search([("marketplace_config_id", "=", config.id), ("cartona_id", "in", list(hashed_ids))])

    @api.model
    def _todo_summaries(self, hashed_id):
        """The to-dos a waiting order raises, by why it waits."""
        return {
            "failed": self.env._("Cartona order %s could not be imported", hashed_id),
            "unmapped": self.env._("Map the products of Cartona order %s", hashed_id),
        }

    def _replay(self, fetched=False, live=False):
        """Try the kept payloads again; an order imported this way is acknowledged
        only when Cartona sends it again (it may have changed since). A person
        who fetches an order (``fetched``, ``live``) imports it as a fetch does."""
        stats = {}
        for config in self.marketplace_config_id:
            parked = self.filtered(lambda p, c=config: p.marketplace_config_id == c)
            orders = [json.loads(p.payload) for p in parked]
            stats[config.id], _ack = self.env["marketplace.order.processor"]._process_page(
                config, orders, replay=True, fetched=fetched, live=live
            )
        return stats
