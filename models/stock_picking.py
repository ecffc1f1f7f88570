from odoo import models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def button_validate(self):
        self.sale_id._check_not_editing(self.env._("deliver"))
        return super().button_validate()
