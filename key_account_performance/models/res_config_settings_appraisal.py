from markupsafe import Markup

from odoo import api, fields, models

from ..tools import kpi_math, payout_curve

# the preview chart's drawing box (SVG user units) and margins
CHART_W, CHART_H, CHART_PAD = 360, 180, 32


class ResConfigSettings(models.TransientModel):
    """The appraisal's payout curve in the settings, with a preview (chart
    and table of score → payout %)."""

    _inherit = "res.config.settings"  # pylint: disable=consider-merging-classes-inherited

    key_account_payout_threshold = fields.Float(
        related="company_id.key_account_payout_threshold", readonly=False
    )
    key_account_payout_threshold_rate = fields.Float(
        related="company_id.key_account_payout_threshold_rate", readonly=False
    )
    key_account_payout_target = fields.Float(
        related="company_id.key_account_payout_target", readonly=False
    )
    key_account_payout_accelerator = fields.Float(
        related="company_id.key_account_payout_accelerator", readonly=False
    )
    key_account_payout_cap = fields.Float(
        related="company_id.key_account_payout_cap", readonly=False
    )
    key_account_payout_mode = fields.Selection(
        related="company_id.key_account_payout_mode", readonly=False
    )
    key_account_appraisal_rank_by_team = fields.Boolean(
        related="company_id.key_account_appraisal_rank_by_team", readonly=False
    )
    key_account_appraisal_top_count = fields.Integer(
        related="company_id.key_account_appraisal_top_count", readonly=False
    )
    key_account_external_factor_materiality = fields.Float(
        related="company_id.key_account_external_factor_materiality", readonly=False
    )
    key_account_appraisal_dispute_days = fields.Integer(
        related="company_id.key_account_appraisal_dispute_days", readonly=False
    )
    key_account_payout_preview = fields.Html(
        string="Payout Preview",
        compute="_compute_key_account_payout_preview",
        sanitize=False,
    )

    @api.depends(
        "key_account_payout_threshold",
        "key_account_payout_threshold_rate",
        "key_account_payout_target",
        "key_account_payout_accelerator",
        "key_account_payout_cap",
        "key_account_payout_mode",
    )
    def _compute_key_account_payout_preview(self):
        for settings in self:
            curve = payout_curve.Curve(
                settings.key_account_payout_threshold,
                settings.key_account_payout_threshold_rate,
                settings.key_account_payout_target,
                settings.key_account_payout_accelerator,
                settings.key_account_payout_cap,
                settings.key_account_payout_mode or "marginal",
            )
            if payout_curve.curve_errors(curve):
                settings.key_account_payout_preview = Markup(
                    '<p class="text-danger">%s</p>'
                ) % self.env._(
                    "The curve is not valid: the threshold must be below the target "
                    "score, the payout at the threshold between 0 and 100 %."
                )
                continue
            settings.key_account_payout_preview = settings._payout_chart(
                curve
            ) + settings._payout_table(curve)

    def _payout_chart(self, curve):
        """An SVG line of the curve over scores 0-100 (every half point)."""
        top = max(curve.cap, 100.0) or 100.0
        inner_w = CHART_W - 2 * CHART_PAD
        inner_h = CHART_H - 2 * CHART_PAD

        def x(score):
            return CHART_PAD + inner_w * score / 100.0

        def y(percent):
            return CHART_H - CHART_PAD - inner_h * percent / top

        points = [
            (s / 2.0, payout_curve.payout_percent(s / 2.0, curve)) for s in range(201)
        ]
        path = " ".join("%.1f,%.1f" % (x(s), y(p)) for s, p in points)
        target_line = "%.1f" % y(100.0)
        labels = Markup("").join(
            Markup(
                '<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>'
            )
            % (x(score), CHART_H - CHART_PAD + 14, int(score))
            for score in (0, 20, 40, 60, 80, 100)
        )
        return Markup(
            '<svg class="o_kap_payout_chart" width="%(w)s" height="%(h)s" '
            'viewBox="0 0 %(w)s %(h)s" role="img" aria-label="%(title)s">'
            '<line x1="%(pad)s" y1="%(bottom)s" x2="%(right)s" y2="%(bottom)s" '
            'stroke="#888"/>'
            '<line x1="%(pad)s" y1="%(pad)s" x2="%(pad)s" y2="%(bottom)s" stroke="#888"/>'
            '<line x1="%(pad)s" y1="%(target)s" x2="%(right)s" y2="%(target)s" '
            'stroke="#bbb" stroke-dasharray="4 3"/>'
            '<text x="4" y="%(target_text)s" font-size="10">100 %%</text>'
            '<text x="4" y="%(top_text)s" font-size="10">%(top)s %%</text>'
            '<polyline fill="none" stroke="#714B67" stroke-width="2" points="%(path)s"/>'
            "%(labels)s"
            # the axis title's baseline above the bottom edge: descenders stay inside
            '<text x="%(mid)s" y="%(axis_y)s" font-size="10" text-anchor="middle">%(axis)s</text>'
            "</svg>"
        ) % {
            "w": CHART_W,
            "h": CHART_H,
            "pad": CHART_PAD,
            "bottom": CHART_H - CHART_PAD,
            "right": CHART_W - CHART_PAD,
            "target": target_line,
            "target_text": "%.1f" % (y(100.0) + 3),
            "top_text": "%.1f" % (y(top) + 3),
            "top": kpi_math.format_rounded(top, 0),
            "path": path,
            "labels": labels,
            "mid": CHART_W / 2,
            "axis_y": CHART_H - 4,
            "axis": self.env._("Appraisal score"),
            "title": self.env._("Payout curve"),
        }

    def _payout_table(self, curve):
        """A table of score → payout % at the curve's telling points."""
        rows = Markup("").join(
            Markup("<tr><td>%s</td><td>%s %%</td></tr>")
            % (kpi_math.format_rounded(score, 1), kpi_math.format_rounded(percent, 1))
            for score, percent in payout_curve.preview_points(curve)
        )
        return Markup(
            '<table class="table table-sm o_kap_payout_table w-auto mt-2">'
            "<thead><tr><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
        ) % (self.env._("Score"), self.env._("Payout (%)"), rows)
