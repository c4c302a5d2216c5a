/** @odoo-module **/
/**
 * Score of a key account or a review: a bar and "81 / 100", the notation of
 * the PDF scorecard. The bar takes the colour of the default grade bands
 * (green ≥ 85, blue ≥ 70, amber ≥ 50, red below).
 */
import { Component } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

export class KapScoreField extends Component {
    static template = "key_account_performance.ScoreField";
    static props = {
        ...standardFieldProps,
        hideBar: { type: Boolean, optional: true },
    };

    get value() {
        return this.props.record.data[this.props.name] || 0;
    }
    get display() {
        return Math.round(this.value);
    }
    get width() {
        return Math.max(0, Math.min(100, this.value));
    }
    get barClass() {
        const score = this.value;
        if (score >= 85) {
            return "bg-success";
        }
        if (score >= 70) {
            return "bg-info";
        }
        if (score >= 50) {
            return "bg-warning";
        }
        return "bg-danger";
    }
}

export const kapScoreField = {
    component: KapScoreField,
    displayName: "Key account score",
    supportedTypes: ["float", "integer"],
    // room for the bar and "100 / 100" in list columns
    listViewWidth: [150, 220],
    extractProps: ({ options }) => ({ hideBar: Boolean(options.hide_bar) }),
};

registry.category("fields").add("kap_score", kapScoreField);
