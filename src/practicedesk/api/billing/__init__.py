"""The billing part of the REST API: payers, service codes, fee schedules, charges, claims."""
