"""Who may make the connector act (decisions.md section 8).

Any logged-in user, portal included, may call any public method of any model
over RPC, with a context of their choosing. So every button of the addon calls
``check_caller`` before anything else, and only the connector writes the fields
that decide what it tells Cartona (``marketplace.connector.fields``).
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


def skips_marketplace_sync(env):
    """Whether ``skip_marketplace_sync`` holds: it stops the echo of what the
    import changes, and the import runs as the connector or a marketplace
    manager. Anyone may put the key in their RPC context; it is not theirs to
    silence the connector with."""
    # The user, not ``env.su``: the connector's own ``sudo()`` keeps the caller's context.
    return bool(env.context.get("skip_marketplace_sync")) and (
        env.user._is_superuser() or env.user.has_group(MANAGER_GROUP)
    )
