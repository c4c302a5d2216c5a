#!/usr/bin/env python3
"""Screenshots of the key-account cockpit from a running demo (``./kap screenshots``).

Logs into the demo as a key account manager and as a sales manager, in
English and in Simplified Chinese, and saves PNGs of the Key Accounts
kanban, an account's page with *Why the score moved*, and a review form
into ``docs/screenshots/``. Drives Debian's headless Chromium through the
DevTools protocol (``websocket-client``, installed by ``./kap``).

``--phone`` takes the screens a KAM checks between meetings (the cockpit
kanban, an account's page, a review, the approval queue) on a 390 × 844
phone viewport (``phone_*.png``) and says for each whether it scrolls
sideways and whether the score and its reason are on the first screen.

Fails (exit code 1) when Chinese would render with a fallback: no CJK font
known to fontconfig (``fc-list :lang=zh``), or a page whose Chinese glyphs
draw like a missing glyph.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata

import requests
import websocket

SCREENS_EN_ZH = ("en_US", "zh_CN")


def fail(message):
    print("screenshots: error: %s" % message, file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Odoo:
    """A JSON-RPC session of one user."""

    def __init__(self, url, db, login, password):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        result = self._post(
            "/web/session/authenticate",
            {"db": db, "login": login, "password": password},
        )
        if not result or not result.get("uid"):
            fail("cannot log in as %s on %s (database %s)" % (login, url, db))
        self.uid = result["uid"]
        self.session_id = self.session.cookies.get("session_id")

    def _post(self, path, params):
        response = self.session.post(
            self.url + path,
            json={"jsonrpc": "2.0", "method": "call", "params": params},
            timeout=120,
        )
        response.raise_for_status()
        data = response.json()
        if data.get("error"):
            fail(
                "%s: %s"
                % (path, data["error"].get("data", {}).get("message") or data["error"])
            )
        return data.get("result")

    def call(self, model, method, *args, **kwargs):
        return self._post(
            "/web/dataset/call_kw/%s/%s" % (model, method),
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )


class Chromium:
    """A headless Chromium driven over the DevTools protocol."""

    def __init__(self, width=1440, height=1350, mobile=False, scale=1):
        binary = (
            shutil.which("chromium")
            or shutil.which("google-chrome")
            or shutil.which("chromium-browser")
        )
        if not binary:
            fail("chromium not found (Debian: apt-get install chromium)")
        self.profile = tempfile.mkdtemp(prefix="kap-shots-")
        port = free_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-extensions",
                "--hide-scrollbars",
                "--no-first-run",
                "--mute-audio",
                "--remote-debugging-port=%d" % port,
                "--user-data-dir=%s" % self.profile,
                "--window-size=%d,%d" % (width, height),
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:
            try:
                targets = requests.get(
                    "http://127.0.0.1:%d/json" % port, timeout=2
                ).json()
                page = next(t for t in targets if t.get("type") == "page")
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.time() > deadline:
                    self.close()
                    fail("chromium did not start")
                time.sleep(0.3)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0
        self.send("Page.enable")
        self.send("Network.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=scale,
            mobile=mobile,
        )
        if mobile:
            self.send(
                "Emulation.setTouchEmulationEnabled", enabled=True, maxTouchPoints=5
            )

    def send(self, method, **params):
        self.next_id += 1
        message_id = self.next_id
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError("%s: %s" % (method, message["error"]))
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        return result.get("result", {}).get("value")

    def login(self, url, session_id):
        self.send("Network.clearBrowserCookies")
        self.send(
            "Network.setCookie", name="session_id", value=session_id, url=url, path="/"
        )

    def open(self, url, selector, timeout=60):
        self.send("Page.navigate", url=url)
        deadline = time.time() + timeout
        time.sleep(1.0)
        while not self.evaluate("!!document.querySelector(%s)" % json.dumps(selector)):
            if time.time() > deadline:
                raise RuntimeError("%s: %r did not appear" % (url, selector))
            time.sleep(0.5)
        time.sleep(2.0)  # let the remaining RPCs and fonts settle

    def scroll_to(self, selector):
        """Scroll the element into the middle of the screen."""
        self.evaluate(
            "document.querySelector(%s).scrollIntoView({block: 'center'})"
            % json.dumps(selector)
        )
        time.sleep(1.0)

    def screenshot(self, path):
        data = self.send("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        except Exception:  # noqa: BLE001
            pass
        if getattr(self, "process", None):
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


# Draws a few Chinese characters and a character no font has (U+10FFFD, a
# private-use code point) on a canvas with the page's own font: when they
# draw the same, Chinese falls back to the missing-glyph box.
GLYPH_CHECK = r"""
(() => {
    const font = getComputedStyle(document.body).fontFamily;
    const draw = (text) => {
        const canvas = document.createElement("canvas");
        canvas.width = 64; canvas.height = 32;
        const ctx = canvas.getContext("2d");
        ctx.font = "24px " + font;
        ctx.fillText(text, 2, 26);
        return Array.from(ctx.getImageData(0, 0, 64, 32).data).join(",");
    };
    const missing = draw("\u{10FFFD}");
    const bad = ["大", "客", "户", "绩", "效"].filter((c) => draw(c) === missing || draw(c) === draw(""));
    const chinese = /[\u4e00-\u9fff]/.test(document.body.innerText);
    return {chinese, font, bad};
})()
"""


def check_page_fonts(browser, lang):
    if not lang.startswith("zh"):
        return
    result = browser.evaluate(GLYPH_CHECK) or {}
    if result.get("bad"):
        fail(
            "Chinese characters %s render as missing glyphs with the page font %s: install a CJK "
            "font (Debian fonts-noto-cjk)"
            % ("".join(result["bad"]), result.get("font"))
        )
    if not result.get("chinese"):
        fail("the page shows no Chinese text: is zh_CN installed?")


# What a phone user would have to scroll sideways for: the page itself, or a
# view, a list or a kanban wider than the screen; and whether each selector
# of ``wanted`` is drawn inside the first screen (the score and its reason).
PHONE_CHECK = r"""
((wanted) => {
    const width = document.documentElement.clientWidth;
    const wide = [];
    if (document.documentElement.scrollWidth > width + 1) { wide.push("page"); }
    for (const el of document.querySelectorAll(
            ".o_content, .o_form_sheet_bg, .o_form_sheet, .o_kanban_renderer, "
            + ".o_list_renderer, .o_notebook .tab-content")) {
        // only what a finger can scroll (content spilling into a visible
        // margin, as a Bootstrap row's gutter does, moves nothing)
        const scrollable = ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
        if (scrollable && el.scrollWidth > el.clientWidth + 1
                && el.getBoundingClientRect().width > 0) {
            wide.push(el.className.split(" ").slice(0, 2).join("."));
        }
    }
    const visible = {};
    for (const selector of wanted) {
        const el = document.querySelector(selector);
        const box = el && el.getBoundingClientRect();
        visible[selector] = !!box && box.width > 0 && box.top >= 0
            && box.bottom <= window.innerHeight && box.left >= 0 && box.right <= width;
    }
    return {width, wide, visible};
})
"""


# phone screens: name -> (selector to wait for, what must be on the first screen)
PHONE_SCREENS = {
    "kanban": (
        ".o_kanban_record .o_kap_score",
        [".o_kanban_record .o_kap_score", ".o_kanban_record .o_kap_grade"],
    ),
    "account": (
        ".o_field_widget[name=key_account_breakdown_ids] .o_kanban_record, "
        ".o_field_widget[name=key_account_breakdown_ids] .o_data_row",
        [
            ".o_kap_breakdown_header .o_field_widget[name=key_account_score]",
            ".o_field_widget[name=key_account_breakdown_ids] .o_kanban_record, "
            ".o_field_widget[name=key_account_breakdown_ids] .o_data_row",
        ],
    ),
    "review": (
        ".o_form_view .o_field_widget[name=line_ids] .o_kanban_record, "
        ".o_form_view .o_field_widget[name=line_ids] .o_data_row",
        [".o_form_view .o_field_widget[name=score]"],
    ),
    "to_approve": (
        ".o_kanban_record, .o_data_row",
        [".o_kanban_record .o_field_widget[name=score], .o_data_row td[name=score]"],
    ),
}


def phone_report(browser, name, wanted):
    result = browser.evaluate("%s(%s)" % (PHONE_CHECK, json.dumps(wanted))) or {}
    wide = result.get("wide") or []
    hidden = [sel for sel, ok in (result.get("visible") or {}).items() if not ok]
    print(
        "  %-10s %s; %s"
        % (
            name,
            "scrolls sideways: %s" % ", ".join(wide)
            if wide
            else "no sideways scrolling",
            "not on the first screen: %s" % ", ".join(hidden)
            if hidden
            else "score and reason on the first screen",
        )
    )
    return not wide and not hidden


def ensure_lang(admin, code):
    Lang = "res.lang"
    found = admin.call(
        Lang,
        "search_read",
        [("code", "=", code), ("active", "in", [True, False])],
        fields=["active"],
    )
    if not found:
        fail("language %s unknown to the database" % code)
    if not found[0]["active"]:
        wizard = admin.call(
            "base.language.install", "create", {"lang_ids": [(6, 0, [found[0]["id"]])]}
        )
        admin.call("base.language.install", "lang_install", [wizard])


def scorecard_png(user, args, lang):
    """The PDF scorecard of an approved review, printed in the user's
    language, as a PNG of its first page (pdftoppm); fails when a Chinese
    scorecard has no Chinese text (no CJK font for wkhtmltopdf)."""
    approved = user.call(
        "key.account.review",
        "search",
        [("state", "=", "approved")],
        order="date_to desc",
        limit=1,
    )
    if not approved:
        return None
    # printed in the reader's language, as the web client asks for it
    response = user.session.get(
        "%s/report/pdf/key_account_performance.report_key_account_review/%d"
        % (args.url, approved[0]),
        params={"context": json.dumps({"lang": lang})},
        timeout=300,
    )
    if response.status_code != 200 or not response.content.startswith(b"%PDF"):
        fail("the scorecard PDF could not be printed (HTTP %s)" % response.status_code)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = os.path.join(tmp, "scorecard.pdf")
        with open(pdf, "wb") as handle:
            handle.write(response.content)
        short = lang.split("_")[0]
        if short == "zh":
            # wkhtmltopdf may write some CJK glyphs as Kangxi radicals: compare NFKC forms
            text = unicodedata.normalize(
                "NFKC",
                subprocess.run(
                    ["pdftotext", pdf, "-"], capture_output=True, text=True
                ).stdout,
            )
            if "计分卡" not in text:
                fail(
                    "the Chinese scorecard PDF has no Chinese title (大客户绩效计分卡): no CJK font or no translation?"
                )
        prefix = os.path.join(tmp, "page")
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", pdf, prefix],
            check=True,
        )
        page = sorted(name for name in os.listdir(tmp) if name.endswith(".png"))[0]
        path = os.path.join(args.out, "manager_%s_scorecard_pdf.png" % short)
        shutil.copyfile(os.path.join(tmp, page), path)
    return path


def take_shots(browser, args, role, lang, shots):
    """PNGs of ``shots`` [(name, url, selector)]; in phone mode only the
    phone screens, each checked for sideways scrolling. Returns (paths, fits)."""
    short = lang.split("_")[0]
    if args.phone:
        shots = [
            (name, url, PHONE_SCREENS[name][0])
            for name, url, _selector in shots
            if name in PHONE_SCREENS
        ]
    if args.only:
        shots = [shot for shot in shots if shot[0] in args.only.split(",")]
    paths, fits = [], True
    for name, url, selector in shots:
        browser.open(url, selector)
        if name == "at_risk":
            browser.scroll_to(selector)
        check_page_fonts(browser, lang)
        if args.phone:
            fits &= phone_report(browser, name, PHONE_SCREENS[name][1])
        path = os.path.join(
            args.out,
            "%s%s_%s_%s.png" % ("phone_" if args.phone else "", role, short, name),
        )
        browser.screenshot(path)
        paths.append(path)
        print(path)
    return paths, fits


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("KAP_SHOTS_URL", "http://127.0.0.1:8069")
    )
    parser.add_argument("--db", default=os.environ.get("KAP_DEMO_DB", "kap_demo"))
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--kam", default="kap_kam1")
    parser.add_argument("--manager", default="kap_manager")
    parser.add_argument("--admin", default="admin")
    parser.add_argument("--admin-password", default="admin")
    parser.add_argument("--langs", default=",".join(SCREENS_EN_ZH))
    parser.add_argument(
        "--phone",
        action="store_true",
        help="390 x 844 phone screens (phone_*.png): cockpit, account, review, approval queue",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated screen names to take (kanban, account, review, dashboard, ...)",
    )
    args = parser.parse_args()
    langs = [lang for lang in args.langs.split(",") if lang]

    if any(lang.startswith("zh") for lang in langs):
        fonts = subprocess.run(
            ["fc-list", ":lang=zh"], capture_output=True, text=True
        ).stdout.strip()
        if not fonts:
            fail("no Chinese font (fc-list :lang=zh is empty): install fonts-noto-cjk")

    os.makedirs(args.out, exist_ok=True)
    admin = Odoo(args.url, args.db, args.admin, args.admin_password)
    for lang in langs:
        ensure_lang(admin, lang)

    dashboard = admin.call(
        "spreadsheet.dashboard",
        "search",
        [("name", "=", "Key Accounts")],
        limit=1,
        context={"lang": "en_US"},
    )
    if args.phone:
        browser = Chromium(width=390, height=844, mobile=True, scale=2)
    else:
        browser = Chromium()
    saved = []
    fits = True
    try:
        for role, login in (("kam", args.kam), ("manager", args.manager)):
            user = Odoo(args.url, args.db, login, login)
            original_lang = user.call("res.users", "read", [user.uid], ["lang"])[0][
                "lang"
            ]
            # a KAM's own accounts; a manager, every account they may see
            mine = [("key_account_manager_id", "=", user.uid)] if role == "kam" else []
            # the account with the biggest score move among those the user sees
            accounts = user.call(
                "res.partner",
                "search_read",
                [("is_key_account", "=", True), ("key_account_score_date", "!=", False)]
                + mine,
                fields=["key_account_trend"],
                limit=200,
            )
            if not accounts:
                fail("%s sees no scored key account: is the demo loaded?" % login)
            account = max(accounts, key=lambda a: abs(a["key_account_trend"] or 0))[
                "id"
            ]
            # a manager's account at churn risk: its customer value and why
            at_risk = (
                user.call(
                    "res.partner",
                    "search",
                    [
                        ("is_key_account", "=", True),
                        ("key_account_churn_risk", "=", True),
                    ],
                    order="key_account_buy_probability, id",
                    limit=1,
                )
                if role == "manager"
                else []
            )
            review_domain = (
                [("user_id", "=", user.uid), ("state", "in", ["draft", "rejected"])]
                if role == "kam"
                else [("state", "=", "submitted")]
            )
            reviews = user.call(
                "key.account.review",
                "search",
                review_domain,
                order="date_to desc",
                limit=1,
            )
            try:
                for lang in langs:
                    user.call("res.users", "write", [user.uid], {"lang": lang})
                    browser.login(args.url, user.session_id)
                    # the home page of both roles (My Accounts: a manager's are the team's)
                    kanban_url = "%s/odoo/key-accounts" % args.url
                    shots = [
                        ("kanban", kanban_url, ".o_kanban_record .o_kap_score"),
                        (
                            "account",
                            "%s/odoo/key-accounts/%d" % (args.url, account),
                            ".o_field_widget[name=key_account_breakdown_ids] .o_data_row",
                        ),
                    ]
                    if reviews:
                        shots.append(
                            (
                                "review",
                                "%s/odoo/action-key_account_performance.action_key_account_review/%d"
                                % (args.url, reviews[0]),
                                ".o_form_view .o_field_widget[name=line_ids] .o_data_row",
                            )
                        )
                    if at_risk:
                        shots.append(
                            (
                                "at_risk",
                                "%s/odoo/key-accounts/%d" % (args.url, at_risk[0]),
                                ".o_field_widget[name=key_account_churn_reason] span",
                            )
                        )
                    # the early warnings with their figures (records under the
                    # visibility rule, not chatter notes)
                    shots.append(
                        (
                            "warnings",
                            "%s/odoo/action-key_account_performance.action_key_account_warning"
                            % args.url,
                            ".o_list_view",
                        )
                    )
                    # the appraisal: the KAM's own, the manager's team ranking
                    shots.append(
                        (
                            "appraisal",
                            "%s/odoo/action-key_account_performance.%s"
                            % (
                                args.url,
                                "action_key_account_appraisal_my"
                                if role == "kam"
                                else "action_key_account_appraisal_team",
                            ),
                            ".o_action_manager .o_view_controller",
                        )
                    )
                    # the score-history pivot as it opens (tier x quarter),
                    # answered from the score-history summary
                    shots.append(
                        (
                            "score_history",
                            "%s/odoo/key-account-scores?view_type=pivot" % args.url,
                            ".o_pivot table .o_pivot_cell_value",
                        )
                    )
                    if role == "manager" and dashboard:
                        # the Dashboards app's Key Accounts dashboard (bridge module)
                        shots.append(
                            (
                                "dashboard",
                                "%s/odoo/dashboards?dashboard_id=%d"
                                % (args.url, dashboard[0]),
                                ".o_spreadsheet_dashboard_action .o-figure canvas",
                            )
                        )
                    if role == "manager":
                        shots.append(
                            (
                                "to_approve",
                                "%s/odoo/key-account-reviews-to-approve" % args.url,
                                ".o_list_view",
                            )
                        )
                    paths, ok = take_shots(browser, args, role, lang, shots)
                    saved += paths
                    fits &= ok
                    if role == "manager" and not args.phone and not args.only:
                        path = scorecard_png(user, args, lang)
                        if path:
                            saved.append(path)
                            print(path)
            finally:
                user.call("res.users", "write", [user.uid], {"lang": original_lang})
    finally:
        browser.close()
    print("screenshots: %d PNGs in %s" % (len(saved), args.out))
    if args.phone and not fits:
        print(
            "screenshots: some phone screens scroll sideways or hide the score (see above)"
        )


if __name__ == "__main__":
    main()
