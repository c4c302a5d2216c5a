"""The payout curve of the appraisal: score (0-100) -> payout in percent of
the person's variable-pay target. Pure arithmetic, no Odoo.

A curve has five numbers and a mode (``Curve``):

* below ``threshold`` (a score) nothing is paid;
* at the threshold ``threshold_payout`` % is paid, then the payout ramps up
  linearly to 100 % at ``target`` (a score): the ramp's rate is
  r = (100 - threshold_payout) / (target - threshold) percent per point;
* above the target the ``accelerator`` (a factor, >= 1 to reward) applies:

  - ``marginal``: only the points above the target earn the accelerated
    rate: payout = 100 + accelerator x r x (score - target);
  - ``tiered``: once the score is above the target, the accelerator
    multiplies the whole payout: payout = accelerator x (threshold_payout +
    r x (score - threshold)) (the step at the target is what a tiered plan
    pays for crossing it);

* the payout never exceeds ``cap`` %.

At the target itself both modes pay 100 %.
"""

from collections import namedtuple

MODES = ("marginal", "tiered")

Curve = namedtuple("Curve", "threshold threshold_payout target accelerator cap mode")
DEFAULT_CURVE = Curve(50.0, 50.0, 80.0, 1.5, 150.0, "marginal")


def curve_errors(curve):
    """The rules a curve breaks, as short English keys (empty: valid)."""
    errors = []
    if not 0.0 <= curve.threshold < curve.target <= 100.0:
        errors.append("threshold_target")
    if not 0.0 <= curve.threshold_payout <= 100.0:
        errors.append("threshold_payout")
    if curve.accelerator < 0.0:
        errors.append("accelerator")
    if curve.cap < 0.0:
        errors.append("cap")
    if curve.mode not in MODES:
        errors.append("mode")
    return errors


def payout_percent(score, curve):
    """The payout in percent of the target for ``score`` on ``curve``."""
    if score is None or score < curve.threshold:
        return 0.0
    ramp = (100.0 - curve.threshold_payout) / (curve.target - curve.threshold)
    if score <= curve.target:
        payout = curve.threshold_payout + ramp * (score - curve.threshold)
    elif curve.mode == "tiered":
        payout = curve.accelerator * (
            curve.threshold_payout + ramp * (score - curve.threshold)
        )
    else:
        payout = 100.0 + curve.accelerator * ramp * (score - curve.target)
    return max(0.0, min(payout, curve.cap))


def cap_score(curve):
    """The lowest score above the target where the payout reaches the cap,
    or None when it does not within 0-100."""
    ramp = (100.0 - curve.threshold_payout) / (curve.target - curve.threshold)
    if curve.cap <= 100.0:
        return curve.target if curve.cap < 100.0 else None
    if curve.mode == "tiered":
        if not curve.accelerator or not ramp:
            return None
        score = (
            curve.threshold
            + (curve.cap / curve.accelerator - curve.threshold_payout) / ramp
        )
        score = max(score, curve.target)
    else:
        if not curve.accelerator * ramp:
            return None
        score = curve.target + (curve.cap - 100.0) / (curve.accelerator * ramp)
    return score if score <= 100.0 else None


def preview_points(curve):
    """[(score, payout %)] for a table or a chart of the curve: every ten
    points, plus the threshold, the target, one point above the target (the
    step of a tiered curve) and the score where the cap is reached."""
    scores = {float(s) for s in range(0, 101, 10)}
    scores |= {float(curve.threshold), float(curve.target)}
    if curve.target < 100.0:
        scores.add(min(100.0, float(curve.target) + 1.0))
    capped = cap_score(curve)
    if capped is not None and capped > curve.target:
        scores.add(round(capped, 1))
    return [(score, payout_percent(score, curve)) for score in sorted(scores)]
