"""The order of Cartona's order statuses, in one place: which are Cartona's,
which end an order, and which may follow which, either way."""

from .. import const


def is_known(status):
    return status in const.STATUS_RANK


def is_cancelled(status):
    return status in const.CANCELLED_STATUSES


def is_final(status):
    """Delivered, returned or cancelled: the order's life is over."""
    return status in const.FINAL_STATUSES


def latest(*statuses):
    """The furthest of ``statuses`` (an empty or unknown one is the least)."""
    return max(statuses, key=lambda status: const.STATUS_RANK.get(status, -1))


def moves_forward(old, new):
    """Whether Cartona's ``new`` status applies to an order Odoo knows as
    ``old``: never backwards, and a cancelled order stays cancelled."""
    if not old:
        return True
    if is_cancelled(old):
        return is_cancelled(new)
    return const.STATUS_RANK[new] >= const.STATUS_RANK[old]


def is_news(known, status):
    """Whether ``status`` tells Cartona, which knows ``known``, something new:
    strictly further on, and nothing after a cancellation."""
    if is_cancelled(known):
        return False
    return const.STATUS_RANK[status] > const.STATUS_RANK.get(known, 0)


def out_for_delivery(status):
    """Assigned to a salesman or further on: Cartona takes no change of the lines."""
    return const.STATUS_RANK.get(status, 0) >= const.STATUS_RANK["assigned_to_salesman"]


def steps_to(known, status):
    """The statuses to send, in order, for Cartona to go from ``known`` to
    ``status``: ``delivered`` is preceded by ``assigned_to_salesman`` when
    Cartona never got it."""
    if status == "delivered" and not out_for_delivery(known):
        return ["assigned_to_salesman", "delivered"]
    return [status]
