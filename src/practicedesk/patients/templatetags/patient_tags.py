"""``{% load patient_tags %}{% patient_banner patient %}``: the patient's header for any page
about one patient (scheduling and billing pages too). Pass ``alerts`` when the view already
has the active alerts; otherwise they are read in one query."""

from django import template

from practicedesk.patients.selectors import patient_alerts_active

register = template.Library()


@register.inclusion_tag("patients/partials/patient_banner.html")
def patient_banner(patient, alerts=None, linked=True):
    return {
        "patient": patient,
        "banner_alerts": alerts if alerts is not None else patient_alerts_active(patient),
        "linked": linked,
    }
