"""Dashboard background jobs, run by the worker (``practicedesk worker``)."""

from django_tasks import task

from practicedesk.dashboard import digest, selectors, services


@task()
def digest_send() -> dict:
    """The daily digest email to each manager who has it on."""
    return digest.digest_send()


@task()
def attention_refresh() -> int:
    """Collect the attention list anew (for the menu count on every page)."""
    return len(selectors.attention_refresh())


@task()
def kpi_history_close() -> int:
    """Keep the figures of the last closed months (see ``services.kpi_history_close``)."""
    return services.kpi_history_close()
