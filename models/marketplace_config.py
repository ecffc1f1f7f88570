import json
import logging
from urllib.parse import urlsplit, urlunsplit

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .. import const
from ..access import MANAGER_GROUP, USER_GROUP, check_caller
from ..cartona import statuses
from ..exceptions import MarketplaceError

_logger = logging.getLogger(__name__)

# Configuration field → the concern whose state record holds it.
SYNC_STATE_FIELDS = {
    "last_pull_date": "order_pull",
    "pull_next_page": "order_pull",
    "pull_walk_started": "order_pull",
    "pull_walk_from": "order_pull",
    "total_orders_pulled": "order_pull",
    "last_sync_date": "order_pull",
    "import_orders_from": "order_pull",
    "last_reconciliation_date": "product_sync",
}
# The sync logs that say whether Cartona takes the token: connection tests and
# refused tokens, whatever request met them.
CONNECTION_LOG_DOMAIN = [
    "|",
    ("operation_type", "=", "connection_test"),
    ("status_code", "in", const.AUTH_FAILED_STATUSES),
]


def _pull_target(config):
    """``(URL, supplier code)`` of what ``config`` pulls, written one way."""
    url = urlsplit((config.api_base_url or "").strip())
    base = urlunsplit((url.scheme.lower(), url.netloc.lower(), url.path.rstrip("/"), url.query, ""))
    return base, (config.supplier_code or "").strip()


def _pull_same_orders(config, other):
    """Whether two configurations on one token pull the same orders: the same
    URL, and no supplier code (every account's orders) or the same one."""
    (url, code), (other_url, other_code) = _pull_target(config), _pull_target(other)
    return url == other_url and (not code or not other_code or code == other_code)


class MarketplaceConfig(models.Model):
    _name = "marketplace.config"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Marketplace Configuration"
    _order = "sequence, id"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one("res.company", required=True, default=lambda self: self.env.company, index=True)

    # API
    api_base_url = fields.Char(
        "API Base URL",
        required=True,
        default=const.API_BASE_URL_PRODUCTION,
        help="Endpoint paths are relative to this URL.",
    )
    auth_token = fields.Char(groups="cartona_marketplace.group_marketplace_manager", copy=False)
    auth_header = fields.Char(required=True, default=const.DEFAULT_AUTH_HEADER)
    supplier_code = fields.Char(
        help="When one token serves several supplier accounts: the account this "
        "configuration handles. Orders of other accounts are ignored.",
    )

    # Sync settings
    auto_sync_stock = fields.Boolean(default=True)
    auto_sync_prices = fields.Boolean(default=True)
    auto_pull_orders = fields.Boolean(default=True)

    # Performance
    batch_size = fields.Integer(default=100, help="Products per bulk request.")
    retry_attempts = fields.Integer(default=3, help="Retries of a failed job.")
    timeout = fields.Integer(default=30, help="Seconds to wait for Cartona's answer.")
    pull_page_size = fields.Integer(default=50, help="Orders per pulled page.")
    pull_poll_floor = fields.Integer(
        "Fastest Poll (seconds)",
        default=3,
        help="While orders keep coming, Cartona is asked again this many seconds after the start of the last pull.",
    )
    pull_poll_idle = fields.Integer(
        "Idle Poll (seconds)",
        default=4,
        help="When Cartona has no new order, it is asked again this many seconds after the start of the last "
        "pull: an order waits at most about this long. Raise it to ask Cartona less often.",
    )

    # Order pull cursor
    # What the connector records at run time lives on its state records
    # (one writer per row); the configuration shows it.
    sync_state_ids = fields.One2many("marketplace.sync.state", "marketplace_config_id")
    last_pull_date = fields.Datetime(
        "Orders Pulled Until",
        compute="_compute_sync_state",
        inverse="_inverse_last_pull_date",
        help="Start of the last complete pull: the next pull asks for orders changed since then, minus the overlap.",
    )
    import_orders_from = fields.Datetime(
        compute="_compute_sync_state",
        inverse="_inverse_import_orders_from",
        help="Orders Cartona last changed before this moment are acknowledged and logged, not imported. "
        "Left empty, the first pull Cartona answers sets it to the first time Cartona accepted the token "
        "(a connection test, or that pull). Set it earlier before going live to take in orders in flight.",
    )
    import_final_orders_live = fields.Boolean(
        "Import Finished Orders as Live",
        help="An order Odoo first sees delivered, returned or cancelled is recorded as a quotation, moving "
        "no stock or money: it was dealt with outside Odoo. Tick to confirm, deliver and invoice such "
        "orders as if Odoo had seen them from the start.",
    )
    pull_overlap_minutes = fields.Integer(default=60, help="How far back before the last pull each pull looks again.")
    pull_next_page = fields.Integer(compute="_compute_sync_state")
    pull_walk_started = fields.Datetime(compute="_compute_sync_state")
    pull_walk_from = fields.Datetime(compute="_compute_sync_state")
    parked_order_count = fields.Integer(compute="_compute_parked_order_count")

    # What imported orders get
    warehouse_id = fields.Many2one(
        "stock.warehouse",
        check_company=True,
        help="Warehouse of imported orders, and whose stock is published.",
    )
    pricelist_id = fields.Many2one("product.pricelist", check_company=True)
    team_id = fields.Many2one("crm.team", "Sales Team", check_company=True)
    user_id = fields.Many2one("res.users", "Salesperson", help="Salesperson of imported orders.")
    responsible_id = fields.Many2one(
        "res.users",
        required=True,
        default=lambda self: self._default_responsible(),
        domain=[("share", "=", False)],
        help="Gets what the connector needs a person for (waiting orders, orders to handle by hand) "
        "when the order has no salesperson.",
    )
    tax_ids = fields.Many2many(
        "account.tax",
        string="Taxes",
        check_company=True,
        domain=[("type_tax_use", "=", "sale")],
        help="Fallback: price-included taxes put on imported lines of products without sales taxes of "
        "their own. Cartona's prices are what the retailer pays.",
    )

    # Status & statistics
    connection_status = fields.Selection(
        [("not_tested", "Not tested"), ("connected", "Connected"), ("error", "Error")],
        compute="_compute_from_logs",
        search="_search_connection_status",
        help="Outcome of the last connection test or refused token.",
    )
    connection_message = fields.Text(compute="_compute_from_logs")
    last_sync_date = fields.Datetime(compute="_compute_sync_state")
    last_error = fields.Text(compute="_compute_from_logs", help="The latest error in the sync logs.")
    total_products_synced = fields.Integer(
        compute="_compute_total_products_synced",
        help="Products published over the sync logs kept (30 days).",
    )
    total_orders_pulled = fields.Integer(compute="_compute_sync_state")
    last_reconciliation_date = fields.Datetime(
        "Last Full Product Sync",
        compute="_compute_sync_state",
        help="Once a day every mapped product's price and stock are sent again, changed or not.",
    )

    # Invoicing on delivery (models/marketplace_invoicing.py)
    invoice_mode = fields.Selection(
        [("off", "Off"), ("draft", "Draft invoices"), ("posted", "Posted invoices")],
        "Invoicing",
        required=True,
        default="off",
        help="Invoice each order when it is delivered, with Cartona's part settled on the invoice.",
    )
    cartona_collects_cash = fields.Boolean(
        "Cartona collects the cash on the orders it delivers",
        default=True,
        help="On orders Cartona delivers, its courier collects the retailer's cash: Cartona owes the whole "
        "invoice, and the wallet top-up never passes through the supplier. Off: the retailer owes its cash "
        "part, as on the supplier's own deliveries.",
    )
    cartona_partner_id = fields.Many2one(
        "res.partner",
        check_company=True,
        help="Owes what Cartona covers of each order (on its receivable); is owed the wallet top-ups "
        "collected in cash (on its payable). Created when invoicing is turned on.",
    )
    cartona_journal_id = fields.Many2one(
        "account.journal",
        check_company=True,
        domain=[("type", "=", "general")],
        help="Journal of the entries that move Cartona's part of an invoice to the Cartona partner. "
        "Created when invoicing is turned on.",
    )

    custom_state_mapping = fields.Text(
        help='JSON object: Cartona status → action ("draft", "sale", "done", "cancel", "none"). '
        "Statuses not named keep the default action.",
    )
    sync_log_count = fields.Integer(compute="_compute_sync_log_count")

    _sql_constraints = [
        ("batch_size_positive", "CHECK(batch_size > 0)", "The batch size must be positive."),
        ("timeout_positive", "CHECK(timeout > 0)", "The timeout must be positive."),
        # queue_job reads max_retries=0 as "retry forever".
        ("retry_attempts_positive", "CHECK(retry_attempts > 0)", "Retry attempts must be at least 1."),
        ("pull_page_size_positive", "CHECK(pull_page_size > 0)", "The page size must be positive."),
        ("pull_poll_floor_positive", "CHECK(pull_poll_floor > 0)", "The fastest poll must be at least a second apart."),
        ("pull_poll_idle_positive", "CHECK(pull_poll_idle > 0)", "The idle poll must be at least a second apart."),
        ("pull_overlap_positive", "CHECK(pull_overlap_minutes >= 0)", "The overlap cannot be negative."),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        configs = super().create(vals_list)
        configs._ensure_invoicing_setup()
        self.env["marketplace.poller"]._arm(configs)
        return configs

    def write(self, vals):
        result = super().write(vals)
        if vals.get("invoice_mode", "off") != "off" or "cartona_partner_id" in vals or "cartona_journal_id" in vals:
            self._ensure_invoicing_setup()
        if vals.get("active") or vals.get("auto_pull_orders"):
            self.env["marketplace.poller"]._arm(self)
        return result

    def _ensure_invoicing_setup(self):
        """Invoicing needs a Cartona partner and journal: the ones another
        configuration of the company uses, else new ones. Done in the user's
        own write, so the connector never writes the configuration row."""
        for config in self.filtered(lambda c: c.invoice_mode != "off"):
            vals = {}
            same_company = self.sudo().search([("company_id", "=", config.company_id.id), ("id", "!=", config.id)])
            if not config.cartona_partner_id:
                partner = same_company.cartona_partner_id[:1] or self.env["res.partner"].sudo().create(
                    {"name": "Cartona", "is_company": True, "company_id": config.company_id.id}
                )
                vals["cartona_partner_id"] = partner.id
            if not config.cartona_journal_id:
                journals = self.env["account.journal"].sudo().with_company(config.company_id)
                journal = same_company.cartona_journal_id[:1] or journals.search(
                    [("company_id", "=", config.company_id.id), ("code", "=", "CRTN"), ("type", "=", "general")],
                    limit=1,
                )
                vals["cartona_journal_id"] = (
                    journal
                    or journals.create(
                        {
                            "name": "Cartona",
                            "code": self._free_journal_code(config.company_id),
                            "type": "general",
                            "company_id": config.company_id.id,
                        }
                    )
                ).id
            if vals:
                config.write(vals)

    def _free_journal_code(self, company):
        """CRTN, or CRT1…CRT99 when another journal (of any type, archived
        included) holds it: journal codes are unique per company."""
        taken = set(
            self.env["account.journal"]
            .sudo()
            .with_context(active_test=False)
            .search([("company_id", "=", company.id), ("code", "=like", "CRT%")])
            .mapped("code")
        )
        return next(code for code in ("CRTN", *(f"CRT{n}" for n in range(1, 100))) if code not in taken)

    def _aggregate_per_config(self, model, aggregate, domain=()):
        """``{config: value}`` of ``aggregate`` over the ``model`` records of these configurations."""
        return dict(
            self.env[model]._read_group(
                [("marketplace_config_id", "in", self.ids), *domain], ["marketplace_config_id"], [aggregate]
            )
        )

    def _compute_sync_log_count(self):
        counts = self._aggregate_per_config("marketplace.sync.log", "__count")
        for config in self:
            config.sync_log_count = counts.get(config, 0)

    def _compute_total_products_synced(self):
        # Counted from the logs: product jobs never write the configuration row.
        totals = self._aggregate_per_config(
            "marketplace.sync.log",
            "records_processed:sum",
            [("operation_type", "in", ("product_sync", "stock_sync")), ("status", "in", ("success", "warning"))],
        )
        for config in self:
            config.total_products_synced = totals.get(config, 0)

    def _compute_parked_order_count(self):
        counts = self._aggregate_per_config("marketplace.parked.order", "__count")
        for config in self:
            config.parked_order_count = counts.get(config, 0)

    @api.depends(*(f"sync_state_ids.{name}" for name in SYNC_STATE_FIELDS))
    def _compute_sync_state(self):
        empty = self.env["marketplace.sync.state"]
        for config in self:
            states = {state.concern: state for state in config.sudo().sync_state_ids}
            for name, concern in SYNC_STATE_FIELDS.items():
                config[name] = states.get(concern, empty)[name]

    # A manager may move the watermark (to pull older orders again, say) and
    # the go-live bound; both are kept with the pull's state (decisions §8).
    # One inverse each: a form saves only the field it changed, and the other
    # one, computed by the same method, would read as empty.
    def _inverse_last_pull_date(self):
        for config in self:
            self.env["marketplace.sync.state"]._of(config, "order_pull").last_pull_date = config.last_pull_date

    def _inverse_import_orders_from(self):
        for config in self:
            self.env["marketplace.sync.state"]._of(config, "order_pull").import_orders_from = config.import_orders_from

    def _compute_from_logs(self):
        # Failures are recorded by inserting sync logs, from whichever
        # transaction met them; what the configuration shows is read back,
        # latest row by index (the dashboard shows it for every configuration).
        logs = self.env["marketplace.sync.log"]
        for config in self:
            connection = max(
                logs._latest(config, [("operation_type", "=", "connection_test")]),
                logs._latest(config, [("status_code", "in", const.AUTH_FAILED_STATUSES)]),
                key=lambda log: log.id,
            )
            failed = connection.status == "error"
            config.connection_status = ("error" if failed else "connected") if connection else "not_tested"
            config.connection_message = failed and connection.message
            config.last_error = logs._latest(config, [("status", "=", "error")]).message

    def _search_connection_status(self, operator, value):
        if operator not in ("=", "!=", "in", "not in"):
            raise UserError(self.env._("The connection status cannot be searched with %s.", operator))
        wanted = {value} if operator in ("=", "!=") else set(value)
        logs = self.env["marketplace.sync.log"]
        latest = logs.browse(
            log_id for _config, log_id in logs._read_group(CONNECTION_LOG_DOMAIN, ["marketplace_config_id"], ["id:max"])
        )
        tested = latest.marketplace_config_id
        failed = latest.filtered(lambda log: log.status == "error").marketplace_config_id
        by_status = {"error": failed, "connected": tested - failed}
        selected = self.browse().union(*(by_status.get(status, self.browse()) for status in wanted))
        positive = operator in ("=", "in")
        if "not_tested" in wanted:  # the configurations no such log names
            return [("id", "not in" if positive else "in", (tested - selected).ids)]
        return [("id", "in" if positive else "not in", selected.ids)]

    @api.constrains("custom_state_mapping")
    def _check_custom_state_mapping(self):
        for config in self:
            config._parse_state_mapping(config.custom_state_mapping)

    @api.constrains("api_base_url", "auth_token", "supplier_code", "active")
    def _check_shared_token(self):
        """Two configurations pulling the same orders would import each one
        twice. Several accounts on one token: each configuration must say
        which one, and no two the same. A URL is the same with or without its
        trailing slash, whatever the case of its host."""
        for config in self.sudo().filtered("active"):
            if not config.auth_token:
                continue
            same_token = self.sudo().search([("id", "!=", config.id), ("auth_token", "=", config.auth_token)])
            others = same_token.filtered(lambda other, config=config: _pull_same_orders(config, other))
            if others:
                raise ValidationError(
                    self.env._(
                        "%(config)s would pull the same Cartona orders as %(others)s (same URL and token): "
                        "give each one its own supplier code.",
                        config=config.name,
                        others=", ".join(others.mapped("name")),
                    )
                )

    @api.constrains("tax_ids")
    def _check_tax_ids(self):
        for config in self:
            excluded = config.tax_ids.filtered(lambda t: not t.price_include)
            if excluded:
                raise ValidationError(
                    self.env._(
                        "Tax %(taxes)s is not included in the price. Cartona's prices are what the "
                        "retailer pays, so only price-included taxes keep the order's total equal "
                        "to Cartona's.",
                        taxes=", ".join(excluded.mapped("name")),
                    )
                )

    @api.model
    def _parse_state_mapping(self, text):
        """Return the custom mapping as a dict, refusing unknown keys and values."""
        if not text or not text.strip():
            return {}
        try:
            mapping = json.loads(text)
        except ValueError as exc:
            raise ValidationError(self.env._("The state mapping is not valid JSON: %s", exc)) from exc
        if not isinstance(mapping, dict):
            raise ValidationError(self.env._("The state mapping must be a JSON object of status → action."))
        for status, action in mapping.items():
            if not statuses.is_known(status):
                raise ValidationError(
                    self.env._(
                        'Unknown Cartona status "%(status)s" in the state mapping. Known: %(known)s.',
                        status=status,
                        known=", ".join(const.STATUS_RANK),
                    )
                )
            if action not in const.ODOO_ACTIONS:
                raise ValidationError(
                    self.env._(
                        'Unknown Odoo action "%(action)s" for status "%(status)s" in the state '
                        "mapping. Known: %(known)s.",
                        action=action,
                        status=status,
                        known=", ".join(const.ODOO_ACTIONS),
                    )
                )
        return mapping

    def _get_state_mapping(self):
        self.ensure_one()
        return dict(const.DEFAULT_STATE_MAPPING, **self._parse_state_mapping(self.custom_state_mapping))

    def action_pull_orders(self):
        check_caller(self, "write", MANAGER_GROUP)
        self.ensure_one()
        try:
            stats = self.env["marketplace.order.pull"]._pull_and_process_orders(self)
        except MarketplaceError as exc:
            return self._notify(self.env._("Pull failed"), str(exc), "danger")
        if stats is None:
            return self._notify(self.env._("Pull skipped"), self.env._("A pull is already running."), "warning")
        summary = self.env["marketplace.order.pull"]._summary(stats)
        return self._notify(self.env._("Orders pulled"), summary or self.env._("No new orders."), "success")

    def action_view_parked_orders(self):
        check_caller(self, "read", USER_GROUP)
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("cartona_marketplace.action_marketplace_parked_order")
        action["domain"] = [("marketplace_config_id", "=", self.id)]
        return action

    def action_test_connection(self):
        check_caller(self, "write", MANAGER_GROUP)
        self.ensure_one()
        log = self.env["marketplace.sync.log"]
        # Its log lines, failed or not, are the connection status.
        try:
            self.env["marketplace.api"]._get_products(self, page=1, per_page=1, operation_type="connection_test")
        except MarketplaceError as exc:
            return self._notify(self.env._("Connection failed"), str(exc), "danger")
        log._log_operation(self.id, "connection_test", "success", self.env._("Connected to %s", self.api_base_url))
        return self._notify(self.env._("Connected"), self.env._("Cartona accepted the token."), "success")

    def action_open_mapping_assistant(self):
        """Read the whole Cartona catalogue and propose an Odoo product for each
        of its products, in a list to review and apply."""
        check_caller(self, "write", MANAGER_GROUP)
        self.ensure_one()
        try:
            items, problems, complete = self.env["marketplace.api"]._read_catalogue(self)
        except MarketplaceError as exc:
            return self._notify(self.env._("Cannot read the Cartona catalogue"), str(exc), "danger")
        wizard = self.env["marketplace.mapping.wizard"].create({"config_id": self.id, "complete": complete})
        wizard._run(items, problems)
        return wizard._open()

    def _notify(self, title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": kind == "danger",
                # Closing reloads the record the button was pressed on; a reload
                # of the view would show a form opened with "New" blank again.
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_view_sync_logs(self):
        check_caller(self, "read", USER_GROUP)
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("cartona_marketplace.action_marketplace_sync_log")
        action["domain"] = [("marketplace_config_id", "=", self.id)]
        action["context"] = {"default_marketplace_config_id": self.id}
        return action

    def _get_stock_warehouse(self):
        """The warehouse whose free quantity is published."""
        self.ensure_one()
        return self.warehouse_id or self.env["stock.warehouse"].search(
            [("company_id", "=", self.company_id.id)], limit=1
        )
