"""A configuration already live keeps importing every order as before: its
"Import Orders From" becomes its creation date, before any order it pulled
(orders waiting in Odoo import whatever their date). One that never pulled
keeps it empty, so that its first pull sets it as for a new configuration."""


def migrate(cr, version):
    cr.execute(
        """INSERT INTO marketplace_sync_state
               (marketplace_config_id, concern, import_orders_from, create_uid, create_date, write_uid, write_date)
           SELECT c.id, 'order_pull', c.create_date, 1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
             FROM marketplace_config c
            WHERE EXISTS (SELECT 1 FROM marketplace_sync_state s
                           WHERE s.marketplace_config_id = c.id AND s.concern = 'order_pull'
                             AND (s.last_pull_date IS NOT NULL OR s.last_sync_date IS NOT NULL))
               OR EXISTS (SELECT 1 FROM sale_order o WHERE o.marketplace_config_id = c.id)
               OR EXISTS (SELECT 1 FROM marketplace_parked_order p WHERE p.marketplace_config_id = c.id)
           ON CONFLICT (marketplace_config_id, concern) DO UPDATE
              SET import_orders_from = EXCLUDED.import_orders_from
            WHERE marketplace_sync_state.import_orders_from IS NULL"""
    )
