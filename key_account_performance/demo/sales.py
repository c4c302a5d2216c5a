"""The demo story's sales: confirmed orders, invoices, credit notes and payments."""

import datetime
import logging
import math

from odoo import Command
from odoo.tools import SQL

from ..tools import kpi_math
from .story import (
    ORDER_SIZE,
    PRODUCTS,
    SEASON,
)

_logger = logging.getLogger(__name__)


class SalesSteps:
    """The demo story's sales: confirmed orders, invoices, credit notes and payments."""

    def _months(self):
        """(index, first day) of every month of the history up to today."""
        month, index = self.start, 0
        while month <= self.today:
            yield index, month
            index += 1
            month = kpi_math.add_months(month, 1)

    def _monthly_revenue(self, spec, index, month):
        revenue = (
            spec["revenue"] / 3.0 * SEASON[month.month] * (1 + spec["growth"]) ** index
        )
        if spec["story"] == "declining" and month >= self.quarters[-2][0]:
            # part of the sourcing moved to a competitor in the last closed quarter
            revenue *= 0.65
        return revenue

    def _stop_date(self):
        """The account that stopped buying ordered last just before the
        latest closed quarter: that quarter is the one it crossed."""
        return self.quarters[-2][0] - datetime.timedelta(days=3)

    def _create_orders(self):
        rng = self.rng
        yesterday = self.today - datetime.timedelta(days=1)
        tier_index = {"strategic": 0, "key": 1, "growth": 2}
        vals_list, dates = [], []
        for partner, spec in self.accounts:
            weights = [
                product_spec[4][tier_index[spec["tier"]]] for product_spec in PRODUCTS
            ]
            days = []
            for index, month in self._months():
                expected = self._monthly_revenue(spec, index, month)
                count = max(
                    0,
                    round(expected / ORDER_SIZE[spec["tier"]] * rng.uniform(0.9, 1.1)),
                )
                last_day = min(
                    yesterday,
                    kpi_math.add_months(month, 1) - datetime.timedelta(days=1),
                )
                if last_day < month:
                    continue
                # orders of different sizes that add up to the month's
                # revenue within a few percent: a healthy account's quarter
                # does not swing on the draw of a few large orders
                sizes = [rng.uniform(0.85, 1.15) for _n in range(count)]
                month_total = expected * rng.uniform(0.99, 1.01)
                for size in sizes:
                    day = month + datetime.timedelta(
                        days=rng.randint(0, (last_day - month).days)
                    )
                    days.append((day, month_total * size / sum(sizes)))
            if spec["story"] == "stopped":
                days = [
                    (day, amount) for day, amount in days if day <= self._stop_date()
                ]
            elif not any(
                day >= self.today - datetime.timedelta(days=40) for day, _a in days
            ):
                # every account still buying ordered in the last weeks (no false churn risk)
                days.append(
                    (
                        self.today - datetime.timedelta(days=rng.randint(3, 35)),
                        ORDER_SIZE[spec["tier"]] * rng.uniform(0.6, 1.2),
                    )
                )
            for day, amount in sorted(days):
                products = rng.choices(
                    self.products, weights=weights, k=rng.choice((1, 1, 1, 1, 2))
                )
                lines = {}
                for product in products:
                    qty = int(amount / len(products) / product.list_price)
                    if qty:  # a product dearer than its share is left out
                        lines[product] = lines.get(product, 0) + qty
                # the rest of the amount in the cheapest product, at the
                # price that makes the order's total what the story says (a
                # quarter's revenue does not swing on rounding)
                rest = amount - sum(qty * p.list_price for p, qty in lines.items())
                cheapest = min(self.products, key=lambda p: p.list_price)
                filler = None
                if rest > 0:
                    filler = (cheapest, math.ceil(rest / cheapest.list_price))
                contacts = partner.child_ids
                customer = (
                    contacts[rng.randrange(len(contacts))]
                    if rng.random() < 0.3
                    else partner
                )
                moment = datetime.datetime.combine(
                    day,
                    datetime.time(rng.randint(1, 9), rng.choice((0, 15, 30, 45))),
                )
                vals_list.append(
                    {
                        "partner_id": customer.id,
                        "partner_invoice_id": partner.id,
                        "user_id": partner.key_account_manager_id.id,
                        "team_id": self.team.id,
                        # history: created confirmed on their day, in one batch
                        # (action_confirm would only subscribe the customer to
                        # each order's chatter and date the orders today)
                        "state": "sale",
                        "date_order": moment,
                        "order_line": [
                            Command.create(
                                {"product_id": product.id, "product_uom_qty": qty}
                            )
                            for product, qty in lines.items()
                        ]
                        + (
                            [
                                Command.create(
                                    {
                                        "product_id": filler[0].id,
                                        "product_uom_qty": filler[1],
                                        "price_unit": rest / filler[1],
                                    }
                                )
                            ]
                            if filler
                            else []
                        ),
                    }
                )
                dates.append(moment)
        # (no "Extra line" note in the chatter for lines created confirmed)
        orders = (
            self.quiet["sale.order"]
            .with_context(sale_no_log_for_new_lines=True)
            .create(vals_list)
        )
        self.env.flush_all()  # the orders' computed fields, timed with this step
        self.order_dates = dict(zip(orders.ids, (d.date() for d in dates)))
        self.orders = orders
        self.counts["confirmed orders"] = len(orders)
        return orders

    # ------------------------------------------------------------------
    # Invoicing
    # ------------------------------------------------------------------
    def _create_invoices(self):
        """Statements: one invoice a quarter (按季度结算) per account, on the
        quarter's last day, for all the quarter's orders; the running quarter
        is not invoiced yet."""
        env, rng = self.quiet, self.rng
        groups = {}  # (statement day, customer) -> orders, in order
        for order in self.orders:
            run = kpi_math.period_bounds(self.order_dates[order.id], "quarter")[1]
            if run < self.today:
                groups.setdefault((run, order.partner_invoice_id.id), []).append(order)
        # The invoices are built as sale's _create_invoices() builds them
        # (_prepare_invoice, _prepare_invoice_line), all in one create(); the
        # link to the order lines is written once the invoices are paid (see
        # _link_invoices_to_orders).
        vals_list, self.invoiced_sale_lines = [], []
        for (run, _partner_id), orders in sorted(groups.items()):
            vals = orders[0]._prepare_invoice()
            lines, sale_line_ids = [], []
            for order in orders:
                for line in order.order_line:
                    line_vals = line._prepare_invoice_line(sequence=len(lines) + 1)
                    line_vals.pop("sale_line_ids", None)
                    lines.append(Command.create(line_vals))
                    sale_line_ids.append(line.id)
            vals.update(
                invoice_date=run,
                invoice_origin=", ".join(order.name for order in orders),
                invoice_line_ids=lines,
            )
            vals_list.append(vals)
            self.invoiced_sale_lines.append(sale_line_ids)
        invoices = env["account.move"].create(vals_list)
        invoices.action_post()
        self.counts["posted invoices"] = len(invoices)

        # a few credit notes: penalties for late deliveries (three for the declining account)
        spec_of = {partner.id: spec for partner, spec in self.accounts}
        eligible = invoices.filtered(
            lambda m: m.invoice_date < self.today - datetime.timedelta(days=60)
        )
        declining = eligible.filtered(
            lambda m: spec_of[m.commercial_partner_id.id]["story"] == "declining"
        )
        others = eligible - declining
        refunded = declining.browse(declining.ids[-6::2]) | others.browse(
            rng.sample(others.ids, 3)
        )
        refunds = env["account.move"].create(
            [
                {
                    "move_type": "out_refund",
                    "partner_id": invoice.partner_id.id,
                    "invoice_date": invoice.invoice_date
                    + datetime.timedelta(days=rng.randint(10, 25)),
                    "reversed_entry_id": invoice.id,
                    "ref": "Late delivery penalty (%s)" % invoice.name,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": line.product_id.id,
                                "name": "Late delivery penalty (%s)" % invoice.name,
                                "quantity": 1,
                                "price_unit": round(
                                    invoice.amount_untaxed * rng.uniform(0.05, 0.12)
                                ),
                                "tax_ids": [Command.set(line.tax_ids.ids)],
                            }
                        )
                    ],
                }
                for invoice in refunded
                for line in invoice.invoice_line_ids[:1]
            ]
        )
        refunds.action_post()
        self.counts["credit notes"] = len(refunds)
        self._register_payments(invoices)
        self._link_invoices_to_orders(invoices)

    def _link_invoices_to_orders(self, invoices):
        """The invoice lines' link to their order lines (what _create_invoices()
        writes), written after the payments so that sale's paid hook does not
        post an "Invoice paid" note on each of the ~2,000 orders' chatter; then
        the invoiced quantities and statuses of the orders are recomputed."""
        invoice_line_ids, sale_line_ids = [], []
        for invoice, line_ids in zip(invoices, self.invoiced_sale_lines):
            product_lines = invoice.invoice_line_ids.sorted("id")
            assert len(product_lines) == len(line_ids), invoice.name
            invoice_line_ids.extend(product_lines.ids)
            sale_line_ids.extend(line_ids)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO sale_order_line_invoice_rel (invoice_line_id, order_line_id)
            SELECT * FROM unnest(%s::int[], %s::int[])
        """,
                invoice_line_ids,
                sale_line_ids,
            )
        )
        invoice_lines = self.env["account.move.line"].browse(invoice_line_ids)
        sale_lines = self.env["sale.order.line"].browse(sale_line_ids)
        invoice_lines.invalidate_recordset(["sale_line_ids"])
        sale_lines.invalidate_recordset(["invoice_lines"])
        invoice_lines.modified(["sale_line_ids"])
        sale_lines.modified(["invoice_lines"])
        self.env.flush_all()

    def _payment_day(self, invoice, spec):
        """When the customer pays: on a Friday, before the due date for good
        payers, after it for late ones (the declining account later and later)."""
        rng = self.rng
        due = invoice.invoice_date_due
        if spec["story"] == "declining":
            months = (invoice.invoice_date - self.start).days / 30.0
            delay = spec["late"] + months * 1.5 + rng.uniform(-5, 8)
        elif spec["late"]:
            delay = rng.uniform(spec["late"] - 10, spec["late"] + 15)
        elif rng.random() < 0.04:
            delay = rng.uniform(8, 30)  # the odd late payment
        else:
            delay = rng.uniform(-10, 0)
        day = due + datetime.timedelta(days=round(delay))
        if day <= due:  # the Friday before
            day -= datetime.timedelta(days=(day.weekday() - 4) % 7)
        else:  # the Friday after
            day += datetime.timedelta(days=(4 - day.weekday()) % 7)
        return max(day, invoice.invoice_date)

    def _register_payments(self, invoices):
        """Payments of the last two months are registered with the Register
        Payment wizard (they wait for the bank statement: *In payment*); older
        ones are booked from the bank statement, one bank entry per day,
        matched with the invoices (*Paid*)."""
        env = self.quiet
        spec_of = {partner.id: spec for partner, spec in self.accounts}
        stopped_unpaid = invoices.filtered(
            lambda m: spec_of[m.commercial_partner_id.id]["story"] == "stopped"
        ).sorted("invoice_date")[
            -2:
        ]  # the account that stopped buying stopped paying too
        by_day = {}
        for invoice in invoices - stopped_unpaid:
            day = self._payment_day(invoice, spec_of[invoice.commercial_partner_id.id])
            if day < self.today:
                by_day.setdefault(day, env["account.move"])
                by_day[day] |= invoice
        recent = self.today - datetime.timedelta(days=60)
        late = 0
        for day, moves in by_day.items():
            late += len(moves.filtered(lambda m: m.invoice_date_due < day))
        # recent payments: the wizard, one payment per customer and day
        Register = env["account.payment.register"]
        payments = env["account.payment"]
        for day, moves in sorted(by_day.items()):
            if day >= recent:
                payments |= (
                    Register.with_context(
                        active_model="account.move", active_ids=moves.ids
                    )
                    .create({"payment_date": day, "group_payment": True})
                    ._create_payments()
                )
        # older payments: bank entries matched with the invoices, reconciled in one batch
        bank = env["account.journal"].search(
            [("type", "=", "bank"), ("company_id", "=", self.company.id)], limit=1
        )
        entry_vals, receivables = [], []
        for day, moves in sorted(by_day.items()):
            if day >= recent:
                continue
            lines = moves.line_ids.filtered(
                lambda ln: ln.account_id.account_type == "asset_receivable"
            )
            receivables.append(lines)
            entry_vals.append(
                {
                    "move_type": "entry",
                    "journal_id": bank.id,
                    "date": day,
                    "ref": "Customer payments %s" % day,
                    "line_ids": [
                        Command.create(
                            {
                                "account_id": line.account_id.id,
                                "partner_id": line.partner_id.id,
                                "credit": line.debit,
                                "name": "Payment of %s" % line.move_id.name,
                            }
                        )
                        for line in lines
                    ]
                    + [
                        Command.create(
                            {
                                "account_id": bank.default_account_id.id,
                                "debit": sum(lines.mapped("debit")),
                                "name": "Customer payments %s" % day,
                            }
                        )
                    ],
                }
            )
        entries = env["account.move"].create(entry_vals)
        entries.action_post()
        plan = []
        for lines, entry in zip(receivables, entries):
            credits = entry.line_ids.filtered(
                lambda ln: ln.account_id.account_type == "asset_receivable"
            )
            plan.extend(line | credit for line, credit in zip(lines, credits))
        env["account.move.line"]._reconcile_plan(plan)
        self.counts["payments"] = len(payments) + len(plan)
        self.counts["invoices paid late"] = late
