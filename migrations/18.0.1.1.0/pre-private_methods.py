"""Methods that reach Cartona became private (decisions §8): jobs queued under
the old names, their job functions and the log clean-up cron follow them."""

RENAMED_JOBS = {
    ("marketplace.api", "acknowledge_orders"): "_acknowledge_orders",
    ("sale.order", "push_marketplace_status"): "_push_marketplace_status",
}


def migrate(cr, version):
    for (model, old), new in RENAMED_JOBS.items():
        name = f"<{model}>.{new}"
        cr.execute(
            """UPDATE queue_job_function f SET method = %s, name = %s
                 FROM ir_model m WHERE m.id = f.model_id AND m.model = %s AND f.method = %s""",
            [new, name, model, old],
        )
        cr.execute(
            """UPDATE queue_job SET method_name = %s, channel_method_name = %s,
                      func_string = replace(func_string, %s, %s)
                WHERE model_name = %s AND method_name = %s""",
            [new, name, f".{old}(", f".{new}(", model, old],
        )
    cr.execute(
        """UPDATE ir_act_server SET code = replace(code, 'model.cleanup_old_logs(', 'model._cleanup_old_logs(')
            WHERE model_name = 'marketplace.sync.log' AND code LIKE '%%model.cleanup_old_logs(%%'"""
    )
