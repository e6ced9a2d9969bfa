"""The indexes the patient search reads names through on PostgreSQL.

- ``patient_name_sort_c``: ``search_name`` compared byte by byte (collation "C"), then the id.
  One range of it finds a name prefix ("tho%") and returns it in list order, so a page of the
  list reads 25 index entries (see ``selectors.name_sort_key``). It carries ``status`` too, so
  the page's count of matches (merged records left out) is read from the index alone.
- ``patient_search_name_trgm``: a trigram index, for a word that starts a first or middle name
  ("john smith", "mary": ``search_name LIKE '% mary%'``), which no B-tree can serve.

PostgreSQL only, and so left out of the model's state: SQLite has no collation "C" nor
trigrams; its ``search_name`` index serves the prefix search there. Reversing drops the indexes
and leaves the pg_trgm extension, which other schemas of the database may use.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models
from django.db.models.functions import Collate

INDEXES = [
    models.Index(
        Collate(models.F("search_name"), "C"),
        models.F("id"),
        include=["status"],
        name="patient_name_sort_c",
    ),
    GinIndex(fields=["search_name"], opclasses=["gin_trgm_ops"], name="patient_search_name_trgm"),
]


def indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for index in INDEXES:
            schema_editor.add_index(apps.get_model("patients", "Patient"), index)


def indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for index in INDEXES:
            schema_editor.remove_index(apps.get_model("patients", "Patient"), index)


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0002_alter_patientalert_created_by"),
    ]

    operations = [
        migrations.RunPython(indexes_create, indexes_drop, elidable=False),
    ]
