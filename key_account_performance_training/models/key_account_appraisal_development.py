from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

# a KPI's weighted score moved when it changed by more than this (as the
# follow-up's "improved" of key_account_performance)
MOVE_TOLERANCE = 0.005


class KeyAccountAppraisalDevelopment(models.Model):
    """Training on the development KPIs of an appraisal:

    * on a weak KPI (kind ``weak``), the courses mapped to the KPI
      (``key.account.kpi.training_course_ids``) are proposed, with the
      appraised person's status in each and an Enrol action;
    * on a follow-up (kind ``follow_up``: a weak KPI of the previous
      appraisal), the mapped courses the person completed within this
      appraisal's period show next to whether the KPI moved (its weighted
      score now against the previous appraisal's: up, down or unchanged).

    Nothing is stored: the courses and memberships are read when the
    appraisal is shown, two queries for all the lines at once.
    """

    _inherit = "key.account.appraisal.development"

    training_course_ids = fields.Many2many(
        "slide.channel",
        string="Courses",
        compute="_compute_training",
        help="The eLearning courses mapped to this KPI.",
    )
    training_to_enrol_ids = fields.Many2many(
        "slide.channel",
        string="Courses to Enrol In",
        compute="_compute_training",
        help="The courses mapped to this KPI the appraised person has not joined yet.",
    )
    training_status = fields.Char(
        string="Enrolment",
        compute="_compute_training",
        help="The appraised person's status in each course mapped to this KPI.",
    )
    training_completed_ids = fields.Many2many(
        "slide.channel",
        string="Courses Completed",
        compute="_compute_training",
        help="The courses mapped to this KPI that the appraised person completed within "
        "the appraisal's period.",
    )
    training_completed_detail = fields.Char(
        string="Completed",
        compute="_compute_training",
        help="The courses completed within the appraisal's period, with their date.",
    )
    kpi_trend = fields.Selection(
        [
            ("up", "Up"),
            ("down", "Down"),
            ("unchanged", "Unchanged"),
            ("no_data", "No Data"),
        ],
        string="KPI Moved",
        compute="_compute_kpi_trend",
        help="The KPI's weighted score in this appraisal against the previous appraisal's.",
    )
    kpi_trend_detail = fields.Char(
        string="Previous → Now",
        compute="_compute_kpi_trend",
        help="The KPI's weighted score in the previous appraisal, in this one, and the change.",
    )

    @api.depends("kpi_id.training_course_ids", "appraisal_id.user_id", "kind")
    def _compute_training(self):
        # the mapped courses the reader may see (eLearning's record rules),
        # read for all the lines' KPIs at once
        courses = self.kpi_id.training_course_ids
        partners = self.appraisal_id.user_id.sudo().partner_id
        # the reader sees the appraisal, hence the person's progress in the
        # courses of its KPIs; eLearning lets only its officers read
        # memberships
        memberships = {}
        if courses and partners:
            for row in (
                self.env["slide.channel.partner"]
                .sudo()
                .search_read(
                    [
                        ("channel_id", "in", courses.ids),
                        ("partner_id", "in", partners.ids),
                    ],
                    [
                        "channel_id",
                        "partner_id",
                        "member_status",
                        "key_account_completed_date",
                    ],
                    load=None,
                )
            ):
                memberships[row["channel_id"], row["partner_id"]] = row
        status_labels = dict(
            self.env["slide.channel.partner"]
            ._fields["member_status"]
            ._description_selection(self.env)
        )
        for dev in self:
            appraisal = dev.appraisal_id
            partner_id = appraisal.user_id.sudo().partner_id.id
            mapped = dev.kpi_id.training_course_ids
            to_enrol = mapped.browse()
            completed = mapped.browse()
            statuses, done = [], []
            for course in mapped:
                row = memberships.get((course.id, partner_id))
                if not row or row["member_status"] == "invited":
                    to_enrol |= course
                    statuses.append(
                        self.env._("%(course)s: not enrolled", course=course.name)
                    )
                    continue
                statuses.append(
                    self.env._(
                        "%(course)s: %(status)s",
                        course=course.name,
                        status=status_labels[row["member_status"]],
                    )
                )
                when = row["key_account_completed_date"]
                if (
                    dev.kind == "follow_up"
                    and row["member_status"] == "completed"
                    and when
                    and appraisal.date_from <= when <= appraisal.date_to
                ):
                    completed |= course
                    done.append(
                        self.env._(
                            "%(course)s (%(date)s)",
                            course=course.name,
                            date=fields.Date.to_string(when),
                        )
                    )
            dev.training_course_ids = mapped
            dev.training_to_enrol_ids = to_enrol
            dev.training_status = "; ".join(statuses)
            dev.training_completed_ids = completed
            dev.training_completed_detail = ", ".join(done)

    @api.depends("kind", "score", "previous_score", "has_score", "delta")
    def _compute_kpi_trend(self):
        for dev in self:
            if dev.kind != "follow_up":
                dev.kpi_trend = False
                dev.kpi_trend_detail = False
                continue
            if not dev.has_score:
                dev.kpi_trend = "no_data"
                dev.kpi_trend_detail = "%.1f → —" % dev.previous_score
                continue
            change = dev.score - dev.previous_score
            if change > MOVE_TOLERANCE:
                dev.kpi_trend = "up"
            elif change < -MOVE_TOLERANCE:
                dev.kpi_trend = "down"
            else:
                dev.kpi_trend = "unchanged"
            dev.kpi_trend_detail = "%.1f → %.1f (%+.1f)" % (
                dev.previous_score,
                dev.score,
                change,
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_enrol_training(self):
        """Enrol the appraised person in the courses mapped to these KPIs
        that they have not joined yet, through eLearning's own enrolment
        (``slide.channel._action_add_members``). Allowed to the person, their
        team leader and key-account managers."""
        if not self:
            return True
        self.check_access("read")
        self._check_enrol_rights()
        enrolled = []
        for dev in self:
            if not dev.training_course_ids:
                raise UserError(
                    self.env._(
                        "No course is mapped to the KPI %(kpi)s (an administrator maps "
                        "courses in the KPI's Training group).",
                        kpi=dev.kpi_id.name,
                    )
                )
            courses = dev.training_to_enrol_ids
            if not courses:
                continue
            # sudo: the person's partner, whose user a colleague may not read
            partner = dev.appraisal_id.user_id.sudo().partner_id
            # eLearning's own filter would skip the courses on invitation for
            # anyone but their officers
            # sudo: _check_enrol_rights decided who may enrol the person
            courses_sudo = courses.sudo()
            courses_sudo._action_add_members(partner)
            enrolled += courses_sudo.mapped("name")
        self.invalidate_recordset(["training_to_enrol_ids", "training_status"])
        if not enrolled:
            message = self.env._("Already enrolled in every course of these KPIs.")
        else:
            message = self.env._(
                "%(person)s enrolled in: %(courses)s",
                person=self.appraisal_id.user_id[:1].name,
                courses=", ".join(enrolled),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _check_enrol_rights(self):
        """The appraised person, their team leader or a key-account manager."""
        deciders = self.appraisal_id._deciders()
        for dev in self:
            appraisal = dev.appraisal_id
            if self.env.user != appraisal.user_id and appraisal.id not in deciders:
                raise AccessError(
                    self.env._(
                        "Only %(person)s, their team leader or a key-account manager can "
                        "enrol them in a course.",
                        person=appraisal.user_id.name,
                    )
                )
