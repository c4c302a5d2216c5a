from odoo import api, fields, models


class KeyAccountValueModel(models.Model):
    """One fit of the customer-value model, with its backtest.

    ``compute_key_account_value`` creates one record per run: the model is
    fitted on the history up to ``as_of`` and applied for the next
    ``horizon_days``; the same fit with the history cut one horizon earlier
    (``cutoff_date``) is scored on the orders that came after the cut-off.
    """

    _name = "key.account.value.model"
    _description = "Customer Value Model (fit and backtest)"
    _order = "fit_date desc, id desc"
    _rec_name = "as_of"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    fit_date = fields.Datetime(
        string="Fitted On", default=fields.Datetime.now, required=True
    )
    as_of = fields.Date(required=True, help="Only orders up to this day were used.")
    horizon_days = fields.Integer(string="Horizon (days)")
    method = fields.Selection(
        [
            ("gradient_boosting", "Gradient boosting (trained one horizon back)"),
            (
                "gradient_boosting_short",
                "Gradient boosting (shorter window, stretched)",
            ),
            ("rhythm", "Rhythm estimate (too little history)"),
        ],
    )
    training_window = fields.Integer(string="Training Window (days)")
    n_train = fields.Integer(string="Training Rows")
    n_customers = fields.Integer(string="Customers Scored")
    # backtest
    cutoff_date = fields.Date(
        string="Backtest Cut-off",
        help="The backtest fits with the history up to this day and "
        "compares its predictions with the orders placed after it, up to As Of.",
    )
    backtest_method = fields.Selection(
        selection="_selection_method",
    )
    backtest_customers = fields.Integer()
    auc = fields.Float(
        string="AUC",
        digits=(16, 3),
        aggregator="avg",
        help="Area under the ROC curve of 'ordered again in the horizon' "
        "(0.5 = chance, 1 = perfect).",
    )
    has_auc = fields.Boolean(
        string="AUC Defined", help="Both buyers and non-buyers in the backtest."
    )
    predicted_orders = fields.Float(digits=(16, 1))
    actual_orders = fields.Float(digits=(16, 1))
    error_pct = fields.Float(
        string="Total Error (%)",
        compute="_compute_error_pct",
        store=True,
        digits=(16, 1),
        help="(predicted - actual) / actual orders of the backtest.",
    )

    @api.model
    def _selection_method(self):
        return self._fields["method"].selection

    @api.depends("predicted_orders", "actual_orders")
    def _compute_error_pct(self):
        for record in self:
            record.error_pct = (
                (record.predicted_orders - record.actual_orders)
                / record.actual_orders
                * 100.0
                if record.actual_orders
                else 0.0
            )
