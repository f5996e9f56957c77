"""Calendar arithmetic for terms and pack validity."""

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """`day` moved by `months`, clamped to the last day of a shorter month."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))
