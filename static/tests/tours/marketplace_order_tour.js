/** @odoo-module **/
// The data comes from tests/test_ui.py: an approved Cartona order that needs
// the retailer's OTP to be delivered.

import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("cartona_marketplace_order_otp", {
    url: "/odoo/action-cartona_marketplace.action_marketplace_orders",
    steps: () => [
        {
            content: "open the Cartona order",
            trigger: ".o_list_view .o_data_row:contains('C-2026-118204') td[name='name']",
            run: "click",
        },
        { content: "its Cartona tab", trigger: ".o_notebook a.nav-link:contains('Cartona')", run: "click" },
        {
            content: "Cartona's number and status",
            trigger: ".o_field_widget[name='marketplace_order_number']:contains('C-2026-118204')",
        },
        { content: "approved on Cartona", trigger: ".o_field_widget[name='marketplace_status']:contains('Approved')" },
        { content: "open its delivery", trigger: "button[name='action_view_delivery']", run: "click" },
        {
            content: "the delivery names its Cartona order",
            trigger: ".o_field_widget[name='marketplace_order_number']:contains('C-2026-118204')",
        },
        {
            content: "the delivery is loaded",
            trigger: ".o_breadcrumb .o_last_breadcrumb_item:contains('OUT')",
        },
        { content: "enter the retailer's OTP", trigger: ".o_field_widget[name='retailer_otp'] input", run: "edit 4821" },
        { content: "typed", trigger: ".o_field_widget[name='retailer_otp'] input:value(4821)" },
        { content: "save", trigger: ".o_form_button_save", run: "click" },
        { content: "saved", trigger: ".o_form_saved" },
    ],
});
