from practicedesk.core.periodic import Every

# The check is idempotent, so it runs a few times a day: a plan falls behind soon after
# midnight rather than up to a day late.
PERIODIC = [
    Every("payment_plans_check", "practicedesk.billing.tasks.payment_plans_check", minutes=180),
]
