"""A comment of an appraisal dispute keeps its account and the score
disputed in columns of its own (a correction recomputes the appraisal and
replaces the lines the comments pointed at): filled from the lines for the
comments written before."""


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        "SELECT 1 FROM information_schema.columns "
        "WHERE table_schema = current_schema() "
        "AND table_name = 'key_account_appraisal_dispute_comment' AND column_name = 'partner_id'"
    )
    if not cr.fetchone():
        return
    cr.execute(
        """
        UPDATE key_account_appraisal_dispute_comment AS c
           SET partner_id = l.partner_id, account_score = l.account_score
          FROM key_account_appraisal_line AS l
         WHERE l.id = c.line_id AND c.partner_id IS NULL
        """
    )
