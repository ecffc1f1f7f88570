"""What the connector records at run time left the configuration row (one
writer per row, decisions §8): the pull's watermark, walk cursor and counters
and the product sync's last full run move to ``marketplace.sync.state``; the
connection status and last error are read from the sync log, so they become
log lines. The old columns stay in the table after the upgrade: read with SQL."""

from odoo.tools import SQL
from odoo.tools.sql import column_exists

STATE_COLUMNS = {
    "order_pull": (
        "last_pull_date",
        "pull_next_page",
        "pull_walk_started",
        "pull_walk_from",
        "total_orders_pulled",
        "last_sync_date",
    ),
    "product_sync": ("last_reconciliation_date",),
}


def migrate(cr, version):
    for concern, columns in STATE_COLUMNS.items():
        columns = [SQL.identifier(name) for name in columns if column_exists(cr, "marketplace_config", name)]
        if not columns:
            continue
        cr.execute(
            SQL(
                """INSERT INTO marketplace_sync_state
                       (marketplace_config_id, concern, %(columns)s, create_uid, create_date, write_uid, write_date)
                   SELECT id, %(concern)s, %(columns)s, 1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
                     FROM marketplace_config
                   ON CONFLICT (marketplace_config_id, concern) DO NOTHING""",
                columns=SQL(", ").join(columns),
                concern=concern,
            )
        )
    if not column_exists(cr, "marketplace_config", "connection_status"):
        return
    # The connection status as a connection test's log line, then the last
    # error, unless a log line (that one included) already says it.
    cr.execute(
        """INSERT INTO marketplace_sync_log
               (marketplace_config_id, operation_type, status, message, create_uid, create_date, write_uid, write_date)
           SELECT id, 'connection_test',
                  CASE connection_status WHEN 'error' THEN 'error' ELSE 'success' END,
                  CASE connection_status WHEN 'error' THEN COALESCE(connection_message, last_error, 'Connection failed')
                       ELSE 'Connected (before the upgrade)' END,
                  1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
             FROM marketplace_config
            WHERE connection_status IN ('connected', 'error')
            ORDER BY id"""
    )
    cr.execute(
        """INSERT INTO marketplace_sync_log
               (marketplace_config_id, operation_type, status, message, create_uid, create_date, write_uid, write_date)
           SELECT c.id, 'api_call', 'error', c.last_error, 1, now() AT TIME ZONE 'UTC', 1, now() AT TIME ZONE 'UTC'
             FROM marketplace_config c
            WHERE c.last_error IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM marketplace_sync_log l
                               WHERE l.marketplace_config_id = c.id AND l.status = 'error' AND l.message = c.last_error)
            ORDER BY c.id"""
    )
