"""The admin pages tell the truth before and after, in a real browser against a real worker
(the site of tests/test_pages_whmcs.py: MariaDB sandbox, PHP's web server, a Celery worker,
headless Chromium): every existing invoice the alignment changes, the credit and what is
left to pay, shown before confirming and equal to what aligning then does; every word in
the admin's language (English, German, French); page links that stay short; a bulk run's
skipped clients with their reasons, its recent runs followed live, a cancelled run shown as
cancelled; Align whenever aligning changes something; "Test connection" refreshing the
version warning; beat's jobs waiting for their first run."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

import tests.support.pages as pages
from tests.support.page_dates import ADMIN_DAY, SETTING_DAY, aligned_to, due_in
from tests.support.pages import ADDON_DIR, ADMIN, SCREENSHOTS, Browser, Site, align_now
from worker import clock
from worker.own_schema import bulk_clients, bulk_runs, job_runs, outbox, records, requests
from worker.sandbox import build as sandbox
from worker.steps.health import BEAT_JOB, record_run
from worker.version import VERSION
from worker.whmcs.schema import tblclients, tblhosting, tblinvoiceitems, tblinvoices

pytestmark = [pytest.mark.php, pytest.mark.mariadb, pytest.mark.clock]

php, chromium, smarty_installed = pages.php, pages.chromium, pages.smarty_installed
site, live, browser = pages.site, pages.live, pages.browser

LANGUAGES = ("english", "german", "french")


def amount(text: str) -> Decimal:
    """$12.34 USD (the sandbox's currency) as a Decimal."""
    found = re.search(r"-?\$?-?\d+\.\d{2}", text)
    assert found, text
    return Decimal(found.group(0).replace("$", ""))


def invoice_row(live: Site, invoice_id: int) -> Any:
    with live.engine.connect() as conn:
        return conn.execute(sa.select(tblinvoices).where(tblinvoices.c.id == invoice_id)).first()


def item_ids(live: Site, invoice_id: int) -> list[int]:
    with live.engine.connect() as conn:
        query = sa.select(tblinvoiceitems.c.id).where(tblinvoiceitems.c.invoiceid == invoice_id)
        return [int(i) for i in conn.execute(query.order_by(tblinvoiceitems.c.id)).scalars()]


def hosting(service: int, amount: str, description: str) -> dict[str, Any]:
    return {"type": "Hosting", "relid": service, "amount": amount, "description": description}


def client_with_invoices(live: Site) -> dict[str, int]:
    """The report's client 1, in small: renewal #one (web hosting 52.84 with a -5.00
    promotion, and a domain that stays: 57.12 -> 14.28), renewal #two (the mail service,
    15.41: deleted), an overdue renewal #three left with only its late fee (cancelled),
    and 5.00 of credit."""
    with live.engine.begin() as conn:
        client = sandbox.add_client(
            conn, "Cleo", "Credit", email=f"cleo-{uuid.uuid4().hex[:6]}@x.example"
        )
        conn.execute(sa.update(tblclients).where(tblclients.c.id == client).values(credit="5.00"))
        product = sandbox.add_product(conn, "Cleo Hosting", taxed=False)
        ids = {"client": client}
        for name, price in (("web", "47.84"), ("mail", "15.41"), ("vps", "20.00")):
            ids[name] = sandbox.add_service(
                conn, client, product, amount=price, cycle="Monthly", next_due=due_in(10)
            )
        promotion = {"type": "PromoHosting", "relid": ids["web"], "amount": "-5.00",
                     "description": "Promotional Code: SPRING"}  # fmt: skip
        domain = {"type": "Domain", "relid": 77, "amount": "14.28", "description": "cleo.example"}
        fee = {"type": "LateFee", "relid": 0, "amount": "1.55", "description": "Late Fee"}
        ids["one"] = sandbox.add_invoice(
            conn,
            client,
            [hosting(ids["web"], "47.84", "Cleo Hosting web"), promotion, domain],
            when=clock.today(),
            due=due_in(10),
        )
        ids["two"] = sandbox.add_invoice(
            conn, client, [hosting(ids["mail"], "15.41", "Cleo Hosting mail")],
            when=clock.today(), due=due_in(10),
        )  # fmt: skip
        ids["three"] = sandbox.add_invoice(
            conn, client, [hosting(ids["vps"], "20.00", "Cleo Hosting vps"), fee],
            when=clock.today() - timedelta(days=20), due=clock.today() - timedelta(days=10),
        )  # fmt: skip
    return ids


# ---- every change before it happens -------------------------------------------------------


def test_the_changes_shown_before_confirming_are_the_changes_made(
    live: Site, browser: Browser
) -> None:
    ids = client_with_invoices(live)
    before = {key: item_ids(live, ids[key]) for key in ("one", "two", "three")}
    browser.goto(live.url + ADMIN + f"&client_id={ids['client']}")
    browser.wait_for_text("Existing invoices that change")
    shown = browser.evaluate(
        "[...document.querySelectorAll('table.prorata-changes tbody tr')].map(r => ({"
        " id: +r.dataset.invoice, action: r.dataset.action,"
        " before: r.querySelector('.prorata-before').innerText,"
        " after: r.querySelector('.prorata-after').innerText,"
        " going: [...r.querySelectorAll('.prorata-removed li')].map(l => l.innerText) }))"
    )
    changes = {change["id"]: change for change in shown}
    assert set(changes) == {ids["one"], ids["two"], ids["three"]}
    one, two, three = changes[ids["one"]], changes[ids["two"]], changes[ids["three"]]
    assert (one["action"], amount(one["before"]), amount(one["after"])) == (
        "reduce", Decimal("57.12"), Decimal("14.28")
    )  # fmt: skip
    assert [re.sub(r"\s+", " ", line) for line in one["going"]] == [
        "Renewal: Cleo Hosting web $47.84 USD",
        "Promotion: Promotional Code: SPRING -$5.00 USD",
    ], one["going"]
    assert (two["action"], amount(two["before"]), two["after"]) == (
        "delete", Decimal("15.41"), "nothing to pay"
    )  # fmt: skip
    assert three["action"] == "cancel" and "Late fee" not in " ".join(three["going"])
    assert "Only late fees or discounts are left" in browser.text(
        f'table.prorata-changes tr[data-invoice="{ids["three"]}"]'
    )
    # the credit the new invoice gets, and what is left to pay on it
    credit = browser.text("table.prorata-totals td.prorata-credit")
    balance = browser.text("table.prorata-totals td.prorata-balance")
    assert amount(credit) == Decimal("5.00")
    total = amount(browser.text("table.prorata-totals tbody tr td:nth-child(7)"))
    assert amount(balance) == total - Decimal("5.00")
    assert "Left to pay on the new invoices:" in browser.text(".prorata-to-pay")
    browser.screenshot(SCREENSHOTS / "admin-preview-changes.png")

    browser.click("#prorata-align")
    browser.wait_for_text("invoice(s) created", "#prorata-result")
    # what was shown is what happened
    assert invoice_row(live, ids["two"]) is None
    reduced = invoice_row(live, ids["one"])
    assert reduced.total == amount(one["after"])
    assert len(item_ids(live, ids["one"])) == len(before["one"]) - len(one["going"])
    cancelled = invoice_row(live, ids["three"])
    assert cancelled.status == "Cancelled"
    assert len(item_ids(live, ids["three"])) == len(before["three"]) - len(three["going"])
    with live.engine.connect() as conn:
        [made] = conn.execute(
            sa.select(tblinvoices).where(
                tblinvoices.c.userid == ids["client"],
                tblinvoices.c.id.not_in([ids["one"], ids["three"]]),
            )
        ).all()
    assert made.credit == amount(credit)
    assert made.total == amount(balance)


def test_align_is_offered_when_aligning_only_withdraws_a_pending_alignment(
    live: Site, browser: Browser
) -> None:
    """Every service is on the day already (staff moved it while its alignment waited), but
    aligning would withdraw the pending alignment: Align is enabled, and does it, as the
    command line does."""
    with live.engine.begin() as conn:
        client = sandbox.add_client(conn, "Wanda", "Withdraw")
        product = sandbox.add_product(conn, "Wanda Hosting", taxed=False)
        service = sandbox.add_service(
            conn, client, product, amount="10.00", cycle="Monthly", next_due=due_in(10)
        )
    [invoice] = align_now(live, client)
    with live.engine.begin() as conn:
        day = aligned_to(due_in(10), SETTING_DAY)
        conn.execute(
            sa.update(tblhosting).where(tblhosting.c.id == service).values(nextduedate=day)
        )
    browser.goto(live.url + ADMIN + f"&client_id={client}")
    browser.wait_for_text("Skipped: already due on the chosen day.")
    assert browser.count(".prorata-withdraw li") == 1
    assert browser.attribute("#prorata-align", "disabled") is None
    browser.click("#prorata-align")
    assert browser.dialogs and "withdraws 1 pending alignment" in browser.dialogs[-1]
    browser.wait_for_text("1 pending alignment was withdrawn", "#prorata-result")
    with live.engine.connect() as conn:
        states = conn.execute(sa.select(records.c.state).where(records.c.client_id == client))
        assert list(states.scalars()) == ["withdrawn"]
    emptied = invoice_row(live, invoice)  # its only line withdrawn: cancelled
    assert emptied is not None and emptied.status == "Cancelled"


# ---- the admin's language ---------------------------------------------------------------------


def strings(php: str, language: str) -> dict[str, str]:
    code = (
        "define('WHMCS', true); $_ADDONLANG = []; include $argv[1];"
        "echo json_encode($_ADDONLANG, JSON_UNESCAPED_UNICODE);"
    )
    path = ADDON_DIR / "lang" / f"{language}.php"
    done = subprocess.run(
        [php, "-r", code, str(path)], capture_output=True, text=True, timeout=30, check=True
    )
    return dict(json.loads(done.stdout))


def english_fragments(php: str, language: str) -> list[str]:
    """The module's English text a page in `language` must not show: each English string's
    pieces between placeholders (12 characters or more, and the WHMCS words), unless the
    language's own strings use the same piece (a setting's name, a product name)."""
    english, other = strings(php, "english"), strings(php, language)
    theirs = "\n".join(other.values())
    fragments = set()
    for key, text in english.items():
        if other.get(key) == text:
            continue
        for piece in re.split(r"%(?:\d+\$)?[sd]", text):
            piece = piece.strip(" .:,;()")
            long_enough = len(piece) >= 12 or key.startswith("word_")
            if long_enough and piece not in theirs:
                fragments.add(piece)
    return sorted(fragments)


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_pages_speak_the_admins_language(
    live: Site, browser: Browser, php: str, language: str
) -> None:
    ids = live.ids
    with live.engine.begin() as conn:
        client = sandbox.add_client(conn, "Lena", "Lang")
        product = sandbox.add_product(conn, "Lang Hosting", taxed=False)
        sandbox.add_service(
            conn, client, product, amount="9.00", cycle="Monthly", next_due=due_in(6)
        )
        conn.execute(sa.delete(outbox))
        conn.execute(
            sa.insert(outbox).values(
                event_id=f"lang-{uuid.uuid4()}", task="prorata.invoice_paid", payload="{}",
                created_at=clock.now() - timedelta(minutes=1), attempts=0,
            )
        )  # fmt: skip
    align_now(live, client)  # an alignment whose invoice is Unpaid, in the list
    words = {
        "english": ("Monthly", "Active", "Unpaid", "1 event waiting"),
        "german": ("Monatlich", "Aktiv", "Unbezahlt", "1 Ereignis wartet"),
        "french": ("Mensuel", "Actif", "Impayée", "1 événement en attente"),
    }[language]
    forbidden = [] if language == "english" else english_fragments(php, language)
    try:
        browser.goto(live.url + ADMIN + f"&client_id={ids['ada']}&language={language}")
        browser.wait_for_text(words[0], "#prorata-preview")
        preview = browser.text("#prorata-preview")
        assert words[1] in preview  # the status column
        browser.goto(live.url + ADMIN + f"&client_id={client}")
        listing = browser.text()
        assert words[2] in browser.text("#prorata-alignments")
        assert words[3] in browser.text("#prorata-health")
        pages_text = [preview, listing]
        browser.goto(live.url + ADMIN + "&view=bulk")
        pages_text.append(browser.text())
        if language != "english":
            for text in pages_text:
                found = [
                    piece for piece in forbidden if re.search(rf"\b{re.escape(piece)}\b", text)
                ]
                assert not found, found
                # the WHMCS words, as whole words
                for english_word in ("Monthly", "Quarterly", "Annually", "Active", "Unpaid",
                                     "Cancelled", "Free Account"):  # fmt: skip
                    assert not re.search(rf"\b{english_word}\b", text), english_word
    finally:
        browser.goto(live.url + ADMIN + "&language=english")
        with live.engine.begin() as conn:
            conn.execute(sa.delete(outbox))


def test_the_german_term_is_one() -> None:
    german = (ADDON_DIR / "lang" / "german.php").read_text(encoding="utf-8")
    assert not re.search(r"angleich|angeglich", german, re.IGNORECASE)


# ---- long lists ---------------------------------------------------------------------------------


def test_a_long_list_gets_a_page_window_not_a_link_per_page(live: Site, browser: Browser) -> None:
    with live.engine.begin() as conn:
        client = sandbox.add_client(conn, "Paula", "Pages")
        product = sandbox.add_product(conn, "Pages Hosting", taxed=False)
        service = sandbox.add_service(
            conn, client, product, amount="1.00", cycle="Monthly", next_due=due_in(3)
        )
        now = clock.now()
        request_id = conn.execute(
            sa.insert(requests).values(
                event_id=f"pages-{uuid.uuid4()}", client_id=client, requested_by="bulk",
                params="{}", state="done", attempts=1, created_at=now, updated_at=now,
            )
        ).inserted_primary_key[0]  # fmt: skip
        row = dict(
            request_id=request_id, client_id=client, kind="service", relid=service,
            old_due=due_in(3), old_next_invoice=due_in(3),
            new_due=aligned_to(due_in(3), SETTING_DAY), amount="1.00", requested_by="bulk",
            state="paid", created_at=now, updated_at=now,
        )  # fmt: skip
        conn.execute(sa.insert(records), [row] * (20 * 40 + 3))  # 41 pages
    base = live.url + ADMIN + f"&client_id={client}"
    browser.goto(base + "&page=20")
    links = browser.evaluate(
        "[...document.querySelectorAll('ul.prorata-pages li')]"
        ".map(l => [l.dataset.rel || '', l.innerText, l.className])"
    )
    assert len(links) <= 13, links
    assert [rel for rel, _, _ in links][:2] == ["first", "prev"]
    assert [rel for rel, _, _ in links][-2:] == ["next", "last"]
    numbers = [text for rel, text, _ in links if rel == ""]
    assert numbers == ["1", "18", "19", "20", "21", "22", "41"]
    assert [text for _, text, cls in links if "active" in cls] == ["20"]
    browser.click('ul.prorata-pages li[data-rel="last"] a')
    assert browser.text("ul.prorata-pages li.active") == "41"
    assert browser.count("table.prorata-alignments tbody tr") == 3
    assert browser.exists('ul.prorata-pages li[data-rel="next"].disabled')
    browser.click('ul.prorata-pages li[data-rel="first"] a')
    assert browser.text("ul.prorata-pages li.active") == "1"


# ---- bulk runs ----------------------------------------------------------------------------------


def add_run(live: Site, state: str, counts: dict[str, int], reasons: dict[str, str]) -> int:
    now = clock.now()
    with live.engine.begin() as conn:
        run_id = int(
            conn.execute(
                sa.insert(bulk_runs).values(
                    event_id=str(uuid.uuid4()), day=ADMIN_DAY, filters="{}", cycles=None,
                    mode=None, today=clock.today(), state=state, requested_by="admin:1",
                    total=sum(counts.values()), created_at=now, updated_at=now,
                )
            ).inserted_primary_key[0]
        )  # fmt: skip
        client_ids = list(
            conn.execute(sa.select(tblclients.c.id).order_by(tblclients.c.id)).scalars()
        )
        rows, n = [], 0
        for row_state, count in counts.items():
            for _ in range(count):
                client = client_ids[n % len(client_ids)] if n < len(client_ids) else 100000 + n
                rows.append(
                    dict(run_id=run_id, client_id=client, state=row_state,
                         reason=reasons.get(row_state), event_id=f"e:{n}", updated_at=now)
                )  # fmt: skip
                n += 1
        conn.execute(sa.insert(bulk_clients), rows)
    return run_id


def test_a_bulk_run_lists_its_skipped_clients_with_reasons_and_a_cancelled_run_is_not_full(
    live: Site, browser: Browser
) -> None:
    run = add_run(
        live,
        "cancelled",
        {"aligned": 3, "skipped": 30, "failed": 1, "cancelled": 40},
        {
            "skipped": "nothing to align: service 5: already-aligned; "
            "addon 7: blocked (invoice #9)",
            "failed": "OperationalError: lost connection",
            "cancelled": "cancelled before its turn",
        },
    )
    browser.goto(live.url + ADMIN + f"&view=bulk&run={run}&language=german")
    try:
        browser.wait_for_text("Übersprungene Kunden")
        assert browser.count("table.prorata-bulk-skipped tbody tr") == 25
        reason = browser.text("table.prorata-bulk-skipped tbody tr:first-child td:nth-child(2)")
        assert reason.startswith("Nichts auszurichten: Dienst #5: "), reason
        assert "Addon #7: " in reason and "#9" in reason
        assert "30 Kunden" in browser.text("#prorata-bulk-skipped")
        failed = browser.text("#prorata-bulk-failures")
        assert "Die Ausrichtung ist fehlgeschlagen: OperationalError" in failed
        # cancelled: the bar shows how far it got (34 of 74), not 100 %
        percent = browser.text(".prorata-bulk-percent")
        assert percent == "45 %", percent
        assert browser.text(".prorata-bulk-state") == "Abgebrochen"
        assert browser.attribute("#prorata-bulk-run", "data-state") == "cancelled"
        browser.click("ul.prorata-skipped-pages li[data-rel='next'] a")
        assert browser.count("table.prorata-bulk-skipped tbody tr") == 5
        browser.screenshot(SCREENSHOTS / "bulk-skipped.png")
    finally:
        browser.goto(live.url + ADMIN + "&language=english")


def test_recent_bulk_runs_follow_a_running_run_live(live: Site, browser: Browser) -> None:
    run = add_run(live, "running", {"aligned": 1, "queued": 120}, {})
    browser.goto(live.url + ADMIN + f"&view=bulk&run={run}")
    row = f'#prorata-bulk-runs tr[data-run="{run}"]'
    assert "1 done" in browser.text(row)
    with live.engine.begin() as conn:
        queued = list(
            conn.execute(
                sa.select(bulk_clients.c.client_id)
                .where(bulk_clients.c.run_id == run, bulk_clients.c.state == "queued")
                .limit(40)
            ).scalars()
        )
        conn.execute(
            sa.update(bulk_clients)
            .where(bulk_clients.c.run_id == run, bulk_clients.c.client_id.in_(queued))
            .values(state="aligned")
        )
    # no reload: the page's script puts the recent runs in place with the progress
    browser.wait_for_text("41 done", row, timeout=15)
    assert browser.text(".prorata-bulk-percent") == "33 %"
    with live.engine.begin() as conn:
        conn.execute(sa.update(bulk_runs).where(bulk_runs.c.id == run).values(state="cancelled"))
        conn.execute(
            sa.update(bulk_clients)
            .where(bulk_clients.c.run_id == run, bulk_clients.c.state == "queued")
            .values(state="cancelled")
        )


# ---- health and versions ---------------------------------------------------------------


def test_test_connection_refreshes_the_version_warning(live: Site, browser: Browser) -> None:
    key = f"prorata:worker-version:{live.queue}"
    live.redis.set(key, "0.0.1")
    try:
        browser.goto(live.url + ADMIN)
        assert "0.0.1" in browser.text()
        assert "0.0.1" in browser.text("#prorata-version-warning")
        browser.click("#prorata-test-connection")
        browser.wait_for_text("The worker answered", "#prorata-test-result")
        assert not browser.exists("#prorata-version-warning")
        assert "0.0.1" not in browser.text()
        assert live.redis.get(key) == VERSION.encode()
    finally:
        live.redis.delete(key)


def test_beat_jobs_wait_for_their_first_run_after_beat_starts(live: Site, browser: Browser) -> None:
    with live.engine.begin() as conn:
        conn.execute(sa.delete(job_runs))
    record_run(live.engine, BEAT_JOB, last_started_at=clock.now() - timedelta(seconds=30))
    try:
        browser.goto(live.url + ADMIN)
        rows = browser.evaluate(
            "[...document.querySelectorAll('#prorata-health tr[data-check^=\"beat-\"]')]"
            ".map(r => [r.dataset.check, r.dataset.state, r.innerText])"
        )
        assert rows
        for check, state, text in rows:
            assert state == "ok", (check, text)
            assert "Waiting for its first run" in text, text
            assert "Never ran" not in text
    finally:
        with live.engine.begin() as conn:
            conn.execute(sa.delete(job_runs))


# ---- why P moved, excluded products ----------------------------------------------------------


def test_the_preview_says_why_a_due_date_moved_past_the_day_and_which_are_excluded(
    live: Site, browser: Browser
) -> None:
    with live.engine.begin() as conn:
        client = sandbox.add_client(conn, "Mina", "Minimum")
        product = sandbox.add_product(conn, "Mina Hosting", taxed=False)
        other = sandbox.add_product(conn, "Mina Excluded", taxed=False)
        service = sandbox.add_service(
            conn, client, product, amount="30.00", cycle="Monthly", next_due=due_in(3)
        )
        excluded = sandbox.add_service(
            conn, client, other, amount="30.00", cycle="Monthly", next_due=due_in(3)
        )
    live.configure(minimum_days="60", exclude_products=str(other))
    for language, words in (
        ("english", ("rather than", "fewer than the minimum of 60", "Skipped: its product")),
        ("german", ("statt", "weniger als das Minimum von 60", "Übersprungen: sein Produkt")),
        ("french", ("plutôt que", "moins que le minimum de 60", "Ignoré : son produit")),
    ):
        browser.goto(live.url + ADMIN + f"&client_id={client}&language={language}")
        browser.wait_for_text(words[0], f'tr[data-item="service:{service}"]')
        moved = browser.text(f'tr[data-item="service:{service}"] .prorata-moved')
        assert words[1] in moved, moved
        assert words[2] in browser.text(f'tr[data-item="service:{excluded}"]')
    browser.goto(live.url + ADMIN + "&language=english")


# ---- Mark settled -----------------------------------------------------------------------------


def test_mark_settled_asks_first_and_is_kept_in_a_history(live: Site, browser: Browser) -> None:
    from worker.own_schema import overpayments

    invoice = 990000 + uuid.uuid4().int % 9999
    with live.engine.begin() as conn:
        conn.execute(
            sa.insert(overpayments).values(
                invoice_id=invoice, client_id=live.ids["bob"], amount="8.00", received="8.00",
                charged="8.00", records="[]", detected_at=clock.now(),
            )
        )  # fmt: skip
    try:
        browser.goto(live.url + ADMIN + "&language=german")
        row = f'#prorata-overpayments tr[data-invoice="{invoice}"]'
        browser.fill(f"{row} input[name=note]", "Per Bank erstattet")
        browser.click(f"{row} button")
        assert browser.dialogs and f"#{invoice}" in browser.dialogs[-1]
        assert "als erledigt markieren" in browser.dialogs[-1]
        browser.wait_for_text("als erledigt markiert")
        assert not browser.exists(row)
        settled = browser.text(f'#prorata-overpayments tr[data-settled-invoice="{invoice}"]')
        assert "Admin #1" in settled and "Per Bank erstattet" in settled
        assert clock.today().strftime("%d/%m/%Y") in settled
    finally:
        browser.goto(live.url + ADMIN + "&language=english")


def test_whmcs_admin_translations_come_first_then_the_modules(php: str) -> None:
    """WHMCS's AdminLang answers the words it has (its key itself for the others): those
    win; the module's strings fill the rest; an unknown word stays as stored."""
    code = r"""
        define('WHMCS', true);
        require $argv[1] . '/lib/autoload.php';
        class AdminLang {
            public static function trans($key) {
                return $key === 'billingcycles.monthly' ? 'Mensalmente' : $key;
            }
        }
        $text = new ProrataAlign\Page\Text(ProrataAlign\Lang::strings('german'));
        $words = new ProrataAlign\Admin\Words($text);
        echo json_encode([
            $words->cycle('Monthly'), $words->cycle('Quarterly'),
            $words->status('Payment Pending'), $words->status('Custom Hold'), $words->cycle(''),
        ], JSON_UNESCAPED_UNICODE);
    """
    done = subprocess.run(
        [php, "-r", code, str(ADDON_DIR)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert json.loads(done.stdout) == [
        "Mensalmente",
        "Vierteljährlich",
        "Zahlung ausstehend",
        "Custom Hold",
        "",
    ]
