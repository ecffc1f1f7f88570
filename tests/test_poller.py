import itertools
from datetime import datetime, timedelta
from unittest import mock

import responses
from psycopg2 import IntegrityError

from odoo import SUPERUSER_ID, api, fields
from odoo.tools import mute_logger

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.models import marketplace_poller
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

from .common import BASE_URL, CommittedCase, ImportCase

# An hour of an idle Cartona at the default idle wait.
IDLE_POLLS_PER_HOUR = 3600 // 4


class PollerCase(ImportCase):
    """Cartona (``self.cartona``) lists the orders not acknowledged yet. The
    configuration's poller was armed when it was created."""

    def setUp(self):
        super().setUp()
        self.poller = self.env["marketplace.poller"]
        self.cartona = self.serve_cartona()
        self.http.post(self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])

    def pulls(self):
        """The pages pulled: ``pull-orders`` requests but the one each
        acknowledgement makes to read its orders again."""
        acknowledgements = self.env["marketplace.sync.log"].search_count(
            [("operation_type", "=", "order_ack"), ("message", "like", "Acknowledged")]
        )
        return len(self.cartona.requests) - acknowledgements

    def polls(self, config=None, states=("pending",)):
        return self.poller._poll_jobs(config or self.config, states)

    def run_job(self, record):
        """Run a stored job the way the job runner does (queue_job's
        ``RunJobController``): started, performed, then done, or put back to
        pending with its new ``eta`` when it asks to run again. Returns the
        seconds from the start of the run to that ``eta``, or None when it is
        done."""
        self.env.invalidate_all()  # a job starts with nothing in its cache
        job = Job.load(self.env, record.uuid)
        job.set_started()
        job.store()
        started = datetime.now()
        try:
            job.perform()
        except RetryableJobError as again:
            job.postpone(result=str(again), seconds=again.seconds)
            job.set_pending(reset_retry=False)
            job.store()
            return (record.eta - started).total_seconds()
        job.set_done()
        job.store()
        return None

    def poll(self, config=None):
        """Run the configuration's waiting poll; return the whole seconds from
        its start to the next run (None: stopped)."""
        [record] = self.polls(config)
        wait = self.run_job(record)
        return None if wait is None else round(wait)


class TestPoller(PollerCase):
    def test_polls_every_few_seconds_at_any_hour(self):
        """One job polls, again and again: at the floor while orders come, at
        the idle wait when Cartona has none, and never gives up to the cron."""
        poll = self.polls()
        self.assertEqual((len(poll), poll.channel, poll.max_retries), (1, "root.marketplace_poll", 0))
        self.assertEqual([self.poll() for _i in range(3)], [4, 4, 4], "idle: every 4 s, for ever")
        self.cartona.list(*self.page[:2])
        self.assertEqual(self.poll(), 3, "orders came: again at the floor")
        self.assertTrue(self.sale(self.page[0]["hashed_id"]), "the poll imported them")
        self.assertEqual(self.pulls(), 5, "the walk's pages at once: its page and the empty one that ends it")
        self.assertEqual(self.poll(), 4, "orders that come back unchanged are no news")
        self.assertEqual(self.polls(), poll, "the same job all along")
        self.assertEqual((poll.retry, poll.state), (0, "pending"), "asking to run again is no retry")
        self.assertIn("next poll in 4 s", poll.result)

    def test_a_long_walk_goes_on_in_the_next_run(self):
        """A run walks pages for its share of time (the idle wait), then the
        walk goes on in the next run, at once."""
        self.config.pull_page_size = 1
        self.cartona.list(*self.page[:3])
        clock = itertools.count(0, 5)  # each look at the clock is 5 s later
        with mock.patch.object(marketplace_poller.time, "monotonic", lambda: next(clock)):
            self.assertEqual(self.poll(), 0)
        self.assertEqual(self.pulls(), 1)
        self.assertEqual(self.poll(), 3, "the rest of the walk, then the floor")
        self.assertEqual(self.pulls(), 4)
        self.assertTrue(all(self.sale(order["hashed_id"]) for order in self.page[:3]))

    def test_an_idle_hour_adds_no_row(self):
        """An hour of an idle Cartona: one request per poll, and not one row
        more in the job queue or the sync log."""
        jobs, logs = self.env["queue.job"].search_count([]), self.env["marketplace.sync.log"].search_count([])
        poll = self.polls()
        waits = {self.run_job(poll) for _i in range(IDLE_POLLS_PER_HOUR)}
        self.assertTrue(all(abs(wait - 4) < 0.5 for wait in waits), waits)
        self.assertEqual(self.pulls(), IDLE_POLLS_PER_HOUR)
        self.assertEqual(self.env["queue.job"].search_count([]), jobs)
        self.assertEqual(self.env["marketplace.sync.log"].search_count([]), logs)

    def test_idle_poll_costs_one_request_and_few_queries(self):
        poll = self.polls()
        self.run_job(poll)  # warm the caches
        self.http.calls.reset()
        self.env.invalidate_all()
        job = Job.load(self.env, poll.uuid)
        job.set_started()  # as the job runner does before it runs it
        job.store()
        # The job's own queries, not queue_job's bookkeeping; among them the
        # pull window's bounds (the oldest waiting order and held change) and
        # the savepoints of the page's transaction in a test.
        with self.assertQueryCount(17), self.assertRaises(RetryableJobError):
            job.perform()
        self.assertEqual(len(self.http.calls), 1)

    def test_idle_wait_and_floor(self):
        for field in ("pull_poll_floor", "pull_poll_idle"):
            with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.config[field] = 0
                self.env.flush_all()
        self.config.write({"pull_poll_floor": 10, "pull_poll_idle": 30})
        self.assertEqual(self.poll(), 30, "a supplier may ask Cartona less often")
        self.cartona.list(*self.page[:1])
        self.assertEqual(self.poll(), 10)

    def test_outage_or_refused_token_asked_once_a_minute(self):
        """Cartona down, or refusing the token, is asked once a minute, as the
        cron would: not a request and a logged error every 4 s."""
        self.http.replace(responses.GET, self.url(const.ENDPOINT_PULL_ORDERS), status=503, body="down")
        self.assertEqual(self.poll(), 60)
        self.assertIn("503", self.config.last_error)
        self.http.replace(
            responses.GET, self.url(const.ENDPOINT_PULL_ORDERS), status=429, headers={"Retry-After": "120"}
        )
        self.assertEqual(self.poll(), 120, "or when Cartona says")
        self.http.replace(responses.GET, self.url(const.ENDPOINT_PULL_ORDERS), status=401, body="revoked")
        self.assertEqual(self.poll(), 60)
        self.assertEqual(self.config.connection_status, "error")
        self.assertEqual(self.polls().retry, 0)

    def test_stops_when_disabled_or_archived_and_starts_again(self):
        for change in ({"auto_pull_orders": False}, {"active": False}):
            with self.subTest(change=change):
                self.config.write(change)
                self.assertIsNone(self.poll(), "stopped")
                self.assertFalse(self.polls())
                self.config.write({"auto_pull_orders": True, "active": True})
                self.assertEqual(len(self.polls()), 1, "armed again")
        self.assertEqual(self.pulls(), 0)
        self.config.unlink()
        self.assertIsNone(self.poll(), "deleted: stopped")

    def test_armed_when_created(self):
        """A new configuration's first pull (the history walk) and its first
        order come within seconds, not at the cron's next minute."""
        other = self.config.copy({"name": "Other account", "auth_token": "another-token"})
        self.assertEqual(len(self.polls(other)), 1)
        self.assertEqual(self.poll(other), 4, "the history walk: nothing to import")
        self.assertTrue(other.import_orders_from, "gone live")
        live = fields.Datetime.to_string(fields.Datetime.now() + timedelta(seconds=2))
        self.cartona.list(self.order_data("Lr4tN8wQ", updated_at=live))
        self.assertEqual(self.poll(other), 3)
        self.assertTrue(
            self.env["sale.order"].search([("marketplace_config_id", "=", other.id), ("cartona_id", "=", "Lr4tN8wQ")])
        )
        idle = other.copy({"name": "Idle", "auth_token": "third-token", "auto_pull_orders": False})
        self.assertFalse(self.polls(idle), "not pulling: not armed")


class TestPollerAndCron(PollerCase):
    def cron(self):
        self.env["marketplace.order.pull"]._cron_pull_orders()

    def test_the_cron_leaves_a_running_poller_alone(self):
        self.poll()
        self.cron()
        self.assertEqual(self.pulls(), 1, "the poller's pull only")
        # The pull lock keeps one pull at a time all the same.
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [const.PULL_LOCK_KEY, self.config.id])
        self.assertEqual(self.env["marketplace.order.pull"]._pull_next_page(self.config)[0], False)

    def test_without_a_job_runner_the_cron_pulls_and_adds_no_row(self):
        """The poll job never runs: the cron pulls every minute, as before the
        poller existed, and its poll job stays the one."""
        self.cartona.list(*self.page[:1])
        for _minute in range(3):
            self.cron()
        self.assertEqual(self.pulls(), 3)
        self.assertTrue(self.sale(self.page[0]["hashed_id"]))
        self.assertEqual(len(self.polls(states=("pending", "enqueued", "started", "failed"))), 1)

    def test_a_lost_poller_is_armed_again_by_the_cron(self):
        self.polls().unlink()  # failed, or deleted by a person
        self.cron()
        self.assertEqual(len(self.polls()), 1)
        self.assertEqual(self.poll(), 4)

    def test_after_a_restart(self):
        """The waiting job is stored: after a restart the runner runs it. A
        poll whose worker was killed stays started: the cron pulls, arms a new
        job, and once the old one is put back, one of them stops."""
        [poll] = self.polls()
        self.poll()
        self.env.invalidate_all()  # the server restarts
        self.assertEqual(self.poll(), 4, "the stored job runs on")
        # Killed while it ran.
        poll = poll.with_context(_job_edit_sentinel=poll.EDIT_SENTINEL)  # as the runner writes it
        poll.write({"state": "started", "date_started": datetime.now() - timedelta(seconds=10)})
        self.cron()
        self.assertEqual(self.pulls(), 2, "started 10 s ago: still running")
        poll.write({"date_started": datetime.now() - timedelta(seconds=const.POLL_CRON_SECONDS + 5)})
        self.cron()
        self.assertEqual(self.pulls(), 3, "not running: the cron pulls")
        new = self.polls()
        self.assertEqual(len(new), 1)
        poll.write({"state": "pending"})  # put back by the jobs garbage collector
        self.assertIsNone(self.run_job(poll), "the other waits: this one stops")
        self.assertEqual(self.poll(), 4)
        self.assertEqual(self.polls(states=("pending", "enqueued", "started")), new)


class TestPollInRealTransactions(CommittedCase):
    """Real transactions, as on a server: queue_job's controller rolls the
    job's transaction back when the job asks to run again."""

    def setUp(self):
        super().setUp()
        http = responses.RequestsMock(assert_all_requests_are_fired=False)
        http.start()
        self.addCleanup(http.stop)
        http.get(BASE_URL + const.ENDPOINT_PULL_ORDERS, json=[])

    def test_the_page_is_committed_though_the_job_is_rolled_back(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            config = env["marketplace.config"].browse(self.config_id)
            self.assertFalse(config.last_pull_date)
            config.auto_pull_orders = True
            [record] = env["marketplace.poller"]._poll_jobs(config, ("pending",))
            uuid = record.uuid
            self.addCleanup(self.remove_job, uuid)
            # Due later: the job runner of the tests' server leaves it to this test.
            record.with_context(_job_edit_sentinel=record.EDIT_SENTINEL).eta = datetime.now() + timedelta(hours=1)
        # queue_job's controller: the job started and committed, performed,
        # and rolled back when it asks to run again.
        with self.registry.cursor() as cr:
            job = Job.load(api.Environment(cr, SUPERUSER_ID, {}), uuid)
            job.set_started()
            job.store()
        with self.registry.cursor() as cr:
            job = Job.load(api.Environment(cr, SUPERUSER_ID, {}), uuid)
            try:
                job.perform()
            except RetryableJobError as again:
                asked = again
            cr.rollback()
        # queue_job's controller puts the job back in a transaction of its own.
        with self.registry.cursor() as cr:
            job = Job.load(api.Environment(cr, SUPERUSER_ID, {}), uuid)
            job.postpone(result=str(asked), seconds=asked.seconds)
            job.set_pending(reset_retry=False)
            job.store()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            config = env["marketplace.config"].browse(self.config_id)
            self.assertTrue(config.last_pull_date, "the page (the history walk) was committed")
            job = env["queue.job"].search([("uuid", "=", uuid)])
            self.assertEqual((job.state, job.retry), ("pending", 0))
            self.assertIn("next poll in 4 s", job.result)

    def remove_job(self, uuid):
        with self.registry.cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["queue.job"].search([("uuid", "=", uuid)]).unlink()


class TestPromptPushes(PollerCase):
    def test_order_jobs_go_first_and_at_once(self):
        """What goes out to Cartona waits for nothing but the commit: no eta,
        and in the marketplace channel (one job at a time) an order's status
        push and acknowledgement pass the product publications waiting there."""
        jobs = self.env["queue.job"]
        self.env["marketplace.publication"]._add(self.config, self.oil, ["stock"])
        self.cartona.list(*self.page[:1])
        self.env["marketplace.order.pull"]._pull_and_process_orders(self.config)
        self.sale("Qx7mK2aP").action_confirm()
        publish, ack, push = (
            jobs.search([("method_name", "=", name)])
            for name in ("_publish_pending", "_acknowledge_orders", "_push_marketplace_status")
        )
        self.assertEqual((bool(publish), len(ack), len(push)), (True, 1, 1))
        for job in publish | ack | push:
            self.assertEqual((job.channel, job.eta), ("root.marketplace", False))
        self.assertEqual((ack.priority, push.priority), (5, 5))
        self.assertEqual(set(publish.mapped("priority")), {10})
