def migrate(cr, version):
    """A line imported before has Cartona's amount as its quantity (both in
    Cartona's unit): it is what Cartona has, and nothing is sent for it until
    a user changes it."""
    cr.execute(
        """
        UPDATE sale_order_line
           SET cartona_amount = product_uom_qty
         WHERE cartona_line_id IS NOT NULL
           AND cartona_amount IS NULL
        """
    )
