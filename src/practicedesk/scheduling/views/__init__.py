"""Scheduling pages: one module per concern (resources, calendar, booking, flow, follow-up)."""
