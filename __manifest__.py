{
    "name": "Cartona Marketplace Integration",
    "summary": "Cartona B2B marketplace orders become sale orders; stock, prices and statuses flow back",
    "version": "18.0.1.0.0",
    "category": "Sales/Sales",
    "author": "cartona_marketplace developers",
    "license": "LGPL-3",
    "depends": ["sale_management", "sale_stock", "queue_job"],
    "external_dependencies": {"python": ["requests"]},
    "data": [
        "security/marketplace_security.xml",
        "security/ir.model.access.csv",
        "data/cron_data.xml",
        "views/marketplace_config_views.xml",
        "views/marketplace_sync_log_views.xml",
        "views/marketplace_menu.xml",
    ],
    "application": True,
}
