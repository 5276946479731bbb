"""Benchmark: the pure domain planner alone, on clients built in memory (no database).

Prints figures (no pass/fail): seconds to plan, lines per second and peak memory, on one
core. Usage: python -m scripts.bench.domain_figure [--lines N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
import tracemalloc
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain.model import (
    AlignRequest,
    BillingConfig,
    Client,
    InvoiceItem,
    LineKind,
    OpenInvoice,
    Service,
)
from domain.planner import plan_alignment
from domain.settings import Settings, parse_settings
from domain.tax import TaxRule, TaxSetup

CYCLES = ("Monthly", "Quarterly", "Semi-Annually", "Annually", "Biennially", "Triennially")
TODAY = date(2024, 6, 20)
SERVICES_PER_CLIENT = 20  # with an addon on every fourth service: 25 lines per client
TAX = TaxSetup(
    enabled=True,
    inclusive=False,
    l2_compound=False,
    rules=(
        TaxRule(1, 1, "VAT", "DE", "", Decimal("19.00")),
        TaxRule(2, 1, "VAT", "FR", "", Decimal("20.00")),
        TaxRule(3, 2, "Local", "FR", "", Decimal("2.50")),
    ),
)


@dataclass(frozen=True)
class ClientCase:
    client: Client
    services: tuple[Service, ...]
    invoices: tuple[OpenInvoice, ...]
    settings: Settings
    request: AlignRequest
    config: BillingConfig


def _settings(calendar: bool) -> Settings:
    return parse_settings({"calculate_days_by_use": "on" if calendar else "", "prorata_day": "1"})


def build_cases(lines: int) -> list[ClientCase]:
    """Clients of about 25 lines each: mixed cycles, due dates (some overdue, some on month
    ends), prices, payment methods, addons, unpaid renewal invoices and tax on some."""
    calendar, fixed = _settings(True), _settings(False)
    configs = (
        BillingConfig(),
        BillingConfig(date_format="YYYY-MM-DD", tax=TAX),
        BillingConfig(tax=TaxSetup(True, True, True, per_line=True, rules=TAX.rules)),
    )
    cases: list[ClientCase] = []
    made = 0
    number = 0
    next_id = 1
    while made < lines:
        number += 1
        client = Client(
            id=number,
            country=("DE", "FR", "US")[number % 3],
            tax_exempt=number % 17 == 0,
            group_discount=Decimal("5.00") if number % 7 == 0 else Decimal("0.00"),
        )
        services: list[Service] = []
        items: list[InvoiceItem] = []
        for i in range(SERVICES_PER_CLIENT):
            if made >= lines:
                break
            n = number * SERVICES_PER_CLIENT + i
            due = TODAY + timedelta(days=(n * 37) % 500 - 120)
            service = Service(
                kind=LineKind.SERVICE,
                id=next_id,
                client_id=client.id,
                name=f"Web Hosting {n % 9}",
                domain=f"site{n}.example",
                billing_cycle=CYCLES[n % 6],
                status="Active" if n % 23 else "Suspended",
                next_due=due,
                next_invoice=due,
                amount=Decimal(f"{(n * 7919) % 99999}.{n % 100:02d}"),
                payment_method="paypal" if n % 3 else "banktransfer",
                taxed=n % 2 == 0,
            )
            next_id += 1
            services.append(service)
            made += 1
            if i % 4 == 0 and made < lines:
                services.append(
                    Service(
                        kind=LineKind.ADDON,
                        id=next_id,
                        client_id=client.id,
                        name="Daily Backup",
                        domain="",
                        billing_cycle=CYCLES[(n + 1) % 6],
                        status="Active",
                        next_due=due,
                        next_invoice=due,
                        amount=Decimal(f"{n % 40}.95"),
                        payment_method=service.payment_method,
                        taxed=service.taxed,
                        service_id=service.id,
                    )
                )
                next_id += 1
                made += 1
            if i % 5 == 0:
                items.append(
                    InvoiceItem(
                        id=next_id,
                        invoice_id=number * 10 + i % 2,
                        type="Hosting",
                        relid=service.id,
                        amount=service.amount,
                        taxed=service.taxed,
                    )
                )
                next_id += 1
        invoices = tuple(
            OpenInvoice(
                id=invoice_id,
                status="Unpaid" if invoice_id % 10 == 0 else "Payment Pending",
                items=tuple(item for item in items if item.invoice_id == invoice_id),
                taxrate=Decimal("19.00"),
            )
            for invoice_id in sorted({item.invoice_id for item in items})
        )
        cases.append(
            ClientCase(
                client=client,
                services=tuple(services),
                invoices=invoices,
                settings=calendar if number % 4 else fixed,
                request=AlignRequest(today=TODAY, day=(1, 15, 28, 31)[number % 4]),
                config=configs[number % 3],
            )
        )
    return cases


def plan_all(cases: list[ClientCase]) -> int:
    """Plan every client; the number of planned lines."""
    planned = 0
    for case in cases:
        plan = plan_alignment(
            case.client, case.services, case.invoices, case.settings, case.request, case.config
        )
        planned += len(plan.lines)
    return planned


def domain_plan_figure(lines: int = 100_000) -> dict[str, object]:
    """Plan `lines` lines of clients built in memory on one core: seconds, lines per second
    and the peak memory the planning adds."""
    cases = build_cases(lines)
    gc.collect()
    started, cpu_started = time.perf_counter(), time.process_time()
    planned = plan_all(cases)
    seconds = time.perf_counter() - started
    # the processor time this process got: the figure to trust on a busy machine
    cpu_seconds = time.process_time() - cpu_started
    # memory is measured in a second run: tracing slows Python down several times
    tracemalloc.start()
    plan_all(cases)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "lines": planned,
        "clients": len(cases),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "lines_per_second": round(planned / seconds) if seconds else None,
        "peak_memory_mib": round(peak / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    args = parser.parse_args()
    if args.profile:
        cases = build_cases(args.lines)
        profiler = cProfile.Profile()
        profiler.runcall(plan_all, cases)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return
    figure = domain_plan_figure(args.lines)
    print("domain only: plan lines on one core")
    for key, value in figure.items():
        print(f"  {key:>18}: {value}")


if __name__ == "__main__":
    main()
