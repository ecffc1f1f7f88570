"""Cartona's per-item answers of its bulk endpoints: one rule for all of them.

Cartona documents no per-item answer, and a bulk request succeeds as a whole
while refusing some of its items. Read, in this order: ``success`` (a boolean,
or its spelling as ``0``/``1``/``"true"``/``"false"``) decides when present;
otherwise ``status`` as an HTTP code (400 or more) or a word of
``const.ITEM_FAILED_STATUSES``, or a non-empty ``error``, means refused. The
reason is ``message``, else ``error``.
"""

import re

from .. import const

# Cartona's text goes into PostgreSQL, which refuses NUL bytes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FLAGS = {True: True, False: False, "true": True, "false": False, "1": True, "0": False}


def item_refusal(item):
    """Why Cartona refused ``item`` of a bulk answer, or None when it did not."""
    if not isinstance(item, dict):
        return None
    if _flag(item.get("success")) is not None:
        refused = not _flag(item["success"])
    else:
        status = item.get("status")
        refused = bool(item.get("error"))
        if isinstance(status, int) and not isinstance(status, bool):
            refused = refused or status >= 400
        elif isinstance(status, str):
            refused = refused or status.strip().lower() in const.ITEM_FAILED_STATUSES
    if not refused:
        return None
    return short_text(item.get("message") or item.get("error")) or "Cartona refused this item without saying why"


def _flag(value):
    if isinstance(value, str):
        value = value.strip().lower()
    try:
        return _FLAGS.get(value)
    except TypeError:  # a list or a dict is no flag
        return None


def short_text(value):
    """``value`` as one line of bounded length without control characters:
    Cartona's words as Odoo stores and shows them."""
    if value is None:
        return ""
    text = " ".join(_CONTROL.sub(" ", str(value)).split())
    if len(text) > const.BODY_EXCERPT_LENGTH:
        text = text[: const.BODY_EXCERPT_LENGTH] + "…"
    return text
