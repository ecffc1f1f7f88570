import contextlib
import contextvars
import logging
from datetime import timedelta

import psycopg2

from odoo import SUPERUSER_ID, api, fields, models
from odoo.tools.sql import create_index

from .. import const
from ..cartona import payloads

_logger = logging.getLogger(__name__)

# The cursor whose detached writes go to its own transaction for a while (``_attached``).
_ATTACHED_CURSOR = contextvars.ContextVar("marketplace_attached_cursor", default=None)

LOG_LEVELS = {"success": logging.INFO, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class MarketplaceSyncLog(models.Model):
    _name = "marketplace.sync.log"
    _description = "Marketplace Sync Log"
    _order = "id desc"
    _rec_name = "message"

    marketplace_config_id = fields.Many2one("marketplace.config", string="Marketplace", index=True, ondelete="cascade")
    operation_type = fields.Selection(
        [
            ("connection_test", "Connection test"),
            ("order_pull", "Order pull"),
            ("order_process", "Order processing"),
            ("order_skipped", "Order not imported (before going live)"),
            ("order_ack", "Order acknowledgement"),
            ("status_sync", "Order status sync"),
            ("order_edit", "Order edit"),
            ("product_sync", "Product sync"),
            ("stock_sync", "Stock sync"),
            ("invoicing", "Invoicing"),
            ("catalogue_read", "Catalogue read"),
            ("api_call", "API call"),
            ("cleanup", "Cleanup"),
        ],
        required=True,
        index=True,
    )
    status = fields.Selection(
        [("success", "Success"), ("info", "Info"), ("warning", "Warning"), ("error", "Error")],
        required=True,
        default="info",
        index=True,
    )
    message = fields.Text(required=True)
    error_details = fields.Text()
    records_processed = fields.Integer()
    # A model name + id, never a foreign key: the record may belong to the
    # transaction that is failing while this log is written elsewhere.
    res_model = fields.Char("Related Model")
    res_id = fields.Many2oneReference("Related Record", model_field="res_model")
    endpoint = fields.Char()
    status_code = fields.Integer("HTTP Status")
    duration_ms = fields.Integer("Duration (ms)")

    def init(self):
        # What the configuration and the dashboard read: the latest log of a
        # kind, per configuration, and the logs of a configuration by day.
        for name, columns, where in (
            ("config_operation_id", ["marketplace_config_id", "operation_type", "id"], ""),
            ("config_status_id", ["marketplace_config_id", "status", "id"], ""),
            ("config_create_date", ["marketplace_config_id", "create_date"], ""),
            (
                "config_auth_failed_id",
                ["marketplace_config_id", "id"],
                f"status_code IN ({', '.join(str(code) for code in const.AUTH_FAILED_STATUSES)})",
            ),
        ):
            create_index(self.env.cr, f"{self._table}_{name}_index", self._table, columns, where=where)

    @api.model
    def _latest(self, config, domain):
        """The latest log of ``config`` matching ``domain``: one index lookup
        whatever the number of logs."""
        return self.search([("marketplace_config_id", "=", config.id), *domain], order="id desc", limit=1)

    @api.model
    def _log_operation(
        self,
        marketplace_config_id=None,
        operation_type="api_call",
        status="info",
        message="",
        **values,
    ):
        """Record one operation; returns the new log's id.

        Written through its own cursor, so a log about a failure survives the
        rollback of the transaction that failed.
        """
        return self._log_operations(
            marketplace_config_id, operation_type, [dict(values, status=status, message=message)]
        )[0]

    @api.model
    def _log_operations(self, marketplace_config_id, operation_type, entries):
        """Record several operations at once, in one transaction of their own
        (see ``_log_operation``); ``entries`` are dicts with ``status``,
        ``message`` and other fields. Returns the new logs' ids."""
        if not entries:
            return []
        vals_list = []
        for entry in entries:
            # Cartona's words may carry characters PostgreSQL refuses (NUL): escaped here, once for every log.
            vals = dict(
                entry,
                marketplace_config_id=marketplace_config_id,
                operation_type=operation_type,
                status=entry.get("status") or "info",
                message=payloads.escaped(str(entry.get("message") or "-")),
            )
            if vals.get("error_details"):
                vals["error_details"] = payloads.escaped(str(vals["error_details"]))
            _logger.log(
                LOG_LEVELS.get(vals["status"], logging.INFO),
                "Marketplace %s [%s]: %s",
                operation_type,
                vals["status"],
                vals["message"],
            )
            vals_list.append(vals)

        def create(env):
            if marketplace_config_id:
                # A configuration this transaction created is not visible from
                # the other cursor: the log then goes with its configuration.
                env.cr.execute("SELECT 1 FROM marketplace_config WHERE id = %s", [marketplace_config_id])
                if not env.cr.fetchone():
                    return None
            return env[self._name].create(vals_list).ids

        log_ids = self._run_detached(create) or self.sudo().create(vals_list).ids
        if marketplace_config_id:
            # The configuration reads its last error and connection status here.
            self.env["marketplace.config"].browse(marketplace_config_id).invalidate_recordset(
                ["last_error", "connection_status", "connection_message"]
            )
        return log_ids

    @api.model
    def _run_detached(self, func):
        """Run ``func(env)`` in a transaction of its own and commit it.

        Falls back to the current transaction when the other cursor would wait
        on a row that this transaction holds (it would never get it), and
        inside ``_attached``.
        """
        if _ATTACHED_CURSOR.get() is self.env.cr:
            return func(self.env(su=True))
        try:
            with self.env.registry.cursor() as cr:
                cr.execute("SET LOCAL lock_timeout = '3s'")
                # Keep the environment referenced until it is flushed: Odoo
                # tracks environments weakly.
                env = api.Environment(cr, SUPERUSER_ID, {})
                result = func(env)
                env.flush_all()
            return result
        except psycopg2.Error as exc:
            # The row is locked by this transaction, or a row it points at is
            # not committed yet: write here rather than lose the record.
            _logger.warning("Marketplace record written in the current transaction: %s", exc.pgerror or exc)
            return func(self.env(su=True))

    @api.model
    @contextlib.contextmanager
    def _attached(self):
        """Detached writes made inside go to the current transaction. For
        work that, when it rolls back, is done again piece by piece in
        savepoints (a page of orders processed together): the replay writes
        them apart; written apart the first time too, they would be there twice."""
        token = _ATTACHED_CURSOR.set(self.env.cr)
        try:
            yield
        finally:
            _ATTACHED_CURSOR.reset(token)

    @api.model
    def _write_detached(self, records, vals):
        """Write ``vals`` on ``records`` so that it survives the current
        transaction's rollback (an error status on a failing job, say)."""
        # A pending write of ours would land after, and undo, the detached one.
        records.flush_recordset()
        model, ids = records._name, records.ids
        self._run_detached(lambda env: env[model].browse(ids).write(vals))
        records.invalidate_recordset(list(vals))

    @api.model
    def _cleanup_old_logs(self, days=30, batch_size=5000):
        """Delete logs older than ``days``, in batches to keep locks short."""
        limit = fields.Datetime.now() - timedelta(days=days)
        total = 0
        while True:
            logs = self.sudo().search([("create_date", "<", limit)], limit=batch_size)
            if not logs:
                break
            total += len(logs)
            logs.unlink()
        if total:
            _logger.info("Deleted %s marketplace sync logs older than %s days", total, days)
        return total
