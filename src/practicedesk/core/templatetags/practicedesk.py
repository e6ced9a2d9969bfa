from django import template

from practicedesk.core.selectors import change_lines

register = template.Library()


@register.filter
def audit_change_lines(entry):
    """The (field, before, after) lines of a change-log entry, many-to-many changes included."""
    return change_lines(entry)
