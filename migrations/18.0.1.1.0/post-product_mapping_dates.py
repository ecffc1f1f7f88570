"""Waiting orders are replayed when a product's Cartona mapping changed after
they were last tried. Before, a write of any kind counted: the mapped products'
last write stands for their mapping date, so that a mapping made just before
the upgrade still brings its waiting orders in (at worst one needless replay)."""


def migrate(cr, version):
    cr.execute(
        """UPDATE product_product SET cartona_mapping_date = write_date
            WHERE cartona_mapping_date IS NULL
              AND (cartona_id IS NOT NULL OR cartona_internal_id IS NOT NULL)"""
    )
