import logging
from collections import Counter
from datetime import datetime, timedelta

from odoo import api, models

from .. import const
from ..exceptions import MarketplaceError

_logger = logging.getLogger(__name__)


class MarketplacePoller(models.AbstractModel):
    """Pulls a configuration's orders again within seconds while Cartona has
    some, without a thread of its own: each poll is a queue job that queues
    the next one with an ``eta``.

    A poll that saw orders comes again after the configuration's floor; an
    idle one doubles the wait, and when the wait would reach the pull cron's
    minute the chain ends and the cron polls. The cron starts a chain again
    when its page has orders. One chain per configuration: the jobs share an
    identity key, and the cron leaves a configuration alone while its next
    poll is waiting (not while one overdue by a minute is stuck). Pending
    jobs outlive a restart of the server.
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
    def _waiting(self, config):
        """The poll of ``config`` waiting to run soon, if any. A poll due more
        than a cron minute ago is not waiting but stuck (no job runner, or its
        job left enqueued): the cron pulls in its stead."""
        since = datetime.now() - timedelta(seconds=const.POLL_CRON_SECONDS)
        return (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("identity_key", "=", self._identity(config.id)),
                    ("state", "in", ("pending", "enqueued")),
                    "|",
                    ("eta", ">", since),
                    "&",
                    ("eta", "=", False),
                    ("date_created", ">", since),
                ],
                limit=1,
            )
        )

    @api.model
    def _schedule(self, config, delay, start=None):
        """Queue the poll of ``config`` ``delay`` seconds after ``start`` (now),
        never sooner than its floor, unless one is waiting already (the
        identity key)."""
        delay = max(delay, config.pull_poll_floor)
        # Queued as the connector (whoever's pull started the chain may not read
        # the configuration later), in the configuration's company.
        self.sudo().with_company(config.company_id).with_delay(
            # queue_job's clock: naive, in the server's time zone (UTC for Odoo).
            eta=(start or datetime.now()) + timedelta(seconds=delay),
            max_retries=1,
            identity_key=self._identity(config.id),
            description=f"Poll Cartona orders of {config.name} ({delay}s)",
        )._poll(config.id, delay)

    @api.model
    def _poll(self, config_id, delay):
        """Job: one page of the configuration's pull, then the next poll,
        sooner or later depending on what the page had. The floor is counted
        from the start of this poll: a slow pull does not slow the next one."""
        start = datetime.now()
        config = self.env["marketplace.config"].browse(config_id).exists()
        if not (config.active and config.auto_pull_orders):
            return "Stopped: the configuration is archived, deleted or does not pull orders."
        try:
            stats = self.env["marketplace.order.pull"]._pull_next_page(config)[1]
        except MarketplaceError as exc:  # in the sync log already: wait longer, as when idle
            stats = Counter()
            _logger.info("Polling orders of %s failed: %s", config.name, exc)
        news = self._news(stats)
        # The rest of a walk that brought nothing new (orders waiting for a
        # product) is no hurry either.
        if news:
            delay = config.pull_poll_floor
        else:
            delay = max(delay, config.pull_poll_floor) * const.POLL_BACKOFF_FACTOR
            if delay >= const.POLL_CRON_SECONDS:
                return "No news: the pull cron polls from now on."
        self._schedule(config, delay, start)
        return f"{news} new or changed orders; next poll in {delay}s."
