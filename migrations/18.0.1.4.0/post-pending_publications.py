"""Product publications and withdrawals are no longer jobs of their own but
rows of ``marketplace.publication``, sent by one drain job per configuration.
A publication or withdrawal job left by the previous version (on
``product.product``, the configuration's id first) becomes those rows, the
drain of its configuration is queued, and the job is cancelled with a result
saying where its work went: nothing queued is lost. Their job functions go
with their methods."""

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

OLD_FUNCTIONS = {
    "_marketplace_sync_job": "job_function_product_marketplace_sync",
    "_marketplace_withdraw_job": "job_function_product_marketplace_withdraw",
}
# Every state a job may still run from: a failed one waits for "Requeue failed jobs".
OPEN_STATES = ("wait_dependencies", "pending", "enqueued", "started", "failed")


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    jobs = env["queue.job"].search(
        [
            ("model_name", "=", "product.product"),
            ("method_name", "in", list(OLD_FUNCTIONS)),
            ("state", "in", OPEN_STATES),
        ],
        order="id",
    )
    configs = env["marketplace.config"].with_context(active_test=False)
    products = env["product.product"].with_context(active_test=False)
    rows = []
    for job in jobs:
        config = configs.browse(job.args[0]).exists()
        if not config:
            continue
        if job.method_name == "_marketplace_sync_job":
            # (config id, product ids, parts[, force])
            _config_id, product_ids, parts, *force = job.args
            force = bool(force and force[0]) or bool(job.kwargs.get("force"))
            rows += [(config, pid, None, tuple(parts), force) for pid in products.browse(product_ids).exists().ids]
        else:
            rows += [(config, None, cartona_id, ("stock",), False) for cartona_id in job.args[1]]
    env["marketplace.publication"]._insert(rows)
    if jobs:
        cr.execute(
            SQL(
                """UPDATE queue_job SET state = 'cancelled', date_cancelled = now() AT TIME ZONE 'UTC', result = %s
                    WHERE id = ANY(%s)""",
                "Moved to the configuration's pending publications by the upgrade to 18.0.1.4.0: "
                "its drain job (_publish_pending) sends them.",
                jobs.ids,
            )
        )
        jobs.invalidate_recordset()
    for xmlid in OLD_FUNCTIONS.values():
        function = env.ref(f"cartona_marketplace.{xmlid}", raise_if_not_found=False)
        if function:
            function.unlink()
