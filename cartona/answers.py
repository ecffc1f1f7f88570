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
# A position in a list of items and its field: "3.selling_price", "items[3].in_stock".
_ITEM_POSITION = re.compile(r"(?<![\w.])(?:\w+[.\[])?\d+\]?\.([a-z_]{2,})")
# The supplier account itself, not one of its products.
_SUPPLIER = re.compile(r"supplier[ _]code|\bsupplier\b(?![ _-]product)", re.IGNORECASE)
_FLAGS = {True: True, False: False, "true": True, "false": False, "1": True, "0": False}


def item_refusal(item):
    """Why Cartona refused ``item`` of a bulk answer, or None when it did not."""
    if not isinstance(item, dict):
        return None
    if success_flag(item.get("success")) is not None:
        refused = not success_flag(item["success"])
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


def refusal_scope(status_code, text, keys):
    """What Cartona's refusal of a whole bulk request (``text``: what it
    answered) is about: ``"items"`` when it names one of ``keys`` (the items'
    ids) or an item's position (``3.selling_price``, ``items[3]``, as
    validation errors key them); ``"request"`` for an endpoint Cartona does not
    have (``const.BULK_UNSPLITTABLE_STATUSES``) or a refusal of the supplier
    (its code, which the connector gives every item): no part of it would fare
    better; None when it names nothing (``the price 0.5 is too low``): only
    sending parts of the request tells."""
    if status_code in const.BULK_UNSPLITTABLE_STATUSES:
        return "request"
    text = str(text or "")
    fields = _ITEM_POSITION.findall(text)
    if any(field != "supplier_code" for field in fields):
        return "items"
    if any(re.search(rf"(?<![\w#]){re.escape(str(key))}(?![\w#])", text) for key in keys if key):
        return "items"
    if fields or _SUPPLIER.search(text):
        return "request"
    return None


def order_edit_results(data, hashed_id):
    """Cartona's answer to ``order/update-order-details`` for one order:
    ``(order refusal or None, [line results], total_price or None)``, the
    total unchecked (``payloads.edit_total``).

    Undocumented, so both shapes are read: a list of per-order items whose
    ``order_details`` are the line results, or a flat list of line results.
    An order's own refusal stands for every line it gives no result for.
    """
    refusal, lines, total = None, [], None
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict) or item.get("hashed_id") not in (None, hashed_id):
            continue
        details = item.get("order_details")
        if not isinstance(details, list):
            lines.append(item)
            continue
        lines += [line for line in details if isinstance(line, dict)]
        refusal = refusal or item_refusal(item)
        # As Cartona sent it: the caller holds it to the rules of an order's total.
        if item.get("total_price") is not None:
            total = item["total_price"]
    return refusal, lines, total


def success_flag(value):
    """A ``success`` of Cartona's as True or False, however spelt; None for
    what is no flag (a string "false" is no success)."""
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
