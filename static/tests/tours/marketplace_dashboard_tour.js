/** @odoo-module **/
// The data comes from tests/test_ui.py: a marketplace with a sync error, a
// product Cartona refused and a failed job.

import { registry } from "@web/core/registry";

const card = ".o_kanban_record:contains('Cartona (tour)')";
const back = { content: "back to the dashboard", trigger: ".o_breadcrumb .o_back_button", run: "click" };

registry.category("web_tour.tours").add("cartona_marketplace_dashboard", {
    url: "/odoo/action-cartona_marketplace.action_marketplace_dashboard",
    steps: () => [
        {
            content: "the card says what went wrong last",
            trigger: `${card} .o_marketplace_last_error:contains('Cartona is down')`,
        },
        {
            content: "follow the products in error",
            trigger: `${card} .o_marketplace_error_products:contains('1')`,
            run: "click",
        },
        { content: "the refused product", trigger: ".o_list_view .o_data_row:contains('Tour soda')" },
        back,
        {
            content: "follow the failed jobs",
            trigger: `${card} .o_marketplace_failed_jobs:contains('1')`,
            run: "click",
        },
        { content: "the failed job", trigger: ".o_list_view .o_data_row:contains('Tour acknowledgement')" },
        back,
        { content: "requeue them", trigger: `${card} .o_marketplace_requeue`, run: "click" },
        { content: "they are queued again", trigger: ".o_notification:contains('queued again')" },
        { content: "and the figure says so", trigger: `${card} .o_marketplace_failed_jobs:contains('0')` },
    ],
});
