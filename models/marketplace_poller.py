import logging
import time
from datetime import datetime, timedelta

from odoo import api, models

from odoo.addons.queue_job.exception import RetryableJobError

from .. import const
from ..exceptions import MarketplaceError

_logger = logging.getLogger(__name__)


class MarketplacePoller(models.AbstractModel):
    """Pulls each configuration's orders every few seconds, at any hour, at a
    bounded cost: one queue job per configuration (the identity key) polls.

    A run pulls each page in a transaction of its own, committed when the
    page is done, then asks queue_job to run the same job again a few seconds
    later, the way queue_job postpones a job (``RetryableJobError``, not
    counted as a retry). An idle hour adds no row, and between two polls
    nothing is held: the job runner waits for the ``eta``, no worker sleeps.

    A run walks the pages while they have orders, then the next run starts
    *Fastest Poll* seconds after the start of a run that saw news, *Idle
    Poll* seconds after an idle one, a minute after a failed pull (or when
    Cartona's ``Retry-After`` says). The poller is armed when a
    configuration is created or starts pulling; the minute cron arms it
    again whenever it is not running (its job failed, deleted, or died with
    its worker) and pulls in its stead meanwhile, or for ever when no job
    runner runs. The waiting job is stored: it outlives a restart.
    """

    _name = "marketplace.poller"
    _description = "Marketplace Order Poller"

    @api.model
    def _identity(self, config_id):
        return f"marketplace.poller:{config_id}"

    @api.model
    def _news(self, stats):
        """Orders a pull found new or changed. Those that come back the same
        (waiting for a product, refused, not acknowledged yet) are no traffic."""
        return stats["created"] + stats["updated"]

    @api.model
    def _poll_jobs(self, config, states):
        return (
            self.env["queue.job"]
            .sudo()
            .search([("identity_key", "=", self._identity(config.id)), ("state", "in", states)])
        )

    @api.model
    def _running(self, config):
        """Whether the poller of ``config`` runs: its job is running since less
        than the cron's minute, or waits to run again (only a job that ran has
        an ``eta``) and is not overdue by that minute. One that never ran (no
        job runner) or stopped running (its worker killed, the runner
        stopped) leaves the configuration to the cron."""
        since = datetime.now() - timedelta(seconds=const.POLL_CRON_SECONDS)
        return bool(
            self.env["queue.job"]
            .sudo()
            .search_count(
                [
                    ("identity_key", "=", self._identity(config.id)),
                    "|",
                    "&",
                    ("state", "=", "started"),
                    ("date_started", ">", since),
                    "&",
                    ("state", "in", ("pending", "enqueued")),
                    ("eta", ">", since),
                ],
                limit=1,
            )
        )

    @api.model
    def _arm(self, configs):
        """Queue the poll of each of ``configs`` that pulls orders, unless one
        is waiting already (the identity key)."""
        for config in configs.filtered(lambda c: c.active and c.auto_pull_orders):
            # Queued as the connector (whoever armed it may not read the
            # configuration later), in the configuration's company; its own
            # postponing is never counted as a retry, and a database
            # conflict retried for ever.
            self.sudo().with_company(config.company_id).with_delay(
                max_retries=0,
                identity_key=self._identity(config.id),
                description=f"Poll Cartona orders of {config.name}",
            )._poll(config.id)

    @api.model
    def _poll(self, config_id):
        """Job: the configuration's pull, page after page while they have
        orders, then the same job again after the floor or the idle wait,
        counted from the start of this run (a slow pull does not slow the
        next one)."""
        start = time.monotonic()
        config = self.env["marketplace.config"].browse(config_id).exists()
        if not (config.active and config.auto_pull_orders):
            return "Stopped: the configuration is archived, deleted or does not pull orders."
        # Two jobs of one configuration (the cron armed a new one while the
        # old one's worker was dead, and the old one was put back): the one
        # waiting carries on. This one is started, so never among them.
        if self._poll_jobs(config, ("pending", "enqueued")):
            return "Stopped: another poll job of the configuration is waiting."
        # The pages of a walk follow each other at once, within the run's
        # share of time: under steady traffic the first pages of two walks
        # are the floor apart, not the floor plus the wait after the walk's
        # empty last page.
        news = 0
        while True:
            more, page_news, failed = self._poll_page(config)
            news += page_news
            if failed:  # Cartona down or refusing the token: once a minute, as the cron would, or when it says
                wait = max(const.POLL_CRON_SECONDS, failed)
                break
            if not more:
                wait = config.pull_poll_floor if news else config.pull_poll_idle
                break
            if time.monotonic() - start >= config.pull_poll_idle:
                wait = 0  # a long walk goes on in the next run, at once
                break
        raise RetryableJobError(
            f"{news} new or changed orders; next poll in {wait} s.",
            # queue_job reads 0 as "use the retry pattern".
            seconds=max(wait - (time.monotonic() - start), 0.1),
            ignore_retry=True,
        )

    @api.model
    def _poll_page(self, config):
        """One page of ``config``'s pull, committed in a transaction of its
        own: the job itself is rolled back when it asks to run again. Returns
        whether pages remain, how many orders were new or changed, and for a
        failed pull (in the sync log already) the seconds Cartona asked to
        wait, or True."""
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            try:
                more, stats = env["marketplace.order.pull"]._pull_next_page(config.with_env(env))
                outcome = more, self._news(stats), False
            except MarketplaceError as exc:
                _logger.info("Polling orders of %s failed: %s", config.name, exc)
                outcome = False, 0, getattr(exc, "seconds", None) or True
            # Odoo tracks environments weakly: flush this one before the commit.
            env.flush_all()
        return outcome
