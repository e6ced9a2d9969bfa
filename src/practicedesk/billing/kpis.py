"""What billing contributes to the manager's dashboard: the claims and receivables figures.

They are practice-wide reports over every account, so a role sees them only with billing
``export`` (billers, bookkeepers, owners, managers); the front desk's billing access (look
up an account, take a payment) does not open them. Default targets follow the published
benchmarks named in ``target_source``.
"""

from decimal import Decimal

from practicedesk.billing import receivables
from practicedesk.core.kpi import Kpi

AREA = "billing"
ACTION = "export"

KPIS: list[Kpi] = [
    Kpi(
        key="days_in_ar",
        name="Days in A/R",
        definition="Total A/R at the end of the period ÷ average daily gross charges of the "
        "90 days up to then (charges by date of service, reversals netted).",
        unit="days",
        good_direction="down",
        selector=receivables.days_in_ar,
        area=AREA,
        action=ACTION,
        default_target=Decimal("40"),
        default_warning=Decimal("50"),
        target_source="MGMA / HFMA benchmark: days in A/R under 35–40 days; over 50 days "
        "needs attention.",
        records=receivables.over_90_accounts,
    ),
    Kpi(
        key="net_collection_rate",
        name="Net collection rate",
        definition="Payments (net of refunds, returned checks and recoupments) ÷ (charges − "
        "contractual adjustments, CARC group CO), for the period.",
        unit="%",
        good_direction="up",
        selector=receivables.net_collection_rate,
        area=AREA,
        action=ACTION,
        default_target=Decimal("95"),
        default_warning=Decimal("90"),
        target_source="MGMA benchmark: net collection rate of 95% or more (better performers "
        "96–99%).",
    ),
    Kpi(
        key="gross_collection_rate",
        name="Gross collection rate",
        definition="Payments (net of refunds, returned checks and recoupments) ÷ gross "
        "charges, for the period.",
        unit="%",
        good_direction="up",
        selector=receivables.gross_collection_rate,
        area=AREA,
        action=ACTION,
        target_source="No default: the gross rate depends on how far the practice's fees are "
        "above its contracted rates, so no benchmark fits every practice.",
    ),
    Kpi(
        key="denial_rate",
        name="Denial rate",
        definition="Claims denied in the period ÷ claims adjudicated (paid, partly paid or "
        "denied) in the period; each claim counted once.",
        unit="%",
        good_direction="down",
        selector=receivables.denial_rate,
        area=AREA,
        action=ACTION,
        default_target=Decimal("5"),
        default_warning=Decimal("10"),
        target_source="MGMA / AAFP benchmark: denial rate under 5–10%; above 10% calls for "
        "a denial-prevention review.",
        drilldown_url_name="billing:denial_queue",
        records=receivables.denied_claims,
    ),
    Kpi(
        key="first_pass_acceptance",
        name="First-pass acceptance rate",
        definition="Claims paid on their first adjudication with no earlier rejection or "
        "denial ÷ claims first adjudicated in the period.",
        unit="%",
        good_direction="up",
        selector=receivables.first_pass_acceptance_rate,
        area=AREA,
        action=ACTION,
        default_target=Decimal("90"),
        default_warning=Decimal("85"),
        target_source="HFMA / industry benchmark: clean-claim (first-pass) rate of 90% or "
        "more; best performers 95%+.",
        drilldown_url_name="billing:claim_list",
        records=receivables.claims_not_first_pass,
    ),
    Kpi(
        key="ar_over_90_share",
        name="A/R over 90 days",
        definition="A/R more than 90 days past the date of service ÷ total A/R, at the end "
        "of the period.",
        unit="%",
        good_direction="down",
        selector=receivables.ar_over_90_share,
        area=AREA,
        action=ACTION,
        default_target=Decimal("15"),
        default_warning=Decimal("25"),
        target_source="MGMA / HFMA benchmark: under 15–20% of A/R older than 90 days.",
        records=receivables.over_90_accounts,
    ),
    Kpi(
        key="average_days_to_payment",
        name="Average days to payment",
        definition="Mean of (first payment posted − date of service) over the charges first "
        "paid in the period.",
        unit="days",
        good_direction="down",
        selector=receivables.average_days_to_payment,
        area=AREA,
        action=ACTION,
        default_target=Decimal("30"),
        default_warning=Decimal("45"),
        target_source="Industry benchmark: clean electronic claims paid within 14–30 days; "
        "state prompt-pay laws allow 30–45.",
        records=receivables.slowest_payments,
    ),
    Kpi(
        key="ar_by_bucket",
        name="A/R by age",
        definition="A/R at the end of the period in buckets of 0–30, 31–60, 61–90, 91–120 "
        "and over 120 days since the date of service.",
        unit="$",
        good_direction="none",
        selector=receivables.ar_by_bucket,
        area=AREA,
        action=ACTION,
        shape="rows",
        row_label="bucket",
        row_value="amount",
        records=receivables.over_90_accounts,
    ),
    Kpi(
        key="ar_by_payer",
        name="A/R by payer",
        definition="What each payer (and the patients) owe at the end of the period.",
        unit="$",
        good_direction="none",
        selector=receivables.ar_by_payer,
        area=AREA,
        action=ACTION,
        shape="rows",
        row_label="payer",
        row_value="total",
    ),
    Kpi(
        key="payer_mix",
        name="Payer mix",
        definition="Gross charges of the period by the payer billed first (self-pay where "
        "the visit had no coverage).",
        unit="$",
        good_direction="none",
        selector=receivables.payer_mix,
        area=AREA,
        action=ACTION,
        shape="rows",
        row_label="payer",
        row_value="amount",
    ),
]
