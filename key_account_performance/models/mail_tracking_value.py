from odoo import models

# the addon's documents, whose tracked selections (a review's, a cycle's, an
# action's, an appraisal's state) are shown in the reader's language
TRACKED_MODEL_PREFIX = "key.account."


class MailTrackingValue(models.Model):
    _inherit = "mail.tracking.value"

    def _tracking_value_format_model(self, model):
        """A tracked selection of the addon's documents reads as its label in
        the reader's language ("Draft → Submitted", "草稿 → 已提交"): Odoo
        stores the label in the language of whoever made the change, so a
        Chinese reader saw the English labels of a change made in English
        (and the other way round). The stored text is recognised as the
        label of any installed language (or as the raw value) and shown in
        the current one; a text that is neither stays as it is."""
        formatted = super()._tracking_value_format_model(model)
        if not (model or "").startswith(TRACKED_MODEL_PREFIX) or model not in self.env:
            return formatted
        Model = self.env[model]
        names = {
            item["fieldName"]
            for item in formatted
            if item["fieldType"] == "selection"
            and item["fieldName"] in Model._fields
            and Model._fields[item["fieldName"]].type == "selection"
        }
        if not names:
            return formatted
        langs = [code for code, _name in self.env["res.lang"].get_installed()]
        shown = {}
        for name in names:
            field = Model._fields[name]
            key_of = {}
            for lang in langs:
                for key, label in field._description_selection(
                    self.with_context(lang=lang).env
                ):
                    key_of.setdefault(label, key)
            for key, _label in field._description_selection(self.env):
                key_of[key] = key
            labels = dict(field._description_selection(self.env))
            shown[name] = {text: labels[key] for text, key in key_of.items()}
        for item in formatted:
            texts = shown.get(item["fieldName"])
            if not texts:
                continue
            for side in ("oldValue", "newValue"):
                value = item[side]["value"]
                if value in texts:
                    item[side]["value"] = texts[value]
        return formatted
