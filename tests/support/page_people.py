"""The people of the page tests' site: the clients, services and invoices each page test
expects to find (`seed`), and WHMCS 8's users who log in to the client area for a client
(`add_user`, on the tables `create_users_tables` makes).
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.page_dates import TODAY, due_in
from worker.sandbox import build as sandbox


def seed(engine: Engine) -> dict[str, int]:
    """The clients and services the pages show."""
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        add = sandbox.add_service
        web = sandbox.add_product(conn, "Web Hosting Pro", taxed=False)
        vps = sandbox.add_product(conn, "VPS Large", taxed=False)
        backup = sandbox.add_product(conn, "Backup Storage", taxed=False)
        old = sandbox.add_product(conn, "Old Plan", taxed=False)
        mail = sandbox.add_product(conn, "Mail Plus", taxed=False)
        trial = sandbox.add_product(conn, "Free Trial", taxed=False)
        extra_ip = sandbox.add_addon_product(conn, "Extra IP", taxed=False)

        ada = ids["ada"] = sandbox.add_client(
            conn, "Ada", "Lovelace", email="ada@example.com", company="Analytical Engines Ltd"
        )
        ids["ada_web"] = add(
            conn,
            ada,
            web,
            amount="12.00",
            cycle="Monthly",
            next_due=due_in(10),
            domain="ada.example",
        )
        ids["ada_vps"] = add(
            conn,
            ada,
            vps,
            amount="60.00",
            cycle="Quarterly",
            next_due=due_in(20),
            domain="vps.ada.example",
            gateway="paypal",
        )
        ids["ada_backup"] = add(
            conn, ada, backup, amount="120.00", cycle="Annually", next_due=due_in(40)
        )
        ids["ada_old"] = add(
            conn, ada, old, amount="9.00", cycle="Monthly", next_due=due_in(5), status="Cancelled"
        )
        ids["ada_mail"] = add(conn, ada, mail, amount="5.00", cycle="Monthly", next_due=due_in(12))
        ids["ada_trial"] = add(conn, ada, trial, amount="0.00", cycle="Free Account", next_due=None)
        ids["ada_ip"] = sandbox.add_service_addon(
            conn,
            ids["ada_web"],
            extra_ip,
            client_id=ada,
            recurring="3.00",
            cycle="Monthly",
            next_due=due_in(10),
            taxed=False,
        )
        # the renewal of Mail Plus sits on an invoice with a payment on it: blocked
        blocked = ids["blocked_invoice"] = sandbox.add_invoice(
            conn,
            ada,
            [
                {
                    "type": "Hosting",
                    "relid": ids["ada_mail"],
                    "description": "Mail Plus",
                    "amount": "5.00",
                }
            ],
            when=TODAY,
            due=due_in(12),
        )
        sandbox.add_payment(conn, blocked, ada, "2.00", gateway="banktransfer")

        bob = ids["bob"] = sandbox.add_client(conn, "Bob", "Builder", email="bob@example.com")
        ids["bob_web"] = add(conn, bob, web, amount="8.00", cycle="Monthly", next_due=due_in(8))

        chloe = ids["chloe"] = sandbox.add_client(
            conn, "Chloé", "Dubois", email="chloe@example.com"
        )
        ids["chloe_web"] = add(
            conn,
            chloe,
            web,
            amount="12.00",
            cycle="Monthly",
            next_due=due_in(9),
            domain="chloe.example",
        )
        ids["chloe_mail"] = add(
            conn, chloe, mail, amount="24.00", cycle="Annually", next_due=due_in(50)
        )

        eve = ids["eve"] = sandbox.add_client(
            conn,
            "<b>Eve</b>",
            "O'Hara",
            email="eve@example.com",
            company='"><img src=x onerror="window.__xss=1">',
        )
        ids["eve_web"] = add(
            conn,
            eve,
            web,
            amount="10.00",
            cycle="Monthly",
            next_due=due_in(11),
            domain="<script>window.__xss=2</script>.example",
        )

        dana = ids["dana"] = sandbox.add_client(conn, "Dana", "Scully", email="dana@example.com")
        ids["dana_web"] = add(conn, dana, web, amount="20.00", cycle="Monthly", next_due=due_in(7))

        for client in (ada, bob, chloe, eve, dana):
            ids[f"owner_of_{client}"] = add_user(conn, client, owner=True)
        # two more users of Bob's account: one may view and pay invoices, one may not
        ids["bob_payer"] = add_user(conn, bob, permissions="products,invoices,tickets")
        ids["bob_viewer"] = add_user(conn, bob, permissions="profile,contacts,products,tickets")
    return ids


USERS_TABLES = (
    """CREATE TABLE IF NOT EXISTS tblusers (
        id int(10) unsigned NOT NULL AUTO_INCREMENT,
        first_name varchar(255) NOT NULL DEFAULT '',
        last_name varchar(255) NOT NULL DEFAULT '',
        email varchar(255) NOT NULL DEFAULT '',
        password varchar(255) NOT NULL DEFAULT '',
        created_at timestamp NULL DEFAULT NULL,
        updated_at timestamp NULL DEFAULT NULL,
        PRIMARY KEY (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_unicode_ci""",
    """CREATE TABLE IF NOT EXISTS tblusers_clients (
        id int(10) unsigned NOT NULL AUTO_INCREMENT,
        auth_user_id int(10) unsigned NOT NULL DEFAULT 0,
        client_id int(10) unsigned NOT NULL DEFAULT 0,
        invite_id int(10) unsigned NOT NULL DEFAULT 0,
        owner tinyint(1) NOT NULL DEFAULT 0,
        permissions text NOT NULL,
        last_login timestamp NULL DEFAULT NULL,
        created_at timestamp NULL DEFAULT NULL,
        updated_at timestamp NULL DEFAULT NULL,
        PRIMARY KEY (id),
        KEY auth_user_id (auth_user_id, client_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_unicode_ci""",
)


def create_users_tables(engine: Engine) -> None:
    """WHMCS 8's users and their link to client accounts (tblusers_clients: owner, and the
    comma-separated permissions of the others), where the sandbox does not make them."""
    with engine.begin() as conn:
        for statement in USERS_TABLES:
            conn.execute(sa.text(statement))


def add_user(
    conn: sa.Connection, client: int, *, owner: bool = False, permissions: str = ""
) -> int:
    """A user (tblusers) attached to a client account: its owner, or with `permissions`."""
    user = conn.execute(
        sa.text(
            "INSERT INTO tblusers (first_name, last_name, email, password)"
            " VALUES ('Test', 'User', :email, '')"
        ),
        {"email": f"user-{uuid.uuid4().hex[:8]}@example.com"},
    ).lastrowid
    conn.execute(
        sa.text(
            "INSERT INTO tblusers_clients (auth_user_id, client_id, owner, permissions)"
            " VALUES (:user, :client, :owner, :permissions)"
        ),
        {"user": user, "client": client, "owner": 1 if owner else 0, "permissions": permissions},
    )
    return int(user)
