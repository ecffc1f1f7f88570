"""What a transaction collects for its commit."""


def collect_at_commit(env, key, new, hook):
    """The collection kept under ``key`` on ``env``'s transaction: made by
    ``new()`` the first time, and handed to ``hook`` when the transaction
    commits. Filling it costs no query, however often a record is touched.

    Odoo runs the precommit hooks at every savepoint too (an order pull has
    one per page): what was collected so far is handed over then, and the
    next change starts a new collection. A savepoint rolled back drops what
    was collected inside it, with the changes themselves.
    """
    precommit = env.cr.precommit
    collected = precommit.data.get(key)
    if collected is None:
        collected = precommit.data[key] = new()

        def handover():
            hook(precommit.data.pop(key))
            # Precommit runs after the ORM's flush: what the hook wrote is flushed here.
            env.flush_all()

        precommit.add(handover)
    return collected
