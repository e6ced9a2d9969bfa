"""Field validators shared by every area: identifiers a manager types in by hand."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

phone_validator = RegexValidator(
    regex=r"^\+?1?[\s.-]?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(\s*(x|ext\.?)\s*\d{1,6})?$",
    message="Enter a 10-digit phone number, for example (555) 201-3344 or 555-201-3344 x12.",
)


def luhn_checksum_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def validate_npi(value: str) -> None:
    """An NPI is 10 digits whose last digit is a Luhn check digit over '80840' + the first nine."""
    if not re.fullmatch(r"\d{10}", value or ""):
        raise ValidationError("An NPI is exactly 10 digits, for example 1234567893.")
    if not luhn_checksum_ok("80840" + value):
        raise ValidationError(
            "This NPI fails its check digit; compare it with the NPPES registry entry."
        )


def validate_tax_id(value: str) -> None:
    """A federal employer identification number: 9 digits, written 12-3456789."""
    if not re.fullmatch(r"\d{2}-?\d{7}", value or ""):
        raise ValidationError("A tax id (EIN) is 9 digits, written 12-3456789.")


def npi_from_prefix(first_nine: str) -> str:
    """The valid NPI that starts with these nine digits (appends the Luhn check digit)."""
    for check in "0123456789":
        if luhn_checksum_ok("80840" + first_nine + check):
            return first_nine + check
    raise ValueError(f"No check digit fits {first_nine!r}")
