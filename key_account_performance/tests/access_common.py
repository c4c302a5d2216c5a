"""Fixtures of the access matrix (issue 27): the roles, the tables of what
each role may do, the records every attempt is tried on and the helpers
that try them. The tests: test_access_matrix (models) and
test_access_methods (public methods, navigation, searches)."""

from odoo import Command
from odoo.exceptions import UserError

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


class AccessMatrixCommon(ReviewCommon):
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
