"""Fixtures of the edge-case suites: a manager of no team, a KAM leading a
team, a plain salesman and a portal user, beside ReviewCommon's."""

from odoo import Command

from .common import ReviewCommon

KAM_GROUP = "key_account_performance.group_key_account_user"
MANAGER_GROUP = "key_account_performance.group_key_account_manager"


class EdgeCaseCommon(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.env.ref
        Users = cls.env["res.users"]

        def user(login, groups, email=True):
            return Users.create(
                {
                    "name": login,
                    "login": login,
                    "email": "%s@example.com" % login if email else False,
                    "company_id": cls.company.id,
                    "company_ids": [Command.set(cls.company.ids)],
                    "groups_id": [Command.set([ref(group).id for group in groups])],
                }
            )

        # a manager of no team: may decide any submitted review, sees none otherwise
        cls.outsider = user("kap_df_outsider", [MANAGER_GROUP])
        # KAM 2's team leader is a KAM, not a manager: the designated approver of B
        cls.kam_leader = user("kap_df_kam_leader", [KAM_GROUP])
        cls.env["crm.team"].create(
            {
                "name": "Defects team 2",
                "user_id": cls.kam_leader.id,
                "member_ids": [Command.set(cls.kam2.ids)],
            }
        )
        cls.salesman = user(
            "kap_df_salesman",
            ["sales_team.group_sale_salesman", "base.group_partner_manager"],
        )
        cls.portal = user("kap_df_portal", ["base.group_portal"])
        cls._generate_cycle()
