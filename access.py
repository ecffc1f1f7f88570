"""Who may make the connector act (decisions.md section 8).

Any logged-in user, portal included, may call any public method of any model
over RPC, with a context of their choosing. So every button of the addon calls
``check_caller`` before anything else, and only the connector writes the fields
that decide what it tells Cartona (``check_connector_fields``).
"""

from odoo.exceptions import AccessError

USER_GROUP = "cartona_marketplace.group_marketplace_user"
MANAGER_GROUP = "cartona_marketplace.group_marketplace_manager"


def _group_name(env, group):
    return env.ref(group).sudo().full_name


def check_caller(records, operation, group=None):
    """Refuse the caller unless they belong to ``group`` (when given) and may
    ``operation`` ("read", "write") ``records``."""
    env = records.env
    if group and not env.su and not env.user.has_group(group):
        raise AccessError(
            env._(
                "Only members of %(group)s may do this on %(model)s.",
                group=_group_name(env, group),
                model=records._description,
            )
        )
    records.check_access(operation)


def check_connector_fields(records, vals_list, fields):
    """Refuse to create or write ``fields`` unless the caller is the connector
    (superuser, or the connector's code through ``sudo()``) or a marketplace
    manager, who owns the Cartona account anyway."""
    touched = sorted({name for vals in vals_list for name in vals if name in fields})
    if not touched or records.env.su or records.env.user.has_group(MANAGER_GROUP):
        return
    env = records.env
    raise AccessError(
        env._(
            "%(fields)s of %(model)s are set by the Cartona connector only: they decide what it tells "
            "Cartona. Ask a member of %(group)s.",
            fields=", ".join(records._fields[name].string for name in touched),
            model=records._description,
            group=_group_name(env, MANAGER_GROUP),
        )
    )


def skips_marketplace_sync(env):
    """Whether ``skip_marketplace_sync`` holds: it stops the echo of what the
    import changes, and the import runs as the connector or a marketplace
    manager. Anyone may put the key in their RPC context; it is not theirs to
    silence the connector with."""
    # The user, not ``env.su``: the connector's own ``sudo()`` keeps the caller's context.
    return bool(env.context.get("skip_marketplace_sync")) and (
        env.user._is_superuser() or env.user.has_group(MANAGER_GROUP)
    )
