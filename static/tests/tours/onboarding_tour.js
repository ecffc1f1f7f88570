/** @odoo-module **/
import { registry } from "@web/core/registry";

// From install to mapped products: a marketplace is created, its connection
// tested against the sandbox, the catalogue mapped, one proposal corrected,
// and the sure proposals applied: the list filtered on "Sure", all selected.
registry.category("web_tour.tours").add("cartona_onboarding", {
    url: "/odoo/action-cartona_marketplace.action_marketplace_config",
    steps: () => [
        {
            content: "Create a marketplace",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=name] input",
            run: "edit Cartona sandbox",
        },
        {
            trigger: ".o_field_widget[name=auth_token] input",
            run: "edit sandbox-token",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_last_breadcrumb_item:contains(Cartona sandbox)",
        },
        {
            content: "Test the connection",
            trigger: "button[name=action_test_connection]",
            run: "click",
        },
        {
            trigger: ".o_notification:contains(Cartona accepted the token)",
        },
        {
            trigger: ".o_field_widget[name=connection_status] .o_arrow_button_current:contains(Connected)",
        },
        {
            content: "Run the catalogue mapping assistant",
            trigger: "button[name=action_open_mapping_assistant]",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row:contains(311001) .o_data_cell[name=method]:contains(Internal reference)",
        },
        {
            content: "Correct one proposal: the pasta nobody matched",
            trigger: ".o_data_row:contains(330412) .o_data_cell[name=product_id]",
            run: "click",
        },
        {
            trigger: ".o_selected_row .o_field_widget[name=product_id] input",
            run: "edit Spaghetti",
        },
        {
            trigger: ".o-autocomplete--dropdown-menu a:contains(Spaghetti 400 g)",
            run: "click",
        },
        {
            trigger: ".o_list_button_save",
            run: "click",
        },
        {
            trigger: ".o_data_row:contains(330412) .o_data_cell[name=method]:contains(Chosen by hand)",
        },
        {
            trigger: ".o_data_row:contains(550123) .o_data_cell[name=confidence_level]:contains(Likely)",
        },
        {
            content: "Show the sure proposals only",
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: ".o_filter_menu .o_menu_item:contains(Sure)",
            run: "click",
        },
        {
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: ".o_list_view:not(:has(.o_data_row:contains(550123))) .o_data_row:contains(330412)",
        },
        {
            content: "Nothing selected, Apply asks first, saying how many proposals it writes",
            trigger: "button[name=action_apply]",
            run: "click",
        },
        {
            trigger: ".modal .o_data_row:contains(311001)",
        },
        {
            trigger: ".modal button[name=action_confirm]:contains(Apply 3 proposals)",
        },
        {
            content: "Not now",
            trigger: ".modal-footer button:contains(Cancel)",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Select them all",
            trigger: "thead .o_list_record_selector input",
            run: "click",
        },
        {
            trigger: ".o_list_selection_box:contains(selected)",
        },
        {
            content: "Apply the selection",
            trigger: "button[name=action_apply]",
            run: "click",
        },
        {
            trigger: ".o_notification:contains(3 Odoo products are mapped to Cartona)",
        },
    ],
});
