"""Lines imported from Cartona keep Cartona's price: mark the lines imported
before. The connector has always written a line's Cartona facts, the supplier
discount among them (0.0 when none), which a line added by hand never has."""


def migrate(cr, version):
    cr.execute(
        """UPDATE sale_order_line l SET cartona_imported = TRUE
             FROM sale_order o
            WHERE o.id = l.order_id
              AND o.marketplace_config_id IS NOT NULL
              AND l.display_type IS NULL
              AND l.cartona_supplier_discount IS NOT NULL"""
    )
