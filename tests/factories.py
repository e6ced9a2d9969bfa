"""Factories for every model the tests build; one place, shared by all areas."""

import datetime

import factory
from django.contrib.auth.hashers import make_password

from practicedesk.core.models import Document, Location, Organization, User
from practicedesk.core.validators import npi_from_prefix

TEST_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    password = factory.LazyFunction(lambda: make_password(TEST_PASSWORD))


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("singleton",)

    singleton = 1
    name = "Test Practice"
    tax_id = "12-3456789"
    phone = "(555) 201-3344"
    address_line1 = "1 Test Way"
    city = "Springfield"
    state = "IL"
    postal_code = "62701"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"loc{n}")
    name = factory.Sequence(lambda n: f"Clinic {n}")
    phone = "(555) 201-3344"
    npi = factory.Sequence(lambda n: npi_from_prefix(f"{100000000 + n}"))
    tax_id = "12-3456789"
    address_line1 = "1 Test Way"
    city = "Springfield"
    state = "IL"
    postal_code = "62701"


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    title = factory.Sequence(lambda n: f"Document {n}")
    document_type = Document.Type.CONTRACT
    file = factory.django.FileField(filename="lease.pdf", data=b"%PDF-1.4\n%test\n")
    original_name = "lease.pdf"
    content_type_name = "application/pdf"
    size_bytes = 15
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    owner = factory.SubFactory(UserFactory)
    uploaded_by = factory.SelfAttribute("owner")
    retain_until = datetime.date(2033, 12, 31)
