def migrate(cr, version):
    """Orders imported before: the discounts Cartona funds, from their lines
    (Cartona's discount per piece times the quantity imported)."""
    cr.execute(
        """
        UPDATE sale_order so
           SET cartona_discount_total = totals.amount
          FROM (
                SELECT order_id, SUM(cartona_discount * product_uom_qty) AS amount
                  FROM sale_order_line
                 WHERE cartona_imported AND cartona_discount > 0
              GROUP BY order_id
               ) totals
         WHERE totals.order_id = so.id AND so.marketplace_config_id IS NOT NULL
        """
    )
