"""Queue jobs run the way queue_job's runner runs them, for the benchmarks:
marked started and committed, then performed in a transaction of their own."""

from odoo import SUPERUSER_ID, api


def run_job(registry, uuid):
    # Importable once the configuration has set the addons path.
    from odoo.addons.queue_job.job import Job

    with registry.cursor() as cr:
        job = Job.load(api.Environment(cr, SUPERUSER_ID, {}), uuid)
        job.set_started()
        job.store()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        job = Job.load(env, uuid)
        job.perform()
        job.set_done()
        job.store()
        env.flush_all()


def run_pending(registry, method_name):
    """Run the pending jobs of ``method_name``, oldest first, and those they
    queue, until none is left; returns how many ran."""
    runs = 0
    while True:
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            jobs = env["queue.job"].search([("method_name", "=", method_name), ("state", "=", "pending")], order="id")
            uuids = jobs.mapped("uuid")
        if not uuids:
            return runs
        for uuid in uuids:
            run_job(registry, uuid)
            runs += 1
