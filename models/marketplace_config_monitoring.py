from collections import defaultdict
from datetime import datetime, time

import pytz

from odoo import api, fields, models
from odoo.tools import plaintext2html

from .. import const
from ..access import MANAGER_GROUP, USER_GROUP, check_caller

# queue.job states of a job still to run.
PENDING_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")
# The products whose publication Cartona refused or could not take.
ERROR_PRODUCTS_DOMAIN = [("cartona_id", "!=", False), ("marketplace_sync_status", "=", "error")]


class MarketplaceConfig(models.Model):
    """The dashboard's figures, the alerts that need a person, and the
    recovery buttons of a configuration."""

    _inherit = "marketplace.config"

    orders_today_count = fields.Integer("Orders Imported Today", compute="_compute_dashboard")
    skipped_order_count = fields.Integer(
        "Orders Not Imported",
        compute="_compute_dashboard",
        help="Orders Cartona last changed before Import Orders From: acknowledged and logged, not imported "
        "(over the sync logs kept, 30 days).",
    )
    error_product_count = fields.Integer("Products in Error", compute="_compute_dashboard")
    failed_job_count = fields.Integer("Failed Jobs", compute="_compute_dashboard")
    pending_job_count = fields.Integer("Pending Jobs", compute="_compute_dashboard")
    last_pull_status = fields.Selection(
        [("success", "Success"), ("info", "Info"), ("warning", "Warning"), ("error", "Error")],
        compute="_compute_dashboard",
        help="Outcome of the last pull that found something to say.",
    )
    last_pull_message = fields.Text(compute="_compute_dashboard")
    last_publication_date = fields.Datetime(
        "Last Stock/Price Publication",
        compute="_compute_dashboard",
        help="When Cartona last took a publication of prices or stock.",
    )

    # Figures -----------------------------------------------------------------

    def _compute_dashboard(self):
        logs = self.env["marketplace.sync.log"]
        # A count, not the orders: as the connector, for those who may not read them.
        orders = self.sudo()._aggregate_per_config(
            "sale.order", "__count", [("create_date", ">=", self._today_start())]
        )
        errors = dict(self.env["product.product"]._read_group(ERROR_PRODUCTS_DOMAIN, ["company_id"], ["__count"]))
        skipped = self._aggregate_per_config(
            "marketplace.sync.log", "records_processed:sum", [("operation_type", "=", "order_skipped")]
        )
        failed = self._connector_jobs_by_config(["failed"])
        pending = self._connector_jobs_by_config(PENDING_JOB_STATES)
        for config in self:
            # Latest rows by index, one configuration at a time: a year of logs
            # costs what a day does (scripts/bench_dashboard.py).
            pull = logs._latest(config, [("operation_type", "=", "order_pull")])
            published = max(
                (
                    logs._latest(config, [("operation_type", "=", operation), ("status", "in", ("success", "warning"))])
                    for operation in ("product_sync", "stock_sync")
                ),
                key=lambda log: log.id,
            )
            config.orders_today_count = orders.get(config, 0)
            config.skipped_order_count = skipped.get(config, 0)
            config.error_product_count = sum(
                count for company, count in errors.items() if not company or company == config.company_id
            )
            config.failed_job_count = len(failed.get(config.id, ()))
            config.pending_job_count = len(pending.get(config.id, ()))
            config.last_pull_status = pull.status
            config.last_pull_message = pull.message
            config.last_publication_date = published.create_date

    def _today_start(self):
        """Midnight of the user's today, in UTC as stored."""
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        midnight = tz.localize(datetime.combine(fields.Date.context_today(self), time.min))
        return midnight.astimezone(pytz.utc).replace(tzinfo=None)

    def _connector_jobs_by_config(self, states):
        """``{config id: queue.job}`` of the connector's jobs in ``states``.
        Jobs are the connector's plumbing, read as superuser; who sees them is
        decided by the actions below."""
        jobs = self.env["queue.job"].sudo().search([("state", "in", list(states)), ("channel", "=", const.JOB_CHANNEL)])
        by_config = defaultdict(lambda: self.env["queue.job"].sudo())
        for job in jobs:
            by_config[job._marketplace_config_id()] |= job
        return by_config

    def _connector_jobs(self, states):
        self.ensure_one()
        return self._connector_jobs_by_config(states)[self.id]

    # What each figure opens ---------------------------------------------------

    def action_view_orders_today(self):
        check_caller(self, "read", USER_GROUP)
        self.env["sale.order"].check_access("read")
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("cartona_marketplace.action_marketplace_orders")
        action["domain"] = [("marketplace_config_id", "=", self.id), ("create_date", ">=", self._today_start())]
        return action

    def action_view_skipped_orders(self):
        action = self.action_view_sync_logs()
        action["domain"] = [*action["domain"], ("operation_type", "=", "order_skipped")]
        return action

    def action_view_error_products(self):
        check_caller(self, "read", USER_GROUP)
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Products in error"),
            "res_model": "product.product",
            "view_mode": "list,form",
            "domain": [*ERROR_PRODUCTS_DOMAIN, ("company_id", "in", [False, self.company_id.id])],
        }

    def action_view_error_logs(self):
        action = self.action_view_sync_logs()
        action["domain"] = [*action["domain"], ("status", "=", "error")]
        return action

    def action_view_failed_jobs(self):
        return self._action_view_jobs(["failed"], self.env._("Failed Cartona jobs"))

    def action_view_pending_jobs(self):
        return self._action_view_jobs(PENDING_JOB_STATES, self.env._("Pending Cartona jobs"))

    def _action_view_jobs(self, states, name):
        check_caller(self, "read", MANAGER_GROUP)
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": "queue.job",
            "view_mode": "list,form",
            "domain": [("id", "in", self._connector_jobs(states).ids)],
            "context": {"create": False},
        }

    # Recovery -----------------------------------------------------------------

    def action_fetch_order(self):
        check_caller(self, "write", MANAGER_GROUP)
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Fetch Cartona orders"),
            "res_model": "marketplace.fetch.order.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_marketplace_config_id": self.id},
        }

    def action_publish_all_products(self):
        """Send every mapped, published product's price and stock to this
        marketplace now, changed or not, through its pending publications."""
        check_caller(self, "write", MANAGER_GROUP)
        self.ensure_one()
        products = (
            self.env["product.product"]
            .sudo()
            .search([("cartona_id", "!=", False), ("marketplace_sync_enabled", "=", True)])
        )
        count = self.env["marketplace.publication"]._add(self, products, const.SYNC_PARTS, force=True)
        return self._notify(
            self.env._("Publication queued"),
            self.env._("%s products will be published to Cartona.", count),
            "success",
        )

    # Alerts -------------------------------------------------------------------

    def _raise_alert(self, summary, note, record=None, sale=None, detached=False):
        """A problem that needs a person: one to-do (on ``record``, else the
        configuration) and a message on the configuration, once per problem.
        ``detached`` writes them so that they survive the rollback of the
        failing transaction (a job that fails)."""
        self.ensure_one()
        record = record or self
        config_id, model, res_id, sale_id = self.id, record._name, record.id, sale.id if sale else False

        def raise_alert(env):
            config, target = env["marketplace.config"].browse(config_id), env[model].browse(res_id)
            if not (config.exists() and target.exists()):
                # Created by the transaction that fails, so not visible from
                # the other cursor: the alert goes with them.
                return False
            if config._schedule_activity(target, summary, note, sale=env["sale.order"].browse(sale_id)):
                config.message_post(body=note, subject=summary)
            return True

        if not (detached and self.env["marketplace.sync.log"]._run_detached(raise_alert)):
            raise_alert(self.env(su=True))

    def _has_alert(self, summary, record=None):
        """The open to-do of ``summary`` on ``record`` (else the configuration), if any."""
        self.ensure_one()
        return (record or self).sudo().activity_ids.filtered(lambda activity: activity.summary == summary)

    def _resolve_alert(self, summary, feedback, record=None):
        """The problem is gone: its to-do is marked done, and the configuration says so."""
        self.ensure_one()
        record = (record or self).sudo()
        todo = self._has_alert(summary, record)
        if not todo:
            return
        todo.action_feedback(feedback=feedback)
        if record != self:
            self.sudo().message_post(body=feedback, subject=summary)

    def _token_alert_summary(self):
        return self.env._("Cartona refused the token of %s", self.name)

    def _otp_alert_summary(self, order):
        return self.env._("Cartona refused the OTP of %s", order.name)

    def _delivery_alert_summary(self):
        return self.env._("Validate the delivery by hand")

    def _job_alert_summary(self, method_name):
        return self.env._("Cartona jobs failed for good: %s", const.JOB_LABELS.get(method_name, method_name))

    # To-dos -------------------------------------------------------------------

    @api.model
    def _default_responsible(self):
        """Who creates the configuration; the administrator when that is
        OdooBot (a script, the upgrade)."""
        if self.env.user._is_superuser() or self.env.user.share:
            return self.env.ref("base.user_admin", raise_if_not_found=False) or self.env.user
        return self.env.user

    def _activity_user(self, record, sale=None):
        """The order's salesperson, else the responsible user: a person who
        may read ``record`` (Odoo refuses an activity to anyone else), never OdooBot."""
        self.ensure_one()
        for user in (sale.user_id if sale else self.env["res.users"], self.responsible_id):
            if user.active and not user.share and not user._is_superuser():
                as_user = record.with_user(user).with_context(allowed_company_ids=user.company_ids.ids)
                if as_user.has_access("read"):
                    return user
        return self.responsible_id

    def _schedule_activity(self, record, summary, note, sale=None):
        """One to-do per problem: an open activity with the same summary on
        the same record is not raised again at the next retry or pull.
        Returns the new activity, if any."""
        self.ensure_one()
        if record.activity_ids.filtered(lambda activity: activity.summary == summary):
            return None
        # The note is plain text that may quote Cartona (a product's name): shown as written, never as HTML.
        return record.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=summary,
            note=plaintext2html(note),
            user_id=self._activity_user(record, sale).id,
        )

    def action_requeue_failed_jobs(self):
        """Put this marketplace's failed jobs (product sync, acknowledgements,
        status pushes) back in the queue."""
        check_caller(self, "write", MANAGER_GROUP)
        self.ensure_one()

        # Jobs are the connector's plumbing: an administrator of the connector
        # may requeue them without being a queue_job manager.
        jobs = self._connector_jobs(["failed"])
        jobs.requeue()
        return self._notify(
            self.env._("Failed jobs requeued"),
            self.env._("%s failed job(s) of this marketplace are queued again.", len(jobs)),
            "success",
        )
