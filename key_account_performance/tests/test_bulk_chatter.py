"""The one bulk path that writes chatter without mail.message's create
(models/key_account_mail_sender.py: review generation writes thousands of
notes, tracking values and followers in a few statements; the benchmark's
review-generation rows measure it). Odoo reads what it writes back as its
own: the same columns as mail.thread's own note, tracking and subscription,
and the chatter's own readers (message fetch, store, tracking format,
followers) return them."""

from markupsafe import Markup

from odoo.tests import tagged

from odoo.addons.mail.tools.discuss import Store

from ..models.key_account_mail_sender import log_notes, log_tracking, subscribe
from .common import ReviewCommon

MODEL = "key.account.review"
COMPARED = (
    "model",
    "res_id",
    "message_type",
    "subtype_id",
    "is_internal",
    "author_id",
    "email_from",
)


@tagged("post_install", "-at_install")
class TestBulkChatter(ReviewCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._generate_cycle()

    def test_notes_read_back_as_odoos_own(self):
        review = self.review_a
        own = review._message_log(
            body=Markup("<p>written by Odoo</p>"), message_type="comment"
        )
        created = log_notes(self.env, MODEL, {review.id: "<p>written in bulk</p>"})
        bulk = self.env["mail.message"].browse(created[review.id])
        for name in COMPARED:
            self.assertEqual(bulk[name], own[name], name)
        self.assertEqual(str(bulk.body), "<p>written in bulk</p>")
        self.assertTrue(bulk.message_id)
        # the chatter's own readers find it
        self.assertIn(bulk, review.message_ids)
        fetched = self.env["mail.message"]._message_fetch(
            [("model", "=", MODEL), ("res_id", "=", review.id)]
        )["messages"]
        self.assertIn(bulk, fetched)
        result = Store(bulk).get_result()
        formatted = {m["id"]: m for m in result["mail.message"]}[bulk.id]
        self.assertIn("written in bulk", str(formatted["body"]))
        self.assertTrue(formatted["is_note"])

    def test_tracking_read_back_as_odoos_own(self):
        review = self.review_a
        log_tracking(
            self.env,
            MODEL,
            {review.id: [("score", 60.0, 70.0), ("state", "draft", "submitted")]},
        )
        message = review.message_ids.filtered(
            lambda m: m.message_type == "notification"
        )[:1]
        self.assertTrue(message.tracking_value_ids)
        formatted = {
            item["fieldName"]: item
            for item in message.tracking_value_ids._tracking_value_format()
        }
        score = formatted["score"]
        self.assertEqual(
            (score["oldValue"]["value"], score["newValue"]["value"]), (60.0, 70.0)
        )
        # a selection reads as its label, as mail.thread's own tracking stores it
        state = formatted["state"]
        self.assertEqual(
            (state["oldValue"]["value"], state["newValue"]["value"]),
            ("Draft", "Submitted"),
        )

    def test_followers_read_back_as_odoos_own(self):
        review, other = self.review_a, self.review_b
        partner = self.manager.partner_id
        other.message_unsubscribe(partner_ids=partner.ids)
        review.message_unsubscribe(partner_ids=partner.ids)
        other.message_subscribe(partner_ids=partner.ids)
        subscribe(self.env, MODEL, {review.id: [partner.id]})
        own = other.message_follower_ids.filtered(lambda f: f.partner_id == partner)
        bulk = review.message_follower_ids.filtered(lambda f: f.partner_id == partner)
        self.assertEqual(len(bulk), 1)
        self.assertEqual(bulk.subtype_ids, own.subtype_ids)
        self.assertIn(partner, review.message_partner_ids)
        # an existing follower is left as it is
        subscribe(self.env, MODEL, {review.id: [partner.id]})
        review.invalidate_recordset(["message_follower_ids"])
        self.assertEqual(
            review.message_follower_ids.filtered(lambda f: f.partner_id == partner),
            bulk,
        )
