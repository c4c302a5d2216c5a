import psycopg2

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .kpi_common import KpiCommon


@tagged("post_install", "-at_install")
class TestKpiValidation(KpiCommon):
    def _kpi(self, **vals):
        base = {
            "name": "Broken KPI",
            "code": "t_broken",
            "computation_mode": "count",
            "model_id": self.env["ir.model"]._get("sale.order").id,
            "date_field": "date_order",
            "target": 10,
            "threshold": 0,
        }
        base.update(vals)
        return self.Kpi.create(base)

    def assertRefused(self, *fragments, **vals):
        with self.assertRaises(ValidationError) as caught:
            self._kpi(**vals)
        message = str(caught.exception)
        for fragment in ("Broken KPI",) + fragments:
            self.assertIn(fragment, message)
        return message

    def test_valid_configuration_is_accepted(self):
        kpi = self._kpi(
            domain="[('state', '=', 'sale')]",
            partner_field="partner_id.commercial_partner_id",
        )
        self.assertTrue(kpi.action_test_configuration())

    def test_domain_that_does_not_evaluate(self):
        self.assertRefused(
            "domain", "no_such_field", domain="[('no_such_field', '=', 1)]"
        )
        self.assertRefused("domain", domain="[('state', '=', ")

    def test_invalid_field_paths(self):
        self.assertRefused("partner_idx", partner_field="partner_idx")
        self.assertRefused("not a many2one", partner_field="name.id")
        self.assertRefused("does not point to res.partner", partner_field="user_id")
        self.assertRefused("not a date", date_field="name")
        self.assertRefused("not a number", computation_mode="sum", value_field="name")
        self.assertRefused("required", computation_mode="duration")

    def test_formula_refused(self):
        common = {"computation_mode": "formula", "model_id": False}
        self.assertRefused(
            "unknown names", "no_such_kpi", formula="no_such_kpi * 2", **common
        )
        self.assertRefused("formula", formula="revenue +", **common)
        # injection attempts: imports, dunder access, calls outside the allowed set
        self.assertRefused(
            "formula", formula="__import__('os').system('true')", **common
        )
        self.assertRefused("formula", formula="revenue.__class__", **common)
        self.assertRefused("formula", formula="open('/etc/passwd')", **common)
        self.assertRefused("formula", formula="(lambda: 1)()", **common)
        kpi = self._kpi(formula="max(revenue, 1) / order_count", **common)
        self.assertEqual(kpi.computation_mode, "formula")

    def test_ratio_growth_survey_need_their_inputs(self):
        self.assertRefused("numerator", computation_mode="ratio", model_id=False)
        self.assertRefused("base KPI", computation_mode="growth", model_id=False)
        self.assertRefused("survey", computation_mode="survey", model_id=False)

    def test_formula_loop_refused(self):
        first = self._kpi(
            code="t_loop_a",
            computation_mode="formula",
            model_id=False,
            formula="revenue * 2",
        )
        second = self._kpi(
            code="t_loop_b",
            name="Loop B",
            computation_mode="formula",
            model_id=False,
            formula="t_loop_a + 1",
        )
        with self.assertRaises(ValidationError) as caught:
            first.formula = "t_loop_b * 2"
        self.assertIn("loop", str(caught.exception))
        self.assertTrue(second.exists())

    def test_band_weight_and_code(self):
        self.assertRefused("must differ", target=5, threshold=5)
        self.assertRefused("weight", weight=-1)
        self.assertRefused("code", code="not an identifier")
        with self.assertRaises(ValidationError):
            self._kpi(code="revenue")  # shipped code, shared KPI, same (no) company

    def test_template_line_band_and_weight(self):
        with self.assertRaises(ValidationError):
            self.template.line_ids[0].write({"target": 7, "threshold": 7})
        with self.assertRaises(ValidationError):
            self.template.line_ids[0].weight = -2

    def test_template_version_moves_with_lines(self):
        version = self.template.version
        self.template.line_ids[0].target = 1234.0
        self.assertEqual(self.template.version, version + 1)
        self.template.write(
            {"line_ids": [Command.create({"kpi_id": self.kpi["nps"].id})]}
        )
        self.assertEqual(self.template.version, version + 2)

    def test_overlapping_templates_refused(self):
        segment = self.env["key.account.segment"].create({"name": "Overlap segment"})
        Template = self.env["key.account.kpi.template"]
        Template.create(
            {
                "name": "First",
                "tier_ids": [Command.set(self.tier.ids)],
                "segment_ids": [Command.set(segment.ids)],
            }
        )
        with self.assertRaises(ValidationError) as caught:
            Template.create(
                {
                    "name": "Second",
                    "tier_ids": [Command.set(self.tier.ids)],
                    "segment_ids": [Command.set(segment.ids)],
                }
            )
        self.assertIn("two templates", str(caught.exception))

    def test_compute_for_period_bad_arguments(self):
        with self.assertRaises(ValidationError) as caught:
            self.Value.compute_for_period("2025-13-45", "2025-03-31")
        self.assertIn("2025-13-45", str(caught.exception))
        with self.assertRaises(ValidationError) as caught:
            self.Value.compute_for_period("2025-03-31", "2025-01-01")
        self.assertIn("before", str(caught.exception))
        with self.assertRaises(ValidationError):
            self.Value.compute_for_period("2025-01-01", "2025-03-31", ["abc"])
        with self.assertRaises(ValidationError):
            self.Value.compute_for_period("2025-01-01", "2025-03-31", [999999999])
        self.assertEqual(
            self.Value.compute_for_period("2025-01-01", "2025-03-31", []), []
        )

    def test_value_unique_per_partner_kpi_period(self):
        vals = {
            "partner_id": self.partner_a.id,
            "kpi_id": self.kpi["revenue"].id,
            "date_from": "2025-01-01",
            "date_to": "2025-03-31",
            "value": 1.0,
        }
        self.Value.create(vals)
        with (
            self.assertRaises(psycopg2.IntegrityError),
            mute_logger("odoo.sql_db"),
            self.cr.savepoint(),
        ):
            self.Value.create(vals)
            self.Value.flush_model()
