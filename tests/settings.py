"""Fast settings for the test suite: cheap password hashing, e-mail kept in memory by default."""

from practicedesk.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AXES_FAILURE_LIMIT = 5
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tests serve static files from the apps (no collectstatic), so WhiteNoise looks for none.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
