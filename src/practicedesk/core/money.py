"""Money in the database: exact cents on PostgreSQL and SQLite alike."""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import DecimalField, Sum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(value) -> Decimal:
    """Quantize to cents (half-up). For values the database computed, not for user input."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _quantize_cents(value, expression, connection):
    return ZERO if value is None else to_cents(value)


class MoneySum(Sum):
    """SUM of a money column as an exact 2-place Decimal, and 0.00 over no rows.

    SQLite adds decimal columns in floating point (0.1 + 0.2 = 0.30000000000000004), and
    Django quantizes only plain columns, not aggregates; this converter brings every sum
    back to exact cents on both databases.
    """

    output_field = DecimalField(max_digits=16, decimal_places=2)

    def get_db_converters(self, connection):
        return [*super().get_db_converters(connection), _quantize_cents]
