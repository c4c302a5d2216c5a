"""The access matrix (issue 27): for every model of the addon, which of
read / create / write / unlink each role gets, and every public method
called by each role, on an account it manages and on another.

Roles: ``kam`` (partner_a is their account, partner_b their colleague
kam2's), ``manager`` (a member of kam's sales team: partner_a is a team
account, partner_b is outside), ``admin`` (key-account administrator),
``salesman`` (an internal user in Sales only) and ``portal``.

Every attempt runs in a savepoint that is always rolled back: each cell of
the tables is tried on the same records, as the user, through the ORM with
their own rights. A refusal is an AccessError or a UserError (the addon's
guards); any other error fails the test.
"""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged, users

from odoo.addons.base.models.ir_qweb import QWebException

from ..models.guard import internal
from .common import ReviewCommon

ROLES = ("kam", "manager", "admin", "salesman", "portal")
# who may do what on each model: {model: {role: (own account, other account)}}
# with "r" read, "c" create, "w" write, "u" unlink ("own" is the KAM's own
# account and the manager's team account, "other" a colleague's account
# outside the manager's team)
NOTHING = ("", "")
ACCOUNT_MATRIX = {
    # KPI values: the engine's; a comment is all a KAM or manager writes
    "key.account.kpi.value": {
        "kam": ("rw", ""),
        "manager": ("rwu", ""),
        "admin": ("rcwu", "rcwu"),
        "salesman": NOTHING,
        "portal": NOTHING,
    },
    # reviews: created for the accounts one manages
    "key.account.review": {
        "kam": ("rcw", ""),
        "manager": ("rcwu", ""),
        "admin": ("rcwu", "rcwu"),
        "salesman": NOTHING,
        "portal": NOTHING,
    },
    # review lines come from the template: only the administrator adds or
    # removes one; a KAM or manager writes a manual value or a comment
    "key.account.review.line": {
        "kam": ("rw", ""),
        "manager": ("rw", ""),
        "admin": ("rcwu", "rcwu"),
        "salesman": NOTHING,
        "portal": NOTHING,
    },
    "key.account.improvement.action": {
        "kam": ("rcw", ""),
        "manager": ("rcwu", ""),
        "admin": ("rcwu", "rcwu"),
        "salesman": NOTHING,
        "portal": NOTHING,
    },
    # written by the engine only, for every user
    "key.account.score.history": {
        "kam": ("r", ""),
        "manager": ("r", ""),
        "admin": ("ru", "ru"),
        "salesman": NOTHING,
        "portal": NOTHING,
    },
    "key.account.warning": {
        "kam": ("r", ""),
        "manager": ("r", ""),
        "admin": ("ru", "ru"),
        "salesman": NOTHING,
        "portal": NOTHING,
    },
    # a report (an SQL view): read only
    "key.account.retention.cohort": {
        "kam": ("r", ""),
        "manager": ("r", ""),
        "admin": ("r", "r"),
        "salesman": NOTHING,
        "portal": NOTHING,
    },
}
# configuration and logs: {model: {role: operations}}
CONFIG = {"kam": "r", "manager": "r", "admin": "rcwu", "salesman": "", "portal": ""}
RUN_LOG = {"kam": "", "manager": "", "admin": "ru", "salesman": "", "portal": ""}
CONFIG_MATRIX = {
    "key.account.tier": CONFIG,
    "key.account.segment": CONFIG,
    "key.account.grade": CONFIG,
    "key.account.kpi": CONFIG,
    "key.account.kpi.template": CONFIG,
    "key.account.kpi.template.line": CONFIG,
    "key.account.value.model": CONFIG,
    "key.account.kpi.run": RUN_LOG,
    "key.account.kpi.run.failure": RUN_LOG,
}
# the partner's key-account side: {role: (own account, other account)};
# "figures": what a read of its score gives ("seen", "empty" or "refused");
# "classify": whether the role changes its tier
PARTNER_MATRIX = {
    "kam": {"figures": ("seen", "empty"), "classify": (False, False)},
    # a manager reclassifies the accounts they manage, not another team's
    "manager": {"figures": ("seen", "empty"), "classify": (True, False)},
    "admin": {"figures": ("seen", "seen"), "classify": (True, True)},
    "salesman": {"figures": ("refused", "refused"), "classify": (False, False)},
    "portal": {"figures": ("refused", "refused"), "classify": (False, False)},
}
OPERATIONS = {"r": "read", "c": "create", "w": "write", "u": "unlink"}


class _RolledBack(Exception):
    """Raised to roll back a savepoint whose attempt succeeded."""


@tagged("post_install", "-at_install")
class TestAccessMatrix(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Users = cls.env["res.users"]
        cls.salesman = Users.create(
            {
                "name": "Matrix Salesman",
                "login": "kap_am_salesman",
                "email": "kap_am_salesman@example.com",
                "company_id": cls.company.id,
                "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [
                    Command.set(
                        [
                            cls.env.ref("base.group_user").id,
                            cls.env.ref("sales_team.group_sale_salesman").id,
                        ]
                    )
                ],
            }
        )
        cls.portal = Users.create(
            {
                "name": "Matrix Portal",
                "login": "kap_am_portal",
                "email": "kap_am_portal@example.com",
                "company_id": cls.company.id,
                "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
            }
        )
        cls.roles = {
            "kam": cls.kam,
            "manager": cls.manager,
            "admin": cls.admin,
            "salesman": cls.salesman,
            "portal": cls.portal,
        }
        Value = cls.env["key.account.kpi.value"]
        Value.compute_for_period(*cls.P0)
        Value.compute_for_period(*cls.P)
        cls._generate_cycle()
        # a second cycle without reviews: where reviews are created by hand
        cls.cycle0 = cls._cycle(cls.P0)
        cls.spare_kpi = cls.env["key.account.kpi"].create(
            {
                "name": "Spare (matrix)",
                "code": "t_am_spare",
                "computation_mode": "manual",
                "target": 5.0,
                "threshold": 1.0,
            }
        )
        Action = cls.env["key.account.improvement.action"]
        cls.action_a = Action.create(
            {"name": "Matrix A", "partner_id": cls.partner_a.id, "user_id": cls.kam.id}
        )
        cls.action_b = Action.create(
            {"name": "Matrix B", "partner_id": cls.partner_b.id, "user_id": cls.kam2.id}
        )
        Warning = internal(cls.env["key.account.warning"])
        for partner in (cls.partner_a, cls.partner_b):
            Warning.create(
                {
                    "partner_id": partner.id,
                    "company_id": cls.company.id,
                    "key": "matrix",
                    "kind": "score",
                    "message": "Probe",
                }
            )
        run = cls.env["key.account.kpi.run"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )
        cls.env["key.account.kpi.run.failure"].create(
            {"run_id": run.id, "error": "Probe"}
        )
        cls.env["key.account.value.model"].create({"as_of": cls.P[1]})
        # configuration records no account uses (each may be deleted)
        spare_template = cls.env["key.account.kpi.template"].create(
            {"name": "Spare template"}
        )
        cls.spare = {
            "key.account.tier": cls.env["key.account.tier"].create(
                {"name": "Spare tier"}
            ),
            "key.account.segment": cls.env["key.account.segment"].create(
                {"name": "Spare segment"}
            ),
            "key.account.grade": cls.env["key.account.grade"].create(
                # archived: the company's grade bands stay the shared ones
                {"name": "Z", "min_score": 1.0, "active": False}
            ),
            "key.account.kpi": cls.spare_kpi,
            "key.account.kpi.template": spare_template,
            "key.account.kpi.template.line": cls.env[
                "key.account.kpi.template.line"
            ].create(
                {
                    "template_id": spare_template.id,
                    "kpi_id": cls.kpi_orders.id,
                    "weight": 1.0,
                    "target": 5.0,
                    "threshold": 1.0,
                }
            ),
            "key.account.value.model": cls.env["key.account.value.model"].search(
                [("company_id", "=", cls.company.id)], limit=1
            ),
            "key.account.kpi.run": run,
            "key.account.kpi.run.failure": run.failure_ids[:1],
        }

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def _try(self, attempt):
        """True if ``attempt()`` succeeds, else the AccessError or UserError
        it raised; its effects are rolled back either way."""
        try:
            with self.env.cr.savepoint():
                attempt()
                self.env.flush_all()
                raise _RolledBack
        except _RolledBack:
            return True
        except UserError as error:  # AccessError and ValidationError included
            return error
        except QWebException as error:  # a report refusing its reader
            if isinstance(error.__cause__, UserError):
                return error.__cause__
            raise

    def _account_records(self, model):
        """(the record of partner_a, the record of partner_b) of ``model``."""
        if model == "key.account.review":
            return self.review_a, self.review_b
        if model == "key.account.review.line":
            return (
                self._line(self.review_a, self.kpi_manual),
                self._line(self.review_b, self.kpi_manual),
            )
        if model == "key.account.improvement.action":
            return self.action_a, self.action_b
        domain = {
            "key.account.kpi.value": [("kpi_id", "=", self.kpi_revenue.id)],
            "key.account.score.history": [],
            "key.account.warning": [],
            "key.account.retention.cohort": [],
        }[model]
        found = []
        for partner in (self.partner_a, self.partner_b):
            record = self.env[model].search(
                domain
                + [
                    ("partner_id", "=", partner.id),
                    ("company_id", "=", self.company.id),
                ],
                limit=1,
            )
            self.assertTrue(record, "%s of %s" % (model, partner.name))
            found.append(record)
        return tuple(found)

    def _create_values(self, model, partner, review):
        """Values a role would create a record of ``model`` with, on ``partner``."""
        period = {"date_from": "2001-01-01", "date_to": "2001-03-31"}
        return {
            "key.account.kpi.value": dict(
                period,
                partner_id=partner.id,
                kpi_id=self.kpi_manual.id,
                value=3.0,
                company_id=self.company.id,
            ),
            "key.account.review": {
                "cycle_id": self.cycle0.id,
                "partner_id": partner.id,
            },
            "key.account.review.line": {
                "review_id": review.id,
                "kpi_id": self.spare_kpi.id,
            },
            "key.account.improvement.action": {
                "name": "Matrix probe",
                "partner_id": partner.id,
            },
            "key.account.score.history": dict(
                period, partner_id=partner.id, company_id=self.company.id, score=50.0
            ),
            "key.account.warning": {
                "partner_id": partner.id,
                "company_id": self.company.id,
                "key": "matrix probe",
                "kind": "score",
            },
            "key.account.retention.cohort": {"partner_id": partner.id},
        }[model]

    WRITE_VALUES = {
        "key.account.kpi.value": {"comment": "probe"},
        "key.account.review": {"comment": "<p>probe</p>"},
        "key.account.review.line": {"comment": "probe"},
        "key.account.improvement.action": {"expected_result": "probe"},
        "key.account.score.history": {"grade": "A"},
        "key.account.warning": {"message": "probe"},
        "key.account.retention.cohort": {"retention": 1.0},
        "key.account.tier": {"description": "probe"},
        "key.account.segment": {"name": "Spare segment (probe)"},
        "key.account.grade": {"min_score": 2.0},
        "key.account.kpi": {"unit": "probe"},
        "key.account.kpi.template": {"name": "Spare template (probe)"},
        "key.account.kpi.template.line": {"weight": 2.0},
        "key.account.value.model": {"n_train": 7},
        "key.account.kpi.run": {"error": "probe"},
        "key.account.kpi.run.failure": {"error": "probe"},
    }
    CONFIG_CREATE = {
        "key.account.tier": {"name": "Probe tier"},
        "key.account.segment": {"name": "Probe segment"},
        "key.account.grade": {"name": "Y", "min_score": 3.0},
        "key.account.kpi": {
            "name": "Probe KPI",
            "code": "t_am_probe",
            "computation_mode": "manual",
            "target": 5.0,
            "threshold": 1.0,
        },
        "key.account.kpi.template": {"name": "Probe template"},
        "key.account.kpi.template.line": {
            "kpi_id": "kpi_manual",
            "template_id": "spare_template",
            "weight": 1.0,
            "target": 5.0,
            "threshold": 1.0,
        },
        "key.account.value.model": {"as_of": "2001-03-31"},
        "key.account.kpi.run": {"date_from": "2001-01-01", "date_to": "2001-03-31"},
        "key.account.kpi.run.failure": {"run_id": "run", "error": "probe"},
    }

    def _config_create_values(self, model):
        vals = dict(self.CONFIG_CREATE[model])
        refs = {
            "kpi_manual": self.kpi_manual.id,
            "spare_template": self.spare["key.account.kpi.template"].id,
            "run": self.spare["key.account.kpi.run"].id,
        }
        return {key: refs.get(value, value) for key, value in vals.items()}

    def _operations(self, user, model, record, create_values):
        """The operations of "rcwu" ``user`` gets on ``record``, as a string,
        with the reason of each refusal."""
        as_user = record.with_user(user)
        attempts = {
            "r": lambda: as_user.read(["id", "display_name"]),
            "c": lambda: as_user.env[model].create(create_values),
            "w": lambda: as_user.write(self.WRITE_VALUES[model]),
            "u": lambda: as_user.unlink(),
        }
        granted, refusals = "", {}
        for op, attempt in attempts.items():
            outcome = self._try(attempt)
            if outcome is True:
                granted += op
            else:
                refusals[OPERATIONS[op]] = "%s: %s" % (
                    type(outcome).__name__,
                    str(outcome).splitlines()[0][:120],
                )
        return granted, refusals

    # ------------------------------------------------------------------
    # The matrix of the models
    # ------------------------------------------------------------------
    def test_account_data_matrix(self):
        """Every account-scoped model, every role, own and other account."""
        mismatches = []
        for model, expected in ACCOUNT_MATRIX.items():
            records = self._account_records(model)
            reviews = (self.review_a, self.review_b)
            partners = (self.partner_a, self.partner_b)
            for role in ROLES:
                for side, record, partner, review, want in zip(
                    ("own", "other"), records, partners, reviews, expected[role]
                ):
                    granted, refusals = self._operations(
                        self.roles[role],
                        model,
                        record,
                        self._create_values(model, partner, review),
                    )
                    if granted != want:
                        mismatches.append(
                            "%s, %s on the %s account: %r, expected %r (refused: %s)"
                            % (model, role, side, granted, want, refusals)
                        )
        self.assertFalse(mismatches, "\n".join(mismatches))

    def test_configuration_matrix(self):
        """Configuration, customer-value models and the KPI run log."""
        mismatches = []
        for model, expected in CONFIG_MATRIX.items():
            record = self.spare[model]
            self.assertTrue(record, model)
            for role in ROLES:
                granted, refusals = self._operations(
                    self.roles[role], model, record, self._config_create_values(model)
                )
                if granted != expected[role]:
                    mismatches.append(
                        "%s, %s: %r, expected %r (refused: %s)"
                        % (model, role, granted, expected[role], refusals)
                    )
        self.assertFalse(mismatches, "\n".join(mismatches))

    def test_partner_key_account_matrix(self):
        """The partner's key-account figures and classification per role."""
        self.assertTrue(self.partner_a.key_account_score)
        self.assertTrue(self.partner_b.key_account_grade)
        mismatches = []
        for role in ROLES:
            user = self.roles[role]
            for side, partner, figures, classify in zip(
                ("own", "other"),
                (self.partner_a, self.partner_b),
                PARTNER_MATRIX[role]["figures"],
                PARTNER_MATRIX[role]["classify"],
            ):
                read = []
                outcome = self._try(
                    lambda partner=partner, user=user, read=read: read.extend(
                        partner.with_user(user).read(
                            ["key_account_score", "key_account_grade"]
                        )
                    )
                )
                seen = (
                    "refused"
                    if outcome is not True
                    else "seen"
                    if read[0]["key_account_score"] == partner.key_account_score
                    and read[0]["key_account_grade"] == partner.key_account_grade
                    else "empty"
                    if not read[0]["key_account_score"]
                    and not read[0]["key_account_grade"]
                    else "partly"
                )
                if seen != figures:
                    mismatches.append(
                        "%s reads the figures of the %s account: %s, expected %s"
                        % (role, side, seen, figures)
                    )
                tiered = self._try(
                    lambda partner=partner, user=user: partner.with_user(user).write(
                        {"key_account_tier_id": self.spare["key.account.tier"].id}
                    )
                )
                if (tiered is True) != classify:
                    mismatches.append(
                        "%s changes the tier of the %s account: %s, expected %s"
                        % (role, side, tiered, classify)
                    )
                # the engine's figures: refused for everyone
                forged = self._try(
                    lambda partner=partner, user=user: partner.with_user(user).write(
                        {"key_account_score": 99.0}
                    )
                )
                if forged is True:
                    mismatches.append(
                        "%s wrote the score of the %s account" % (role, side)
                    )
        self.assertFalse(mismatches, "\n".join(mismatches))

    # ------------------------------------------------------------------
    # Public methods
    # ------------------------------------------------------------------
    def _method_calls(self):
        """{name: (call(user, side), {role-side: allowed})}; ``side`` is
        "own" or "other" (the account of the records the method runs on)."""
        account = {"own": self.partner_a, "other": self.partner_b}
        review = {"own": self.review_a, "other": self.review_b}
        action = {"own": self.action_a, "other": self.action_b}

        def line(side):
            return self._line(review[side], self.kpi_manual)

        def value(side):
            return self._account_records("key.account.kpi.value")[
                0 if side == "own" else 1
            ]

        def submitted(side):
            """The review submitted by its KAM (as superuser: the set-up)."""
            self._line(review[side], self.kpi_manual).sudo().write({"value": 4.0})
            review[side].sudo()._workflow_write(
                {"state": "submitted", "submitted_by_id": review[side].user_id.id}
            )
            return review[side]

        P = [str(day) for day in self.P]
        kam_only = {"kam-own": True, "kam-other": False, "salesman-own": False}
        kam_only["portal-own"] = False
        managers = dict(kam_only, **{"manager-own": True, "manager-other": False})
        return {
            "kpi.value.compute_for_period": (
                lambda u, s: (
                    self.env["key.account.kpi.value"]
                    .with_user(u)
                    .compute_for_period(*P, account[s].ids)
                ),
                dict(managers, **{"admin-other": True}),
            ),
            "kpi.value.action_open_records": (
                lambda u, s: value(s).with_user(u).action_open_records(),
                managers,
            ),
            "partner.key_account_score_breakdown": (
                lambda u, s: account[s].with_user(u).key_account_score_breakdown(*P),
                dict(managers, **{"admin-other": True}),
            ),
            "partner.action_compute_key_account_kpis": (
                lambda u, s: account[s].with_user(u).action_compute_key_account_kpis(),
                managers,
            ),
            # a KAM: their own accounts, as of today; other days are refused
            "partner.compute_key_account_value": (
                lambda u, s: (
                    account[s]
                    .with_user(u)
                    .compute_key_account_value(
                        as_of=None if s == "own" else "2001-03-31"
                    )
                ),
                {
                    "kam-own": True,
                    "kam-other": False,
                    "manager-other": True,
                    "salesman-own": False,
                    "portal-own": False,
                },
            ),
            "review.action_refresh_lines": (
                lambda u, s: review[s].with_user(u).action_refresh_lines(),
                dict(managers, **{"admin-other": True}),
            ),
            "review.action_submit": (
                lambda u, s: (
                    line(s).sudo().write({"value": 4.0}),
                    review[s].with_user(u).action_submit(),
                ),
                managers,
            ),
            # the approver (the KAM's team leader) or another manager decides;
            # the KAM never
            "review.action_approve": (
                lambda u, s: submitted(s).with_user(u).action_approve(),
                {
                    "kam-own": False,
                    "kam-other": False,
                    "manager-own": True,
                    "salesman-own": False,
                    "portal-own": False,
                    "admin-other": True,
                },
            ),
            "review.action_reject": (
                lambda u, s: submitted(s).with_user(u).action_reject(reason="probe"),
                {
                    "kam-own": False,
                    "kam-other": False,
                    "manager-own": True,
                    "salesman-own": False,
                    "portal-own": False,
                },
            ),
            # the scorecard: rendered with the reader's rights
            "review.action_print_scorecard": (
                lambda u, s: (
                    self.env["ir.actions.report"]
                    .with_user(u)
                    ._render_qweb_html(
                        review[s].with_user(u).action_print_scorecard()["report_name"],
                        review[s].ids,
                    )
                ),
                managers,
            ),
            "review_line.action_create_improvement_action": (
                lambda u, s: line(s).with_user(u).action_create_improvement_action(),
                managers,
            ),
            "review_line.action_view_kpi_value": (
                lambda u, s: (
                    self._line(review[s], self.kpi_revenue)
                    .with_user(u)
                    .action_view_kpi_value()
                ),
                managers,
            ),
            "improvement_action.action_start": (
                lambda u, s: action[s].with_user(u).action_start(),
                managers,
            ),
            "improvement_action.action_done": (
                lambda u, s: action[s].with_user(u).action_done(),
                managers,
            ),
            "improvement_action.action_cancel": (
                lambda u, s: action[s].with_user(u).action_cancel(),
                managers,
            ),
            "improvement_action.action_reset": (
                lambda u, s: action[s].with_user(u).action_reset(),
                managers,
            ),
            "improvement_action.action_measure_effect": (
                lambda u, s: action[s].with_user(u).action_measure_effect(),
                managers,
            ),
            "review_cycle.action_generate_reviews": (
                lambda u, s: self.cycle.with_user(u).action_generate_reviews(),
                {
                    "kam-own": False,
                    "manager-own": True,
                    "admin-own": True,
                    "salesman-own": False,
                    "portal-own": False,
                },
            ),
            "review_cycle.action_close": (
                lambda u, s: self.cycle.with_user(u).action_close(),
                {"kam-own": False, "manager-own": True, "salesman-own": False},
            ),
            "review_cycle.action_reopen": (
                lambda u, s: self.cycle.with_user(u).action_reopen(),
                {"kam-own": False, "manager-own": True, "portal-own": False},
            ),
            "kpi_template.action_duplicate_version": (
                lambda u, s: self.template.with_user(u).action_duplicate_version(),
                {
                    "kam-own": False,
                    "manager-own": False,
                    "admin-own": True,
                    "salesman-own": False,
                },
            ),
            "res_config_settings.action_key_account_set_home": (
                lambda u, s: (
                    self.env["res.config.settings"]
                    .with_user(u)
                    .action_key_account_set_home()
                ),
                {
                    "kam-own": False,
                    "manager-own": False,
                    "admin-own": True,
                    "salesman-own": False,
                    "portal-own": False,
                },
            ),
        }

    def test_public_methods(self):
        mismatches = []
        for name, (call, expected) in self._method_calls().items():
            for cell, allowed in expected.items():
                role, side = cell.split("-")
                user = self.roles[role]
                outcome = self._try(
                    lambda call=call, user=user, side=side: call(user, side)
                )
                if (outcome is True) != allowed:
                    mismatches.append(
                        "%s as %s on the %s account: %s, expected %s"
                        % (
                            name,
                            role,
                            side,
                            "accepted"
                            if outcome is True
                            else "%s: %s"
                            % (
                                type(outcome).__name__,
                                str(outcome).splitlines()[0][:150],
                            ),
                            "accepted" if allowed else "refused",
                        )
                    )
        self.assertFalse(mismatches, "\n".join(mismatches))

    def test_navigation_opens_only_readable_records(self):
        """The action_view_* buttons return a window action for whoever calls
        them; what it lists is what the caller may read (nothing of a
        colleague's account; a refusal for a user without the addon)."""
        calls = {
            "partner.action_view_key_account_reviews": lambda p: (
                p.action_view_key_account_reviews()
            ),
            "partner.action_view_key_account_actions": lambda p: (
                p.action_view_key_account_actions()
            ),
            "partner.action_view_key_account_warnings": lambda p: (
                p.action_view_key_account_warnings()
            ),
            "partner.action_view_key_account_values": lambda p: (
                p.action_view_key_account_values()
            ),
        }
        for name, call in calls.items():
            own = call(self.partner_a.with_user(self.kam))
            listed = (
                self.env[own["res_model"]].with_user(self.kam).search(own["domain"])
            )
            self.assertTrue(listed, "%s lists the KAM's own records" % name)
            other = call(self.partner_b.with_user(self.kam))
            self.assertFalse(
                self.env[other["res_model"]]
                .with_user(self.kam)
                .search(other["domain"]),
                "%s lists nothing of a colleague's account" % name,
            )
            with self.assertRaises(AccessError, msg=name):
                self.env[other["res_model"]].with_user(self.salesman).search(
                    other["domain"]
                )
        for record, name in (
            (self.review_b, "action_view_actions"),
            (self.cycle, "action_view_reviews"),
            (self.kpi_revenue, "action_view_values"),
            (self.tier, "action_view_partners"),
        ):
            result = getattr(record.with_user(self.kam2), name)()
            self.assertEqual(result["type"], "ir.actions.act_window", name)
        cycle_reviews = self.cycle.with_user(self.kam).action_view_reviews()
        self.assertEqual(
            self.env["key.account.review"]
            .with_user(self.kam)
            .search(cycle_reviews["domain"]),
            self.review_a,
        )

    @users("kap_rt_kam")
    def test_kam_reads_no_colleague_figure_through_searches(self):
        """Searching on a figure answers what reading it would: a KAM's
        searches on the restricted key-account fields see their own
        accounts' figures only."""
        Partner = self.env["res.partner"]
        ids = [self.partner_a.id, self.partner_b.id]
        self.assertEqual(
            Partner.search([("id", "in", ids), ("key_account_visible", "=", True)]),
            self.partner_a,
        )
        self.assertEqual(
            Partner.search(
                [("id", "in", ids), ("key_account_warning_count", ">", 0)]
            ).ids,
            [self.partner_a.id],
        )
        with self.assertRaises(AccessError):
            Partner.with_user(self.salesman).search(
                [("key_account_at_risk", "=", True)]
            )

    def test_salesman_and_portal_have_no_key_account_search(self):
        for user in (self.salesman, self.portal):
            Partner = self.env["res.partner"].with_user(user)
            for name in (
                "key_account_at_risk",
                "key_account_reviewed",
                "key_account_visible",
            ):
                with self.assertRaises(AccessError, msg="%s, %s" % (user.login, name)):
                    Partner.search([(name, "=", True)])
