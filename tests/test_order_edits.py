"""A salesman's change of a Cartona order's lines reaches Cartona
(``order/update-order-details``), once, in Cartona's unit, and comes back as a
no-op."""

import json

import requests
import responses

from odoo import Command, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.cartona_marketplace import const
from odoo.addons.cartona_marketplace.exceptions import MarketplaceRetryableError
from odoo.addons.queue_job.tests.common import trap_jobs

from .common import ImportCase, jobs_of, make_user, perform_jobs


class EditCase(ImportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Normal sale rights, nothing of the marketplace's.
        cls.salesman = make_user(cls.env, "edit-salesman", "salesman")

    def setUp(self):
        super().setUp()
        self.pull([self.order_data("Qx7mK2aP"), self.order_data("Lr4tN8wQ")])
        self.http.reset()
        self.draft, self.confirmed = self.sale("Qx7mK2aP"), self.sale("Lr4tN8wQ")
        self.sent = []
        self.next_id = 70001

    def serve_edits(self, refuse=None, status=200, only=None):
        """A Cartona that accepts every line (a new line gets an id), or
        refuses each with ``refuse`` (each of the line ids ``only`` when
        given); the requests are kept in ``self.sent``."""

        def answer(request):
            body = json.loads(request.body)
            self.sent.append(body)
            if status != 200:
                return status, {}, json.dumps({"message": refuse})
            results = []
            for detail in body[0]["order_details"]:
                result = {
                    key: detail[key] for key in ("id", "supplier_product_id", "internal_product_id") if key in detail
                }
                if refuse and (only is None or detail.get("id") in only):
                    result.update(success=False, message=refuse)
                else:
                    if "id" not in result:
                        result["id"] = self.next_id
                        self.next_id += 1
                    result["success"] = True
                results.append(result)
            return 200, {}, json.dumps([{"hashed_id": body[0]["hashed_id"], "success": True, "order_details": results}])

        self.http.add_callback(responses.POST, self.url(const.ENDPOINT_ORDER_DETAILS), callback=answer)
        # The stock the orders reserve is published too.
        self.http.add(responses.POST, self.url(const.ENDPOINT_PRODUCTS_BULK_UPDATE), json=[])

    def line(self, order, line_id):
        return order.order_line.filtered(lambda line: line.cartona_line_id == line_id)

    def commit(self):
        """What the commit of the user's transaction does: jobs queued at precommit."""
        self.env.flush_all()
        self.env.cr.precommit.run()
        self.env.invalidate_all()

    def edit(self, order, *commands, user=None):
        """``commands`` on the order's lines as the salesman, committed; returns the trap."""
        with trap_jobs() as trap:
            order.with_user(user or self.salesman).write({"order_line": list(commands)})
            self.commit()
        return trap

    def push(self, trap, jobs=1):
        self.assertEqual(len(jobs_of(trap, "_push_order_edits")), jobs)
        perform_jobs(trap)

    def details(self, index=-1):
        return self.sent[index][0]["order_details"]


class TestOrderEdits(EditCase):
    def test_quantity_reduced(self):
        self.serve_edits()
        oil = self.line(self.draft, "52001")
        trap = self.edit(self.draft, Command.update(oil.id, {"product_uom_qty": 3}))
        job = trap.enqueued_jobs[0]
        self.assertTrue(job.recordset.env.su, "the push runs as the connector")
        self.assertEqual((job.recordset, job.args), (self.draft, ()), "queued on the order it sends")
        self.assertEqual(job.priority, const.ORDER_JOB_PRIORITY, "as the status pushes of the order")
        self.push(trap)
        self.assertEqual(self.sent, [[{"hashed_id": "Qx7mK2aP", "order_details": [{"id": 52001, "amount": 3}]}]])
        self.assertEqual((oil.product_uom_qty, oil.cartona_amount, oil.price_unit), (3, 3, 470))
        self.assertEqual(self.draft.marketplace_sync_status, "synced")
        self.assertEqual(self.draft.amount_total, 3 * 470 + 20 * 30)
        # Run again, the job finds nothing to send.
        self.assertIn("already has", self.draft._push_order_edits())
        self.assertEqual(len(self.sent), 1)

    def test_one_job_per_order_and_transaction(self):
        self.sugar.taxes_id = self.env.company.account_sale_tax_id
        self.serve_edits()
        oil, rice = self.line(self.draft, "52001"), self.line(self.draft, "52002")
        with trap_jobs() as trap:
            self.draft.with_user(self.salesman).write({"order_line": [Command.update(oil.id, {"product_uom_qty": 3})]})
            self.commit()  # a savepoint runs the precommit hooks too
            rice.with_user(self.salesman).product_uom_qty = 15
            oil.with_user(self.salesman).product_uom_qty = 2
            self.commit()
            self.push(trap)
        self.assertEqual(self.details(), [{"id": 52001, "amount": 2}, {"id": 52002, "amount": 15}])
        self.assertEqual(len(self.sent), 1)

    def test_line_removed(self):
        self.serve_edits()
        rice = self.line(self.draft, "52002")
        trap = self.edit(self.draft, Command.delete(rice.id))
        self.assertEqual(self.draft.cartona_removed_lines, {"52002": self.rice.display_name})
        self.push(trap)
        self.assertEqual(self.details(), [{"id": 52002, "cancelled": True}])
        self.assertFalse(self.draft.cartona_removed_lines)
        self.assertEqual(self.draft.amount_total, 4 * 470)

    def test_confirmed_line_set_to_zero_is_cancelled(self):
        # Odoo keeps the lines of a confirmed order: quantity 0 removes one.
        self.serve_edits()
        sugar = self.line(self.confirmed, "52103")
        self.push(self.edit(self.confirmed, Command.update(sugar.id, {"product_uom_qty": 0})))
        self.assertEqual(self.details(), [{"id": 52103, "cancelled": True}])
        self.assertEqual(sugar.cartona_amount, 0)
        # Cartona sends the order back without the line: nothing to review.
        data = self.order_data("Lr4tN8wQ", total_price=1350)
        del data["order_details"][2]
        self.pull([data])
        self.assertEqual(self.confirmed.order_line.mapped("product_uom_qty"), [2, 5, 0])
        self.assertFalse(self.confirmed.activity_ids)
        self.assertEqual(self.confirmed.amount_total, 1350)

    def test_line_added(self):
        self.sugar.taxes_id = self.env.company.account_sale_tax_id
        self.serve_edits()
        trap = self.edit(self.draft, Command.create({"product_id": self.sugar.id, "product_uom_qty": 5}))
        total = self.draft.amount_total
        self.push(trap)
        # What the retailer pays per kg: 1.00 and the product's 15% tax.
        self.assertEqual(self.details(), [{"supplier_product_id": "220790", "amount": 5, "price": 1.15}])
        added = self.line(self.draft, "70001")
        self.assertTrue(added.cartona_imported)
        self.assertEqual((added.product_uom_qty, added.cartona_amount, added.price_unit), (5, 5, 1.0))
        # Then priced as Cartona's lines are: the product's own tax, the same total.
        self.assertEqual(added.tax_id, self.sugar.taxes_id)
        self.assertAlmostEqual(self.draft.amount_total, total)

    def test_a_product_not_on_cartona_cannot_be_added(self):
        other = self.env["product.product"].create({"name": "Not on Cartona"})
        with self.assertRaisesRegex(UserError, "not on Cartona"):
            self.edit(self.draft, Command.create({"product_id": other.id, "product_uom_qty": 1}))

    def test_box_of_12_line_converted(self):
        self.oil.taxes_id = self.env.company.account_sale_tax_id
        self.serve_edits()
        unit = self.env.ref("uom.product_uom_unit")
        # 24 oil bottles at 1.15 (tax included) are 2 boxes of 12 at 13.80 on Cartona.
        trap = self.edit(
            self.draft, Command.create({"product_id": self.oil.id, "product_uom": unit.id, "product_uom_qty": 24})
        )
        self.push(trap)
        self.assertEqual(self.details(), [{"internal_product_id": "311#1", "amount": 2, "price": 13.8}])
        added = self.line(self.draft, "70001")
        self.assertEqual((added.product_uom, added.product_uom_qty, added.price_unit), (self.box12, 2, 12.0))
        self.assertAlmostEqual(added.price_total, 24 * 1.15)
        # Cartona sells whole boxes.
        with self.assertRaisesRegex(UserError, "whole Box of 12"):
            self.edit(
                self.draft, Command.create({"product_id": self.oil.id, "product_uom": unit.id, "product_uom_qty": 30})
            )
        # A Cartona line keeps Cartona's unit.
        oil = self.line(self.draft, "52001")
        with self.assertRaisesRegex(UserError, "Cartona's"):
            self.edit(self.draft, Command.update(oil.id, {"product_uom": unit.id, "product_uom_qty": 48}))

    def test_offer_lines_kept_apart(self):
        self.serve_edits()
        offer, normal = self.line(self.confirmed, "52101"), self.line(self.confirmed, "52102")
        self.push(self.edit(self.confirmed, Command.update(normal.id, {"product_uom_qty": 3})))
        self.assertEqual(self.details(), [{"id": 52102, "amount": 3}])
        self.assertEqual((offer.product_uom_qty, offer.cartona_amount, offer.price_unit), (2, 2, 175))
        self.assertEqual((normal.product_uom_qty, normal.cartona_amount, normal.price_unit), (3, 3, 200))
        self.assertEqual(self.confirmed.amount_total, 2 * 175 + 3 * 200 + 10 * 2)

    def test_refused_edit_shown(self):
        self.serve_edits(refuse="Amount is more than the retailer ordered")
        oil = self.line(self.draft, "52001")
        self.push(self.edit(self.draft, Command.update(oil.id, {"product_uom_qty": 6})))
        self.assertEqual(oil.cartona_amount, 4, "Cartona still has 4")
        self.assertEqual(self.draft.marketplace_sync_status, "error")
        self.assertIn("Amount is more than the retailer ordered", self.draft.marketplace_error_message)
        self.assertIn(oil.product_id.display_name, self.draft.marketplace_error_message)
        activity = self.draft.activity_ids
        self.assertEqual(activity.summary, "Cartona refused an order edit")
        self.assertIn("Amount is more than", activity.note)
        self.assertIn("Amount is more than", self.draft.message_ids[0].body)
        self.assertEqual(self.logs(("operation_type", "=", "order_edit"))[0].status, "warning")
        # Corrected, the edit goes again on demand.
        oil.with_user(self.salesman).product_uom_qty = 3
        self.http.reset()
        self.serve_edits()
        with trap_jobs() as trap:
            self.draft.action_marketplace_sync_now()
            self.commit()
            self.push(trap)
        self.assertEqual(self.details(), [{"id": 52001, "amount": 3}])
        self.assertEqual((oil.cartona_amount, self.draft.marketplace_sync_status), (3, "synced"))

    def test_cartona_out_of_reach_is_retried(self):
        self.http.add(responses.POST, self.url(const.ENDPOINT_ORDER_DETAILS), status=503)
        oil = self.line(self.draft, "52001")
        trap = self.edit(self.draft, Command.update(oil.id, {"product_uom_qty": 3}))
        with self.raises(MarketplaceRetryableError):
            perform_jobs(trap)
        self.assertEqual(self.draft.marketplace_sync_status, "error")
        self.assertIn("503", self.draft.marketplace_error_message)
        self.assertEqual(oil.cartona_amount, 4, "still to send")

    def test_an_edit_partly_refused_keeps_what_cartona_took(self):
        """Cartona takes the oil and refuses the rice of one request: the oil is
        Cartona's, the rice is shown refused and goes again, alone, once corrected."""
        self.serve_edits(refuse="Amount is more than the retailer ordered", only={52002})
        oil, rice = self.line(self.draft, "52001"), self.line(self.draft, "52002")
        self.push(
            self.edit(
                self.draft,
                Command.update(oil.id, {"product_uom_qty": 3}),
                Command.update(rice.id, {"product_uom_qty": 25}),
            )
        )
        self.assertEqual(self.details(), [{"id": 52001, "amount": 3}, {"id": 52002, "amount": 25}])
        self.assertEqual((oil.cartona_amount, rice.cartona_amount), (3, 20), "Cartona has the oil, not the rice")
        self.assertEqual(self.draft.marketplace_sync_status, "error")
        message = self.draft.marketplace_error_message
        self.assertIn(f"{rice.product_id.display_name} to 25: Amount is more than the retailer ordered", message)
        self.assertNotIn(oil.product_id.display_name, message)
        self.http.reset()
        self.serve_edits()
        self.push(self.edit(self.draft, Command.update(rice.id, {"product_uom_qty": 18})))
        self.assertEqual(self.details(), [{"id": 52002, "amount": 18}], "the oil is not sent again")
        self.assertEqual((oil.cartona_amount, rice.cartona_amount), (3, 18))
        self.assertEqual(self.draft.marketplace_sync_status, "synced")

    def test_an_edit_whose_answer_is_lost_is_sent_again_as_it_was(self):
        """Cartona applies the edit but its answer never arrives: the retry
        sends the same amounts (not a difference), which Cartona has already."""
        self.serve_edits()
        answer = next(r for r in self.http.registered() if r.url == self.url(const.ENDPOINT_ORDER_DETAILS)).callback

        def applied_then_lost(request):
            answer(request)
            raise requests.Timeout("read timed out")

        self.http.reset()
        self.http.add_callback(responses.POST, self.url(const.ENDPOINT_ORDER_DETAILS), callback=applied_then_lost)
        oil, rice = self.line(self.draft, "52001"), self.line(self.draft, "52002")
        trap = self.edit(self.draft, Command.update(oil.id, {"product_uom_qty": 3}), Command.delete(rice.id))
        (job,) = trap.enqueued_jobs
        with self.raises(MarketplaceRetryableError):
            self.push(trap)
        self.assertEqual(self.draft.marketplace_sync_status, "error")
        self.assertEqual(oil.cartona_amount, 4, "not known to be Cartona's")
        self.assertEqual(self.draft.cartona_removed_lines, {"52002": self.rice.display_name})
        # The job's retry, and this time the answer arrives.
        self.http.reset()
        self.serve_edits()
        self.env.invalidate_all()
        job.perform()
        self.assertEqual(self.sent[0], self.sent[1])
        self.assertEqual(self.details(), [{"id": 52002, "cancelled": True}, {"id": 52001, "amount": 3}])
        self.assertEqual((oil.cartona_amount, self.draft.marketplace_sync_status), (3, "synced"))
        self.assertFalse(self.draft.cartona_removed_lines)

    def test_two_lines_of_one_product_added_at_once(self):
        """Two new lines of sugar in one edit: Cartona answers two lines of one
        product key, each kept on its own line, in order."""
        self.serve_edits()
        trap = self.edit(
            self.draft,
            Command.create({"product_id": self.sugar.id, "product_uom_qty": 5}),
            Command.create({"product_id": self.sugar.id, "product_uom_qty": 3}),
        )
        self.push(trap)
        self.assertEqual(
            self.details(),
            [
                {"supplier_product_id": "220790", "amount": 5, "price": 1.0},
                {"supplier_product_id": "220790", "amount": 3, "price": 1.0},
            ],
        )
        first, second = self.line(self.draft, "70001"), self.line(self.draft, "70002")
        self.assertEqual((first.product_uom_qty, first.cartona_amount), (5, 5))
        self.assertEqual((second.product_uom_qty, second.cartona_amount), (3, 3))
        self.assertEqual(self.draft.marketplace_sync_status, "synced")
        # Nothing is left to send: a second run sends nothing.
        self.assertEqual(len(self.sent), 1)
        self.assertFalse(self.draft.order_line.filtered(lambda line: not line.cartona_imported))

    def test_refused_request_shown(self):
        self.serve_edits(refuse="Order is locked", status=422)
        rice = self.line(self.draft, "52002")
        self.push(self.edit(self.draft, Command.delete(rice.id)))
        self.assertEqual(self.draft.marketplace_sync_status, "error")
        self.assertIn("Order is locked", self.draft.marketplace_error_message)
        self.assertIn("Cartona keeps it", self.draft.marketplace_error_message)
        # Nothing left that Odoo could send again.
        self.assertFalse(self.draft.cartona_removed_lines)

    def test_edit_after_assignment_refused(self):
        self.confirmed.action_out_for_delivery()
        normal = self.line(self.confirmed, "52102")
        with trap_jobs() as trap:
            with self.raises(UserError, "assigned to a salesman"):
                normal.with_user(self.salesman).product_uom_qty = 3
            with self.raises(UserError, "assigned to a salesman"):
                self.confirmed.with_user(self.salesman).write(
                    {"order_line": [Command.create({"product_id": self.rice.id, "product_uom_qty": 1})]}
                )
            self.commit()
        self.assertEqual(len(jobs_of(trap, "_push_order_edits")), 0)
        self.assertEqual(normal.product_uom_qty, 5)
        self.confirmed.sudo().marketplace_status = "delivered"
        with self.assertRaisesRegex(UserError, "delivered"):
            normal.with_user(self.salesman).product_uom_qty = 3

    def test_orders_delivered_by_cartona_are_never_edited_from_odoo(self):
        self.pull([self.order_data("Pz2cV6yE", status="pending")])
        order = self.sale("Pz2cV6yE")
        with self.assertRaisesRegex(UserError, "Cartona delivers"):
            order.order_line.with_user(self.salesman).product_uom_qty = 1

    def test_an_edit_made_before_assignment_is_not_sent_after(self):
        self.serve_edits()
        normal = self.line(self.confirmed, "52102")
        trap = self.edit(self.confirmed, Command.update(normal.id, {"product_uom_qty": 3}))
        self.confirmed.action_out_for_delivery()
        self.push(trap)
        self.assertFalse(self.sent)
        self.assertIn("Not sent to Cartona", self.confirmed.marketplace_error_message)

    def test_no_loop_after_the_next_pull(self):
        self.sugar.taxes_id = self.env.company.account_sale_tax_id
        self.serve_edits()
        oil, rice = self.line(self.draft, "52001"), self.line(self.draft, "52002")
        self.push(
            self.edit(
                self.draft,
                Command.update(oil.id, {"product_uom_qty": 3}),
                Command.delete(rice.id),
                Command.create({"product_id": self.sugar.id, "product_uom_qty": 5}),
            )
        )
        lines = self.draft.order_line
        before = lines.read(["cartona_line_id", "product_uom_qty", "price_unit", "write_date"])
        # Cartona sends the order back as the edit left it.
        data = self.order_data("Qx7mK2aP", total_price=3 * 470 + 5 * 1.15)
        data["order_details"] = [
            dict(data["order_details"][0], amount=3),
            {"id": 70001, "supplier_product_id": "220790", "unit": "kg", "unit_count": 1, "amount": 5, "price": 1.15},
        ]
        self.http.reset()
        self.serve_edits()
        with trap_jobs() as trap:
            self.assertEqual(self.pull([data])["updated"], 1)
            self.commit()
        self.assertEqual(len(jobs_of(trap, "_push_order_edits")), 0)
        self.assertEqual(self.draft.order_line, lines)
        self.assertEqual(lines.read(["cartona_line_id", "product_uom_qty", "price_unit", "write_date"]), before)
        self.assertEqual(self.draft.amount_total, data["total_price"])
        self.assertFalse(self.draft.activity_ids)
        self.assertFalse(self.logs(("status", "in", ("warning", "error"))))
        self.assertEqual(len(self.sent), 1)

    def test_an_unreadable_answer_is_logged_not_kept(self):
        # Cartona accepts the added line, but its id and total break the rules of an order's.
        answers = [({"id": 1}, "NaN"), ("70\x0001", "Infinity"), ("7" * 300, "1e12"), (True, '"940 EGP"')]
        total = self.draft.cartona_total_price

        def answering(line_id, total_price):
            def answer(request):
                body = json.loads(request.body)
                details = [dict(detail, id=line_id, success=True) for detail in body[0]["order_details"]]
                item = json.dumps({"hashed_id": "Qx7mK2aP", "success": True, "order_details": details})
                return 200, {}, f'[{item[:-1]}, "total_price": {total_price}}}]'

            return answer

        for line_id, total_price in answers:
            with self.subTest(line_id=line_id, total_price=total_price):
                self.http.reset()
                self.http.add_callback(
                    responses.POST, self.url(const.ENDPOINT_ORDER_DETAILS), callback=answering(line_id, total_price)
                )
                trap = self.edit(self.draft, Command.create({"product_id": self.sugar.id, "product_uom_qty": 5}))
                self.push(trap)
                added = self.draft.order_line.filtered(lambda line: line.cartona_imported and not line.cartona_line_id)
                self.assertEqual(added[-1:].cartona_amount, 5, "Cartona has it")
                self.assertEqual(self.draft.cartona_total_price, total)
                log = self.logs(("operation_type", "=", "order_edit"))[0]
                self.assertEqual(log.status, "warning")
                self.assertIn("Cartona's answer is not kept", log.message)
                self.assertIn("Cartona's answer is not kept", self.draft.message_ids[0].body)

    def test_pull_waits_for_an_edit_on_its_way(self):
        # The edit is committed, its job not run yet, and Cartona sends the
        # order as it was: Odoo keeps the user's lines.
        oil = self.line(self.draft, "52001")
        trap = self.edit(self.draft, Command.update(oil.id, {"product_uom_qty": 3}))
        self.pull([self.order_data("Qx7mK2aP", note_message="Call first")])
        self.assertEqual(oil.product_uom_qty, 3)
        self.assertEqual(self.draft.cartona_note, "Call first")
        self.serve_edits()
        self.push(trap)
        self.assertEqual(self.details(), [{"id": 52001, "amount": 3}])

    def test_callers_without_sale_rights_trigger_nothing(self):
        portal = make_user(self.env, "edit-portal", "portal")
        employee = make_user(self.env, "edit-employee", "employee")
        oil = self.line(self.draft, "52001")
        for user in (portal, employee):
            with self.subTest(user=user.login), trap_jobs() as trap:
                with self.raises(AccessError):
                    oil.with_user(user).write({"product_uom_qty": 1})
                with self.raises(AccessError):
                    oil.with_user(user).unlink()
                self.commit()
                trap.assert_jobs_count(0)
        # The job's method is private: Odoo refuses it over RPC.
        with self.assertRaises(AccessError):
            models.check_method_name("_push_order_edits")
        self.assertEqual((oil.product_uom_qty, oil.cartona_amount), (4, 4))
        self.assertFalse(self.draft.cartona_removed_lines)
