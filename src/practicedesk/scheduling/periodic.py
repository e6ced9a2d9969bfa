from practicedesk.core.periodic import Every

PERIODIC = [
    Every("reminders_send_due", "practicedesk.scheduling.tasks.reminders_send_due", minutes=15),
]
