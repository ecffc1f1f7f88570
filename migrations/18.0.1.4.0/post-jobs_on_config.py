"""The acknowledgement and the internal references are now jobs of the
configuration they work for (``config.with_delay()``), an order's edits a job
of the order, and the minute cron is the pull's. Their records are
``noupdate``: they are moved here. A job queued by the previous version, with
the configuration's id first, is moved too, as it would have been queued
now: nothing queued is lost. The previous poller's jobs, which took a delay,
are cancelled: the minute cron arms the new poller at its next run."""

from odoo import SUPERUSER_ID, api, fields

MOVED_JOBS = ("_acknowledge_orders", "_publish_internal_refs")


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    config_model = env.ref("cartona_marketplace.model_marketplace_config")
    moved = {
        "job_function_acknowledge_orders": config_model,
        "job_function_publish_internal_refs": config_model,
        "job_function_push_order_edits": env.ref("sale.model_sale_order"),
    }
    for xmlid, model in moved.items():
        function = env.ref(f"cartona_marketplace.{xmlid}", raise_if_not_found=False)
        if function:
            function.model_id = model
    cron = env.ref("cartona_marketplace.cron_pull_marketplace_orders", raise_if_not_found=False)
    if cron:
        cron.model_id = env.ref("cartona_marketplace.model_marketplace_order_pull")
    configs = env["marketplace.config"].with_context(active_test=False)
    jobs = env["queue.job"].search(
        [
            "|",
            "&",
            ("model_name", "=", "marketplace.api"),
            ("method_name", "in", MOVED_JOBS),
            "&",
            ("model_name", "=", "marketplace.order.edit"),
            ("method_name", "=", "_push_order_edits"),
            ("state", "!=", "done"),
        ]
    )
    for job in jobs:
        config_id, *rest = job.args
        if job.method_name == "_push_order_edits":
            records, args = env["sale.order"].browse(rest[0]).exists(), ()
        elif job.method_name == "_acknowledge_orders":
            hashed_ids, read = rest[0], rest[1] if len(rest) > 1 else None
            # Its age still decides whether it may acknowledge (a late one sends nothing).
            records, args = (
                configs.browse(config_id).exists(),
                (hashed_ids, read, fields.Datetime.to_string(job.date_created)),
            )
        else:
            records, args = configs.browse(config_id).exists(), tuple(rest)
        if not records:
            job.write({"state": "cancelled", "result": "Its order or configuration no longer exists."})
            continue
        # Moving a queued job is the upgrade's business alone: queue_job
        # protects these fields from any other writer.
        job.with_context(_job_edit_sentinel=job.EDIT_SENTINEL).write(
            {
                "model_name": records._name,
                "channel_method_name": f"<{records._name}>.{job.method_name}",
                "records": records,
                "args": args,
            }
        )
    old_polls = env["queue.job"].search(
        [("model_name", "=", "marketplace.poller"), ("method_name", "=", "_poll"), ("state", "!=", "done")]
    )
    old_polls.filtered(lambda job: len(job.args) > 1).write(
        {"state": "cancelled", "result": "Replaced by the poller of 18.0.1.4.0, armed by the minute cron."}
    )
