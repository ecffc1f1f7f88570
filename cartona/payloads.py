"""Cartona's order JSON → small typed values.

Every rule of ``_validate_order_data`` lives here, once: a payload that breaks
one raises ``MarketplaceDataError`` naming the field. Only what identifies the
order, its status and its lines can fail it (decisions.md section 9): a side
field the import cannot use (``SIDE_FIELDS``) is left empty and said in
``Order.warnings``, and a cancellation waits on neither money nor retailer
nor lines. Numbers Cartona sends as strings ("12.50") are read as numbers.
Unknown fields are not read, but their strings are checked like the others.
"""

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import cached_property

import phonenumbers

from .. import const
from ..exceptions import MarketplaceDataError
from . import statuses

PRODUCT_KEYS = ("supplier_product_id", "internal_product_id")
# Cartona's retailers are in Egypt: their numbers come without a country code.
DEFAULT_PHONE_REGION = "EG"
# Cartona's orders nest three levels deep; a payload nested deeper than this is
# refused, and cut there when kept (Python's JSON recursion has a limit).
MAX_DEPTH = 32
# Characters no string of an order may carry: PostgreSQL refuses NUL, cannot
# encode an unpaired surrogate, and no control character belongs in an id.
# Free text keeps tab, line feed and carriage return (CRLF line ends).
_NOT_IN_IDENTIFIER = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NOT_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Lengths and magnitudes no real order comes near. Ids and names end up in
# unique or btree indexes, which refuse a row of more than 2,704 bytes; a
# number beyond these would be imported as an absurd order, or overflow later.
MAX_ID_LENGTH = 255
MAX_TEXT_LENGTH = 4000
MAX_QUANTITY = 1_000_000
MAX_MONEY = 1_000_000_000
# Odoo cannot shift a date near the ends of the calendar by a time zone or a lead time.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
# A number written as a string: ASCII digits only ("٤" is no number of Cartona's).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
# What the import can do without: unusable, each is left empty with a warning,
# its strings checked when read (``_Reader.side``) rather than with the payload's.
SIDE_FIELDS = re.compile(
    r"(delivered_by|receipt_id|estimated_delivery_day|delivery_day|retailer_preferred_delivery_date|pickup_date"
    r"|distribution_route_code|note_message|cancellation_reason|return_reason"
    r"|retailer\.(retailer_number|retailer_number2|retailer_address|address_notes)"
    r"|order_details\[\d+\]\.(product_name|comment))"
)


@dataclass(frozen=True)
class Retailer:
    name: str
    code: str | None
    phone: str | None
    phone2: str | None
    address: str | None
    address_notes: str | None

    @property
    def phone_keys(self):
        return [key for key in (phone_key(self.phone), phone_key(self.phone2)) if key]


@dataclass(frozen=True)
class OrderLine:
    index: int
    line_id: str | None
    supplier_product_id: str | None
    internal_product_id: str | None
    product_name: str | None
    unit: str | None
    unit_count: float | None
    amount: float
    price: float
    supplier_discount: float
    cartona_discount: float
    comment: str | None


@dataclass(frozen=True)
class Order:
    hashed_id: str
    status: str
    supplier_code: str | None
    delivered_by: str | None
    receipt_id: str | None
    total_price: float | None
    cartona_credit: float
    installment_cost: float
    wallet_top_up: float
    supplier_rebate: float
    estimated_delivery_day: date | None
    delivery_day: date | None
    preferred_delivery_date: date | None
    pickup_date: date | None
    route_code: str | None
    note: str | None
    cancellation_reason: str | None
    return_reason: str | None
    retailer: Retailer | None
    lines: tuple
    # When Cartona last changed the order (UTC); None when not given or unreadable.
    updated_at: datetime | None = None
    # What the import left empty, one "field problem" each, and their payload keys.
    warnings: tuple = ()
    unusable: tuple = ()

    @cached_property
    def payload_hash(self):
        """The hash of what the import uses of the order, not of its payload: a
        field Cartona adds, or keys it reorders, change nothing."""
        # Not ``updated_at``: the time of a change is no change Odoo applies.
        used = dict(asdict(self), updated_at=None)
        return hashlib.sha256(json.dumps(used, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def otp_required(self):
        """Installment and wallet top-up orders need the retailer's OTP to be delivered."""
        return self.installment_cost > 0 or self.wallet_top_up > 0

    @property
    def cartona_discount_total(self):
        """The discounts Cartona funds: ``applied_cartona_discount`` per piece times amount, over the lines."""
        return sum(line.cartona_discount * line.amount for line in self.lines)

    @property
    def number(self):
        return self.receipt_id or self.hashed_id

    def check_new(self):
        """What a new order needs on top of what every payload needs."""
        if self.retailer is None:
            raise _error(self.hashed_id, "retailer", "is required for a new order and must be an object")
        if not self.lines:
            raise _error(self.hashed_id, "order_details", "must be a non-empty list for a new order")


def phone_key(number, region=DEFAULT_PHONE_REGION):
    """The number in international form (E.164), however it is written:
    ``01001234567``, ``+20 100 123 4567``, ``00201001234567`` and
    ``٠١٠٠١٢٣٤٥٦٧`` all give ``+201001234567``. A number without its country
    code is read as one of ``region``. None for what cannot be a phone number."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(str(number), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def escaped(text, identifier=False):
    """``text`` with what a string of an order may not carry written as JSON
    escapes (``\\u0000``): safe to store, log and show."""
    pattern = _NOT_IN_IDENTIFIER if identifier else _NOT_IN_TEXT
    return pattern.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def dump(data):
    """The payload as JSON text to keep: nesting cut below ``MAX_DEPTH`` and
    every control character escaped, so that any payload can be stored."""
    return escaped(json.dumps(_cut(data, MAX_DEPTH), ensure_ascii=False, default=str), identifier=True)


def _cut(value, depth):
    if isinstance(value, dict | list) and depth <= 0:
        return "…"
    if isinstance(value, dict):
        return {key: _cut(item, depth - 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut(item, depth - 1) for item in value]
    return value


def order_key(data):
    """The id a failed order is kept under: its ``hashed_id``, escaped, so that an
    order whose id itself is bad stays in sight; None when it has none."""
    hashed_id = data.get("hashed_id") if isinstance(data, dict) else None
    if not isinstance(hashed_id, str) or not hashed_id.strip() or len(hashed_id.strip()) > MAX_ID_LENGTH:
        return None
    return escaped(hashed_id.strip(), identifier=True)


def payload_hash(data):
    """``Order.payload_hash`` of a ``pull-orders`` item; None when it does not parse."""
    try:
        return parse_order(data).payload_hash
    except MarketplaceDataError:
        return None


def _error(hashed_id, field, problem, value=None):
    who = f"Cartona order {hashed_id}" if hashed_id else "Cartona order"
    shown = "" if value is None else f" (got {_show(value)})"
    return MarketplaceDataError(f"{who}: {_cut_text(field, 200)} {problem}{shown}", field=field)


def _show(value):
    return _cut_text(repr(value), 60)


def _cut_text(text, length):
    return text if len(text) <= length else text[: length - 3] + "..."


def _is_number(value):
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


def _check_chars(read, field, value, free=False):
    """Identifiers take no control character at all, free text only tab and newlines."""
    match = (_NOT_IN_TEXT if free else _NOT_IN_IDENTIFIER).search(value)
    if match:
        code = ord(match.group())
        what = "an unpaired surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
        raise read.error(field, f"contains {what} (U+{code:04X} at position {match.start()})")


def _check_strings(read, value, field="", depth=0):
    """Every string of the payload, keys included, nested anywhere, under the
    free-text rule (identifiers are held to theirs when read)."""
    if isinstance(value, str):
        _check_chars(read, field, value, free=True)
    elif isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            raise read.error(field, f"is nested deeper than {MAX_DEPTH} levels")
        for key, item in value.items() if isinstance(value, dict) else enumerate(value):
            if isinstance(key, int):
                name = f"{field}[{key}]"
            else:
                name = f"{field}.{escaped(key, identifier=True)}" if field else escaped(key, identifier=True)
                _check_chars(read, name, key)
            if not SIDE_FIELDS.fullmatch(name):
                _check_strings(read, item, name, depth + 1)


class _Reader:
    """Reads fields of one order, naming the field in every error."""

    def __init__(self, hashed_id):
        self.hashed_id = hashed_id
        self.warnings = []
        self.unusable = set()  # the payload keys left empty

    def error(self, field, problem, value=None):
        return _error(self.hashed_id, field, problem, value)

    def side(self, read, *args, default=None, **kwargs):
        """``read(*args, **kwargs)`` of what the order can do without:
        unusable, it is ``default`` and said in ``warnings``."""
        try:
            return read(*args, **kwargs)
        except MarketplaceDataError as exc:
            self.warnings.append(str(exc).removeprefix(f"Cartona order {self.hashed_id}: "))
            if len(args) > 1 and isinstance(args[1], str):
                self.unusable.add(args[1])
            return default

    def text(self, data, key, field=None, required=False, free=False, max_length=None):
        """An identifier, or free text when ``free`` (tab and newlines allowed)."""
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int | None):
            raise self.error(field or key, "must be a string", value)
        if isinstance(value, str):
            _check_chars(self, field or key, value, free)
        value = None if value is None else str(value).strip()
        if not value:
            if required:
                raise self.error(field or key, "is required")
            return None
        max_length = max_length or (MAX_TEXT_LENGTH if free else MAX_ID_LENGTH)
        if len(value) > max_length:
            raise self.error(field or key, f"is longer than {max_length} characters ({len(value)})")
        return value

    def number(self, data, key, field=None, positive=False, default=0.0, maximum=MAX_MONEY):
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            value = float(value.strip())
        if not _is_number(value) or value < 0 or (positive and value == 0):
            problem = "must be a positive number" if positive else "must be a finite number ≥ 0"
            raise self.error(field or key, problem, value)
        if value > maximum:
            raise self.error(field or key, f"is beyond any real order (at most {maximum:,})", value)
        return float(value)

    def day(self, data, key):
        value = data.get(key)
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise self.error(key, "must be a date (YYYY-MM-DD)", value)
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            raise self.error(key, "must be a date (YYYY-MM-DD)", value) from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise self.error(key, f"must be a date between {FIRST_DAY} and {LAST_DAY}", value)
        return day

    def choice(self, data, key, allowed):
        value = self.text(data, key)
        if value is not None and value not in allowed:
            raise self.error(key, f"must be one of {', '.join(allowed)}", value)
        return value


def parse_order(data):
    """Validate one ``pull-orders`` item and return an ``Order``."""
    if not isinstance(data, dict):
        raise _error(None, "order", "must be a JSON object", data)
    hashed_id = data.get("hashed_id")
    if not isinstance(hashed_id, str) or not hashed_id.strip():
        raise _error(None, "hashed_id", "must be a non-empty string", hashed_id)
    _check_chars(_Reader(None), "hashed_id", hashed_id)
    hashed_id = hashed_id.strip()
    if len(hashed_id) > MAX_ID_LENGTH:
        raise _error(None, "hashed_id", f"is longer than {MAX_ID_LENGTH} characters ({len(hashed_id)})", hashed_id)
    if hashed_id in (".", ".."):
        # The id goes into a URL path, where a dot segment is resolved away.
        raise _error(None, "hashed_id", "cannot be a dot segment", hashed_id)
    read = _Reader(hashed_id)
    status = read.text(data, "status", required=True)
    if not statuses.is_known(status):
        raise read.error("status", "is not a Cartona order status", status)
    # A cancellation never waits on money, the retailer or the lines: what of
    # them is unusable is left empty (their strings checked as they are read),
    # and Cartona's word reaches the order.
    cancelled = statuses.is_cancelled(status)
    needed = read.side if cancelled else _strictly
    _check_strings(
        read, {k: v for k, v in data.items() if k not in ("retailer", "order_details")} if cancelled else data
    )

    retailer = None
    if data.get("retailer") is not None:
        retailer = needed(_parse_retailer, read, data["retailer"])

    details = data.get("order_details")
    if details is None:
        details = []
    if not isinstance(details, list):
        raise read.error("order_details", "must be a list", details)
    lines = needed(lambda: tuple(_parse_line(read, index, line) for index, line in enumerate(details)), default=())
    if details and not lines:
        read.unusable.add("order_details")

    total = data.get("total_price")
    return Order(
        hashed_id=hashed_id,
        status=status,
        supplier_code=read.text(data, "supplier_code"),
        delivered_by=read.side(read.choice, data, "delivered_by", [key for key, _label in const.DELIVERED_BY]),
        receipt_id=read.side(read.text, data, "receipt_id"),
        total_price=None if total is None else needed(read.number, data, "total_price"),
        cartona_credit=needed(read.number, data, "cartona_credit", default=0.0),
        installment_cost=needed(read.number, data, "installment_cost", default=0.0),
        wallet_top_up=needed(read.number, data, "wallet_top_up", default=0.0),
        supplier_rebate=needed(read.number, data, "applied_supplier_rebate", default=0.0),
        estimated_delivery_day=read.side(read.day, data, "estimated_delivery_day"),
        delivery_day=read.side(read.day, data, "delivery_day"),
        preferred_delivery_date=read.side(read.day, data, "retailer_preferred_delivery_date"),
        pickup_date=read.side(read.day, data, "pickup_date"),
        route_code=read.side(read.text, data, "distribution_route_code"),
        note=read.side(read.text, data, "note_message", free=True),
        cancellation_reason=read.side(read.text, data, "cancellation_reason", free=True),
        return_reason=read.side(read.text, data, "return_reason", free=True),
        retailer=retailer,
        lines=lines,
        updated_at=moment(data.get("updated_at")),
        warnings=tuple(read.warnings),
        unusable=tuple(sorted(read.unusable)),
    )


def moment(value):
    """A Cartona timestamp (``2026-12-01 09:30:00``, ISO 8601, with or without
    an offset) as a naive UTC datetime, as Odoo stores them and as the pull's
    ``from`` is sent; None for anything else. Only the go-live bound reads it:
    an order whose change date cannot be read is taken as current."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        parsed = parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    except (ValueError, OverflowError):  # no date, or one an offset moves off the calendar
        return None
    # A date no real order has would drop a live order as old.
    return parsed if FIRST_DAY <= parsed.date() <= LAST_DAY else None


def _strictly(read, *args, default=None, **kwargs):
    """``read(*args, **kwargs)`` of what the order cannot do without."""
    return read(*args, **kwargs)


def _parse_retailer(read, data):
    if not isinstance(data, dict):
        raise read.error("retailer", "must be an object", data)
    return Retailer(
        # A partner's name is in a btree index: as short as an id.
        name=read.text(
            data, "retailer_name", "retailer.retailer_name", required=True, free=True, max_length=MAX_ID_LENGTH
        ),
        code=read.text(data, "retailer_code", "retailer.retailer_code"),
        phone=read.side(read.text, data, "retailer_number", "retailer.retailer_number"),
        phone2=read.side(read.text, data, "retailer_number2", "retailer.retailer_number2"),
        address=read.side(read.text, data, "retailer_address", "retailer.retailer_address", free=True),
        address_notes=read.side(read.text, data, "address_notes", "retailer.address_notes", free=True),
    )


def _parse_line(read, index, data):
    field = f"order_details[{index}]"
    if not isinstance(data, dict):
        raise read.error(field, "must be an object", data)
    supplier_product_id = read.text(data, "supplier_product_id", f"{field}.supplier_product_id")
    internal_product_id = read.text(data, "internal_product_id", f"{field}.internal_product_id")
    if not supplier_product_id and not internal_product_id:
        raise read.error(field, "names no product (supplier_product_id or internal_product_id)")
    price_key = "selling_price" if data.get("selling_price") is not None else "price"
    if data.get(price_key) is None:
        raise read.error(f"{field}.selling_price", "is required")
    if data.get("amount") is None:
        raise read.error(f"{field}.amount", "is required")
    unit_count = data.get("unit_count")
    return OrderLine(
        index=index,
        line_id=read.text(data, "id", f"{field}.id"),
        supplier_product_id=supplier_product_id,
        internal_product_id=internal_product_id,
        product_name=read.side(read.text, data, "product_name", f"{field}.product_name", free=True),
        unit=read.text(data, "unit", f"{field}.unit"),
        unit_count=None
        if unit_count is None
        else read.number(data, "unit_count", f"{field}.unit_count", maximum=MAX_QUANTITY),
        amount=read.number(data, "amount", f"{field}.amount", positive=True, maximum=MAX_QUANTITY),
        price=read.number(data, price_key, f"{field}.{price_key}"),
        supplier_discount=read.number(data, "applied_supplier_discount", f"{field}.applied_supplier_discount"),
        cartona_discount=read.number(data, "applied_cartona_discount", f"{field}.applied_cartona_discount"),
        comment=read.side(read.text, data, "comment", f"{field}.comment", free=True),
    )


# Order edits (``order/update-order-details``) ------------------------------


def line_reference(line_id):
    """A Cartona line id as Cartona wrote it: its numeric ids go back as numbers.
    ASCII digits only: ``int`` reads "١٢" as 12 (another line) and refuses "²"."""
    return int(line_id) if line_id.isascii() and line_id.isdigit() else line_id


def order_edit(hashed_id, details):
    """One order's item of ``order/update-order-details``."""
    return {"hashed_id": hashed_id, "order_details": list(details)}


def line_amount(line_id, amount):
    return {"id": line_reference(line_id), "amount": amount}


def line_cancel(line_id):
    return {"id": line_reference(line_id), "cancelled": True}


def line_new(key, value, amount, price):
    """A line the supplier adds, naming its product by ``key`` (one of ``PRODUCT_KEYS``)."""
    return {key: value, "amount": amount, "price": price}


def edit_line_id(hashed_id, value):
    """The id Cartona's answer gives a line the supplier added, held to the
    rules of the line ids of its orders; None when it gives none."""
    return _Reader(hashed_id).text({"id": value}, "id", "order_details.id")


def edit_total(hashed_id, value):
    """The ``total_price`` of Cartona's answer to an edit, held to the rules of an order's."""
    return _Reader(hashed_id).number({"total_price": value}, "total_price", default=None)


# Catalogue -------------------------------------------------------------------

# ``supplier-product`` items are not documented; an older Cartona document
# spells the keys as below (sic). Both spellings are read, first found wins.
CATALOGUE_ID_KEYS = ("supplier_product_id", "suppler_prodcut_id")
CATALOGUE_NAME_KEYS = ("supplier_product_name", "suppler_prodcut_name", "product_name", "base_product_name")


@dataclass(frozen=True)
class CatalogueItem:
    supplier_product_id: str
    internal_product_id: str | None
    name: str | None
    base_product_id: str | None
    unit: str | None
    unit_count: float | None
    selling_price: float | None
    is_published: bool | None


def parse_catalogue_item(data):
    """One ``supplier-product`` item → ``CatalogueItem``; raises
    ``MarketplaceDataError`` naming the field for an item that cannot be used."""
    read = _CatalogueReader()
    if not isinstance(data, dict):
        raise read.error("item", "must be a JSON object", data)
    supplier_product_id = next((value for value in (read.text(data, key) for key in CATALOGUE_ID_KEYS) if value), None)
    if not supplier_product_id:
        raise read.error("supplier_product_id", "is required")
    read.product = supplier_product_id
    name = next((value for value in (read.text(data, key, free=True) for key in CATALOGUE_NAME_KEYS) if value), None)
    unit_count = data.get("unit_count")
    price = data.get("selling_price")
    published = data.get("is_published")
    return CatalogueItem(
        supplier_product_id=supplier_product_id,
        internal_product_id=read.text(data, "internal_product_id"),
        name=name,
        base_product_id=read.text(data, "base_product_id"),
        unit=read.text(data, "unit"),
        unit_count=None if unit_count in (None, "") else read.number(data, "unit_count", positive=True),
        selling_price=None if price in (None, "") else read.number(data, "selling_price"),
        is_published=published if isinstance(published, bool) else None,
    )


def parse_catalogue(items):
    """Cartona's catalogue → ``(items, problems)``: the readable items, one per
    Cartona ID (the first wins), and a sentence for each item left out."""
    parsed, problems, seen = [], [], set()
    for index, data in enumerate(items):
        try:
            item = parse_catalogue_item(data)
        except MarketplaceDataError as exc:
            problems.append(f"#{index + 1}: {exc}")
            continue
        if item.supplier_product_id in seen:
            problems.append(f"#{index + 1}: Cartona product {item.supplier_product_id} is listed twice")
            continue
        seen.add(item.supplier_product_id)
        parsed.append(item)
    return parsed, problems


class _CatalogueReader(_Reader):
    """The order reader's rules, naming the catalogue item in errors."""

    def __init__(self):
        super().__init__(None)
        self.product = None

    def error(self, field, problem, value=None):
        who = f"Cartona product {self.product}" if self.product else "Cartona product"
        shown = "" if value is None else f" (got {_show(value)})"
        return MarketplaceDataError(f"{who}: {field} {problem}{shown}", field=field)
