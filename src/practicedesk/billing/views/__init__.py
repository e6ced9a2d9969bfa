"""Billing pages, one module per part of the revenue cycle."""
