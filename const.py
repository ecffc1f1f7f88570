"""Cartona's vocabulary: endpoint paths, statuses, status actions, reasons.

No logic lives here; every other module reads Cartona's names from this one.
"""

API_BASE_URL_PRODUCTION = "https://supplier-integrations.cartona.com/api/v1/"
API_BASE_URL_STAGING = "https://supplier-integrations.cartona.space/api/v1/"
DEFAULT_AUTH_HEADER = "AuthorizationToken"
USER_AGENT = "Odoo-Cartona-Integration/1.0"

# Endpoint paths, relative to the configured base URL.
ENDPOINT_PULL_ORDERS = "order/pull-orders"
ENDPOINT_ORDER_STATUS = "order/update-order-status"
ENDPOINT_ORDER_STATUS_SINGLE = "order/update-order-status/{hashed_id}"
ENDPOINT_ORDER_DETAILS = "order/update-order-details"
ENDPOINT_PRODUCTS = "supplier-product"
ENDPOINT_PRODUCTS_BULK_UPDATE = "supplier-product/bulk-update"

# Key of the PostgreSQL advisory lock that keeps one pull per configuration.
PULL_LOCK_KEY = 0x43415254
# An acknowledgement queued longer ago than this is not sent: the next pull
# acknowledges what the orders are now.
ACK_MAX_AGE_SECONDS = 120
# Key of the PostgreSQL advisory lock that keeps one edit job per order.
ORDER_EDIT_LOCK_KEY = 0x45444954
# A pull never walks more pages than this in one go, whatever the server says.
MAX_PULL_PAGES = 200
# The pull cron's interval: a poller whose job has not run for this long is
# not running, and the cron pulls in its stead.
POLL_CRON_SECONDS = 60
# An order fetched by number without dates is looked for among the orders
# changed in these last days: the fetch runs in the user's request.
FETCH_ORDER_DAYS = 7
# The catalogue mapping assistant reads no more pages than this.
MAX_CATALOGUE_PAGES = 1000
# Characters of a response body kept in an error.
BODY_EXCERPT_LENGTH = 300

# The pseudo-status that acknowledges an order (it stops coming back until it changes).
STATUS_SYNCED = "synced"

# Order statuses as Cartona sends them, with the design's aliases.
ORDER_STATUSES = [
    ("pending", "Pending"),
    ("editing", "Editing (retailer)"),
    ("approved", "Approved"),
    ("assigned_to_salesman", "Out for delivery"),
    ("delivered", "Delivered"),
    ("returned", "Returned"),
    ("cancelled_by_retailer", "Cancelled by retailer"),
    ("cancelled_by_supplier", "Cancelled by supplier"),
    ("cancelled", "Cancelled"),
    ("return", "Returned (alias)"),
]
CANCELLED_STATUSES = ("cancelled", "cancelled_by_retailer", "cancelled_by_supplier")
# The retailer refused the goods at the door (only after assigned_to_salesman).
RETURNED_STATUSES = ("returned", "return")
# Statuses an order ends in: one first seen so was dealt with outside Odoo.
FINAL_STATUSES = ("delivered", *RETURNED_STATUSES, *CANCELLED_STATUSES)

# Statuses only move forward; a cancellation ends an order (highest rank).
STATUS_RANK = {
    "pending": 0,
    "editing": 0,
    "approved": 1,
    "assigned_to_salesman": 2,
    "delivered": 3,
    "returned": 4,
    "return": 4,
    "cancelled": 5,
    "cancelled_by_retailer": 5,
    "cancelled_by_supplier": 5,
}

# Actions a Cartona status maps to on the Odoo order (decisions.md section 4).
ODOO_ACTIONS = ("draft", "sale", "done", "cancel", "none")
DEFAULT_STATE_MAPPING = {
    "pending": "draft",
    "editing": "none",
    "approved": "sale",
    "assigned_to_salesman": "sale",
    "delivered": "done",
    "returned": "draft",
    "return": "draft",
    "cancelled": "cancel",
    "cancelled_by_retailer": "cancel",
    "cancelled_by_supplier": "cancel",
}

DELIVERED_BY = [
    ("delivered_by_supplier", "Delivered by supplier"),
    ("delivered_by_cartona", "Delivered by Cartona"),
]

CANCELLATION_REASONS = [
    ("out_of_stock", "Out of stock"),
    ("cannot_deliver_the_order", "Cannot deliver the order"),
    ("supplier_asked_me_to_cancel", "Supplier asked me to cancel"),
    ("delayed_order", "Delayed order"),
    ("pending_order_without_action", "Pending order without action"),
    ("removed_items", "Removed items"),
    ("supplier_attitude", "Supplier attitude"),
    ("missing_items", "Missing items"),
    ("expired_products", "Expired products"),
    ("different_prices", "Different prices"),
    ("different_products", "Different products"),
]

SYNC_STATUSES = [
    ("not_synced", "Not synced"),
    ("syncing", "Syncing"),
    ("synced", "Synced"),
    ("error", "Error"),
]

# What a product sync publishes: the price, the stock, or both.
SYNC_PART_PRICE = "price"
SYNC_PART_STOCK = "stock"
SYNC_PARTS = (SYNC_PART_PRICE, SYNC_PART_STOCK)

# Cartona refused the token: never retried, and the connection is in error.
AUTH_FAILED_STATUSES = (401, 403)

# A refused bulk-update is split to isolate the bad item, except when the
# answer is about the endpoint itself: no half of the chunk would fare better.
BULK_UNSPLITTABLE_STATUSES = (404, 405)
# Cartona documents no per-item answer; these words in an item's ``status``
# mean that item was refused (``cartona/answers.py`` reads every bulk answer).
ITEM_FAILED_STATUSES = ("error", "failed", "failure", "fail", "rejected", "invalid")

# The marketplace channel runs one job at a time: an order's status push, its edit and
# an acknowledgement go before the product publications waiting there (queue
# jobs' default priority is 10), so a large inventory never delays them.
ORDER_JOB_PRIORITY = 5

# A job is the connector's when its job function is on this channel
# (data/queue_job_data.xml): marketplace managers read it
# (security/queue_job_security.xml), the dashboard counts it, "Requeue failed
# jobs" finds it, and one that fails for good raises an alert. The order poller
# has a channel of its own.
JOB_CHANNEL = "root.marketplace"
# What a person reads of a connector job that failed for good, by method (the
# method's name when none is given here).
JOB_LABELS = {
    "_publish_pending": "product publication",
    "_acknowledge_orders": "order acknowledgement",
    "_push_marketplace_status": "order status",
    "_push_order_edits": "order edits",
    "_publish_internal_refs": "internal references",
}
# A drain of pending publications reads at most this many rows per item of
# its request: rows of one product are merged, and an inventory of thousands
# is sent over several runs.
PUBLICATION_ROWS_PER_ITEM = 10
