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

from odoo.tests import tagged

from .access_common import (
    ACCOUNT_MATRIX,
    CONFIG_MATRIX,
    PARTNER_MATRIX,
    ROLES,
    AccessMatrixCommon,
)


@tagged("post_install", "-at_install")
class TestAccessMatrix(AccessMatrixCommon):
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
