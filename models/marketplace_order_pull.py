import hashlib
import json
import logging
from collections import Counter
from datetime import timedelta

import psycopg2
from psycopg2 import errors

from odoo import api, fields, models
from odoo.tools import mute_logger

from .. import const
from ..cartona import payloads
from ..cartona.answers import short_text
from ..exceptions import MarketplaceError

_logger = logging.getLogger(__name__)


class MarketplaceOrderPull(models.AbstractModel):
    """The pull of Cartona's orders for one configuration, passed to each
    call: one pull at a time (``_lock_pull``), its window, the walks over
    ``pull-orders`` pages, the acknowledgement of what Odoo holds, and the
    minute cron."""

    _name = "marketplace.order.pull"
    _description = "Marketplace Order Pull"

    # Going live -----------------------------------------------------------

    @api.model
    def _going_live(self, config, state):
        """Fix, once Cartona answered a pull, from when orders are Odoo's
        business (``import_orders_from``) unless a manager set it: the first
        time Cartona accepted the token, a connection test or this pull. It is
        kept on the pull's ``state`` (locked by ``_lock_pull``), whose one
        run-time writer is the pull: the configuration row is left to its users."""
        if not state.import_orders_from:
            state.import_orders_from = self._going_live_moment(config, state)

    @api.model
    def _going_live_moment(self, config, state):
        """``import_orders_from`` as set, or as ``_going_live`` sets it."""
        if state.import_orders_from:
            return state.import_orders_from
        tested = (
            self.env["marketplace.sync.log"]
            .sudo()
            .search(
                [
                    ("marketplace_config_id", "=", config.id),
                    ("operation_type", "=", "connection_test"),
                    ("status", "=", "success"),
                ],
                order="id",
                limit=1,
            )
        )
        # This transaction began before Cartona was asked: no order changed
        # since it answered is older than that.
        return min(filter(None, [tested.create_date, self.env.cr.now()]))

    @api.model
    def _acknowledge(self, config, hashed_ids, read=None, queued_at=None):
        """Tell Cartona these orders are safely in Odoo (status ``synced``), in
        one bulk request (the job ``marketplace.config._acknowledge_orders``).

        Cartona's ``synced`` names no version: it marks the order as it is
        now as read, and a change made after the pull read it would never be
        pulled. So it is sent once, soon after the pull, or not at all (a
        job queued longer ago than ``ACK_MAX_AGE_SECONDS``, requeued or late,
        sends nothing), and only for the orders Cartona still lists unchanged
        since they were read: ``read`` says what the pull read
        (``_process_orders_page``). An order left unacknowledged comes back in
        the next pull, which imports its latest state and acknowledges it then."""
        age = queued_at and (fields.Datetime.now() - fields.Datetime.to_datetime(queued_at)).total_seconds()
        if age and age > const.ACK_MAX_AGE_SECONDS:
            return self._leave_unacknowledged(config, hashed_ids, f"queued {int(age)} s ago")
        try:
            if read is not None:
                hashed_ids = self._unchanged_since_read(config, read)
            if hashed_ids:
                self.env["marketplace.api"]._bulk_update_order_status(
                    config,
                    [{"hashed_id": hashed_id, "status": const.STATUS_SYNCED} for hashed_id in hashed_ids],
                    operation_type="order_ack",
                )
        except MarketplaceError as exc:
            return self._leave_unacknowledged(config, hashed_ids, short_text(str(exc)))
        message = f"Acknowledged {len(hashed_ids)} Cartona orders"
        self.env["marketplace.sync.log"]._log_operation(
            config.id, "order_ack", "success", message, records_processed=len(hashed_ids)
        )
        return message

    @api.model
    def _unchanged_since_read(self, config, read):
        """The orders of ``read`` that Cartona still lists as not acknowledged,
        as the pull read them. ``read`` is ``{"orders": {hashed id: hash of
        what the import used}, "page", "per_page", "from", "to"}``: the pull's
        window is walked again from its first page, never past the page the
        orders were read on (acknowledgements since then only move them to an
        earlier page), and the walk stops once every order is found. A job
        queued by the previous version holds hashes of the raw payload, which
        match nothing now: it reads nothing, and the next pull acknowledges
        its orders."""
        hashes = read.get("orders")
        found = {}
        if isinstance(hashes, dict):
            for _page, orders in self.env["marketplace.api"]._iter_order_pages(
                config,
                per_page=read["per_page"],
                date_from=fields.Datetime.to_datetime(read["from"]),
                date_to=fields.Datetime.to_datetime(read["to"]),
                operation_type="order_ack",
                max_pages=min(read["page"], const.MAX_PULL_PAGES),
            ):
                for data in orders:
                    hashed_id = payloads.order_key(data)
                    if hashed_id in hashes:
                        found[hashed_id] = payloads.payload_hash(data)
                if len(found) == len(hashes):
                    break
        else:
            hashes = read
        unchanged = sorted(hashed_id for hashed_id, digest in found.items() if digest == hashes[hashed_id])
        left = sorted(set(hashes) - set(unchanged))
        if left:
            self.env["marketplace.sync.log"]._log_operation(
                config.id,
                "order_ack",
                "info",
                f"{len(left)} Cartona orders changed since they were read, or were not found where they were "
                f"read, not acknowledged: the next pull imports and acknowledges them ({', '.join(left)})",
            )
        return unchanged

    @api.model
    def _leave_unacknowledged(self, config, hashed_ids, reason):
        message = (
            f"{len(hashed_ids)} Cartona orders not acknowledged ({reason}): "
            "the next pull reads them again and acknowledges them"
        )
        self.env["marketplace.sync.log"]._log_operation(config.id, "order_ack", "warning", message)
        return message

    # Order pull -----------------------------------------------------------

    @api.model
    def _pull_and_process_orders(self, config):
        """Walk every page of ``order/pull-orders`` in this transaction, import
        its orders (a failing one rolls back alone) and queue the acknowledgements.

        Returns a Counter of outcomes, or None when another pull of the same
        marketplace holds the lock or committed since this transaction began
        (the loser skips quietly)."""
        state = self._lock_pull(config)
        if not state:
            return None
        started, (date_from, date_to) = fields.Datetime.now(), self._pull_window(config, state)
        stats = Counter()
        last_page = 0
        for page, orders in self.env["marketplace.api"]._iter_order_pages(config, date_from=date_from, date_to=date_to):
            self._going_live(config, state)  # before the first page is processed
            last_page = page
            stats += self._process_orders_page(config, orders, page, date_from, date_to, history=bool(date_to))[0]
        self._going_live(config, state)  # Cartona answered with no order at all
        # The walk ended on an empty page: it read the whole window. (The
        # acknowledgements go out after the commit: no page moved under it.)
        complete = last_page < const.MAX_PULL_PAGES
        if not complete:
            _logger.warning("Stopped after %s pages: the page cap was reached", last_page)
        self._end_walk(config, state, stats, started, watermark=(date_to or started) if complete else None)
        return stats

    @api.model
    def _fetch_orders(self, config, reference=None, date_from=None, date_to=None, live=False):
        """Import now the order Cartona knows as ``reference`` (its hashed id or
        number), or the orders of a date range, whatever the pull window says:
        through the processor (an imported order is updated, never doubled) and
        acknowledged as a pull would. A person asked for these orders:
        "Import Orders From" does not hold them back, and ``live`` imports
        finished ones as live. An order waiting in Odoo that Cartona no
        longer returns is tried again from its kept payload.

        Returns ``(Counter of outcomes, Cartona ids found)``, or None while a
        pull of the same marketplace runs."""
        state = self._lock_pull(config)
        if not state:
            return None
        stats, found = Counter(), set()
        for page, orders in self.env["marketplace.api"]._iter_order_pages(config, date_from=date_from, date_to=date_to):
            self._going_live(config, state)
            if reference:
                orders = [order for order in orders if self._names_order(order, reference)]
            found.update(payloads.order_key(order) for order in orders)
            stats += self._process_orders_page(config, orders, page, date_from, date_to, fetched=True, live=live)[0]
            if reference and orders:
                break
        self._going_live(config, state)
        if reference and not found:
            parked = self.env["marketplace.parked.order"]._of(config, reference)
            if parked:
                found.add(reference)
                stats += parked._replay(fetched=True, live=live).get(config.id, Counter())
        found.discard(None)
        return stats, found

    @api.model
    def _names_order(self, data, reference):
        return isinstance(data, dict) and reference in (
            payloads.order_key(data),
            str(data.get("receipt_id") or "").strip(),
        )

    @api.model
    def _pull_next_page(self, config):
        """One page of the walk the cron keeps on the configuration; returns
        whether pages remain, and the Counter of the page's outcomes."""
        state = self._lock_pull(config)
        if not state:
            return False, Counter()
        page = state.pull_next_page or 1
        if page == 1:
            started, (date_from, date_to) = fields.Datetime.now(), self._pull_window(config, state)
        else:  # the whole walk asks for the same window
            started, date_from, date_to = state.pull_walk_started, state.pull_walk_from, state.pull_walk_to
        orders = self.env["marketplace.api"]._pull_orders(
            config, page=page, per_page=config.pull_page_size, date_from=date_from, date_to=date_to
        )
        orders = orders["data"]
        self._going_live(config, state)
        stats, acknowledged = self._process_orders_page(config, orders, page, date_from, date_to, history=bool(date_to))
        # An order without a usable id keeps the window too, as in a pull of one transaction.
        acknowledged = acknowledged or stats["unidentified"] or (page > 1 and state.pull_walk_acked)
        if orders and page < const.MAX_PULL_PAGES:  # only an empty page ends the walk
            state.write(
                {
                    "pull_next_page": page + 1,
                    "pull_walk_started": started,
                    "pull_walk_from": date_from,
                    "pull_walk_to": date_to,
                    "pull_walk_acked": acknowledged,
                }
            )
            self._record_pull(config, state, stats)
            return True, stats
        if page > 1:
            state.write(
                {"pull_next_page": 1, "pull_walk_started": False, "pull_walk_from": False, "pull_walk_to": False}
            )
        # Orders acknowledged between two runs leave the list and shift the
        # pages under the walk: only a walk that acknowledged nothing before
        # its empty page saw everything, so only it moves the watermark.
        # Until then the same window is walked again.
        # The history walk's window gains no orders: it is read once it ends, and
        # a history order it missed would have been left out anyway.
        complete = not orders and (not acknowledged or bool(date_to))
        self._end_walk(config, state, stats, started, watermark=(date_to or started) if complete else None)
        return False, stats

    @api.model
    def _lock_pull(self, config):
        """One pull per configuration at a time, across workers. Returns the
        pull's state record, locked, or nothing when this pull must skip."""
        skip = self.env["marketplace.sync.state"]
        self.env.cr.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [const.PULL_LOCK_KEY, config.id])
        if not self.env.cr.fetchone()[0]:
            _logger.info("A pull of %s is already running: this one skips", config.name)
            return skip
        # A pull that committed after this transaction began wrote the state
        # row: PostgreSQL refuses to lock a row changed since our snapshot,
        # and this pull skips now rather than fail at its end.
        try:
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                state = self.env["marketplace.sync.state"]._of(config, "order_pull")
                self.env.cr.execute("SELECT 1 FROM marketplace_sync_state WHERE id = %s FOR UPDATE NOWAIT", [state.id])
        except (errors.SerializationFailure, errors.LockNotAvailable, errors.UniqueViolation):
            _logger.info("A pull of %s has just run or its state is being edited: this one skips", config.name)
            return skip
        return state

    @api.model
    def _pull_window(self, config, state):
        """``(from, to)`` of the next walk. Before the first complete pull it is
        the history walk: what Cartona lists as changed up to going live
        (``import_orders_from``), whose new orders are acknowledged and logged,
        not imported; it moves the watermark to going live. After it, the
        orders changed since the last complete pull (``_pull_date_from``)."""
        if not state.last_pull_date:
            return None, self._going_live_moment(config, state)
        return self._pull_date_from(config, state), None

    @api.model
    def _pull_date_from(self, config, state):
        """Orders changed since the last complete pull (on the pull's ``state``),
        minus the overlap, and never after the oldest order still waiting or
        held back."""
        oldest_parked = self.env["marketplace.parked.order"].search(
            [("marketplace_config_id", "=", config.id)], order="first_seen", limit=1
        )
        held_since = self.env["marketplace.order.lines"]._held_since(config)
        bounds = [date for date in (state.last_pull_date, oldest_parked.first_seen, held_since) if date]
        return min(bounds) - timedelta(minutes=config.pull_overlap_minutes)

    @api.model
    def _process_orders_page(
        self, config, orders, page=1, date_from=None, date_to=None, history=False, fetched=False, live=False
    ):
        """Import ``orders``, read on ``page`` of the window ``date_from`` to
        ``date_to``, and queue the acknowledgement of those Odoo holds now;
        on the ``history`` walk, new orders are acknowledged, not imported
        (``fetched`` and ``live``: ``_fetch_orders``).
        Returns the Counter of outcomes and how many it acknowledges."""
        if not orders:  # an idle poll costs no more queries
            return Counter(), 0
        stats, ack = self.env["marketplace.order.processor"]._process_page(
            config, orders, history=history, fetched=fetched, live=live
        )
        if ack:
            # What the import used of each order it acknowledges (they all parsed: their hash is computable),
            # and where the acknowledgement finds them again.
            acked = set(ack)
            read = {
                "orders": {
                    key: payloads.payload_hash(data) for data in orders if (key := payloads.order_key(data)) in acked
                },
                "page": page,
                "per_page": config.pull_page_size,
                "from": date_from and fields.Datetime.to_string(date_from),
                "to": date_to and fields.Datetime.to_string(date_to),
            }
            # Queued in the transaction that imported the orders: it goes out
            # only once they are committed.
            # The same read queued twice in a transaction is one job; when it
            # was queued is no part of what it acknowledges.
            identity = hashlib.sha1(json.dumps([config.id, sorted(ack), read], sort_keys=True).encode()).hexdigest()
            config.with_delay(
                max_retries=config.retry_attempts,
                priority=const.ORDER_JOB_PRIORITY,
                identity_key=f"cartona-ack-{identity}",
                description=f"Acknowledge {len(ack)} Cartona orders ({config.name})",
            )._acknowledge_orders(sorted(ack), read, fields.Datetime.to_string(fields.Datetime.now()))
        return stats, len(ack)

    @api.model
    def _replay_parked(self, config, started):
        """Import the waiting orders Cartona did not send this time, once a
        product's Cartona mapping changed since they were last tried."""
        parked = self.env["marketplace.parked.order"].search(
            [("marketplace_config_id", "=", config.id), ("last_seen", "<", started)]
        )
        if not parked:
            return Counter()
        last_mapped = (
            self.env["product.product"]
            .with_context(active_test=False)
            .search([("cartona_mapping_date", "!=", False)], order="cartona_mapping_date desc", limit=1)
            .cartona_mapping_date
        )
        parked = parked.filtered(lambda p: last_mapped and p.last_seen <= last_mapped)
        if not parked:
            return Counter()
        return parked._replay().get(config.id, Counter())

    @api.model
    def _end_walk(self, config, state, stats, started, watermark=None):
        """A walk read its empty page: the waiting orders it did not meet are
        replayed, and the pull recorded."""
        stats["created"] += self._replay_parked(config, started)["created"]
        self._record_pull(config, state, stats, watermark)

    @api.model
    def _summary(self, stats):
        """A pull's outcomes as one line: "2 created, 1 parked"."""
        return ", ".join(f"{count} {kind}" for kind, count in sorted(stats.items()) if count)

    @api.model
    def _record_pull(self, config, state, stats, watermark=None):
        """Write the pull's outcome on its ``state`` (locked by ``_lock_pull``)."""
        vals = {
            "last_sync_date": fields.Datetime.now(),
            "total_orders_pulled": state.total_orders_pulled + stats["created"],
        }
        # An order that could not be identified may be lost behind the window:
        # keep the window until a pull reads every order it returns.
        if watermark and not stats["unidentified"]:
            vals["last_pull_date"] = watermark
        state.write(vals)
        if sum(stats.values()):
            summary = self._summary(stats)
            self.env["marketplace.sync.log"]._log_operation(
                config.id,
                "order_pull",
                "warning" if stats["failed"] or stats["parked"] or stats["unidentified"] else "success",
                f"Pulled {sum(stats.values())} Cartona orders: {summary}",
                records_processed=sum(stats.values()),
            )

    # The cron -------------------------------------------------------------

    @api.model
    def _cron_pull_orders(self):
        """Every minute: one page per marketplace. Odoo commits the run and runs
        the cron again at once while pages remain. A marketplace whose poller
        runs is left to it; one whose poller does not run gets it armed again,
        and pulled meanwhile (for ever without a job runner).
        Never raises: a cron that keeps failing is deactivated."""
        configs = self.env["marketplace.config"].search([("auto_pull_orders", "=", True)])
        poller = self.env["marketplace.poller"]
        remaining = 0
        for config in configs:
            if poller._running(config):
                continue
            poller._arm(config)
            # No savepoint around the page: its orders have theirs, and what a
            # failing request records about itself must not be rolled back.
            try:
                remaining += self._pull_next_page(config)[0]
            except MarketplaceError:
                continue  # in the sync log already: the configuration shows it as its last error
            except psycopg2.Error:
                raise  # the transaction is unusable: Odoo rolls the run back and retries
            except Exception as exc:
                _logger.exception("Pulling orders of %s failed", config.name)
                message = f"Pulling orders failed: {exc!r}"
                self.env["marketplace.sync.log"]._log_operation(config.id, "order_pull", "error", message)
        self.env["ir.cron"]._notify_progress(done=len(configs), remaining=remaining)
