"""18.0.1.3.0 -> 18.0.1.4.0: the appraisal weight of the tiers and the
incentive rate of the grades.

``key.account.tier.appraisal_weight`` is new: the shipped tiers get 3 / 2 / 1
from the highest tier down (Strategic, Key, Growth), every other tier 1, and
only where the column is still empty (a weight someone set is kept).
"""

import logging

_logger = logging.getLogger(__name__)

SHIPPED = {"tier_strategic": 3.0, "tier_key": 2.0, "tier_growth": 1.0}


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        """
        UPDATE key_account_tier t
           SET appraisal_weight = w.weight
          FROM ir_model_data d,
               unnest(%s::varchar[], %s::float8[]) AS w(name, weight)
         WHERE d.module = 'key_account_performance'
           AND d.model = 'key.account.tier'
           AND d.name = w.name
           AND d.res_id = t.id
           AND t.appraisal_weight IS NULL
        """,
        [list(SHIPPED), list(SHIPPED.values())],
    )
    shipped = cr.rowcount
    cr.execute(
        "UPDATE key_account_tier SET appraisal_weight = 1.0 WHERE appraisal_weight IS NULL"
    )
    _logger.info(
        "key.account.tier: appraisal weight set on %s shipped and %s other tiers",
        shipped,
        cr.rowcount,
    )
    # the shipped grades' incentive rates (A 15 %, B 10 %, C 5 %, D 0 %), where
    # nobody set one yet (the grade data is noupdate: an update does not load it)
    grades = {"grade_a": 15.0, "grade_b": 10.0, "grade_c": 5.0, "grade_d": 0.0}
    cr.execute(
        """
        UPDATE key_account_grade g
           SET incentive_rate = r.rate
          FROM ir_model_data d, unnest(%s::varchar[], %s::float8[]) AS r(name, rate)
         WHERE d.module = 'key_account_performance'
           AND d.model = 'key.account.grade'
           AND d.name = r.name
           AND d.res_id = g.id
           AND COALESCE(g.incentive_rate, 0) = 0
        """,
        [list(grades), list(grades.values())],
    )
