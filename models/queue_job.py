from odoo import models

from .. import const


class QueueJob(models.Model):
    _inherit = "queue.job"

    def _marketplace_config_id(self):
        """The configuration a job of the connector (``const.JOB_CHANNEL``)
        works for: the job's record, the configuration itself or the order of
        a status push or an edit. None for other jobs."""
        self.ensure_one()
        if self.channel != const.JOB_CHANNEL:
            return None
        records = self.records.sudo()
        if records._name == "marketplace.config":
            return records.id or None
        if "marketplace_config_id" in records._fields:
            return records.marketplace_config_id[:1].id or None
        return None

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") in ("failed", "done"):
            self._marketplace_alert_jobs(vals["state"])
        return result

    def _marketplace_alert_jobs(self, state):
        """A job of the connector failed for good: its configuration raises an
        alert, one per kind of job; once none of that kind is failed any more
        (they succeeded, after a requeue), the alert closes."""
        configs = self.env["marketplace.config"].sudo()
        for job in self:
            config = configs.browse(job._marketplace_config_id()).exists()
            if not config:
                continue
            summary = config._job_alert_summary(job.method_name)
            if state == "failed":
                if job.method_name == "_push_marketplace_status" and (job.exc_name or "").endswith(".FailedJobError"):
                    job.records._marketplace_push_given_up()  # queue_job spent its attempts
                config._raise_alert(
                    summary,
                    self.env._(
                        "%(job)s failed and will not be retried by itself: %(error)s",
                        job=job.name,
                        error=job.exc_message or job.exc_name or "-",
                    ),
                )
            # Failed jobs are looked for only while their alert is open: most jobs that succeed have none.
            elif config._has_alert(summary) and not config._connector_jobs(["failed"]).filtered(
                lambda j, m=job.method_name: j.method_name == m
            ):
                config._resolve_alert(summary, self.env._("The failed Cartona jobs of this kind have succeeded."))
