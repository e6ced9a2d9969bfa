"""Demo organization, locations and one user per role: deterministic and idempotent."""

import random

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from practicedesk.core.models import Location, Organization, User
from practicedesk.core.roles import ROLES
from practicedesk.core.services import roles_sync
from practicedesk.core.validators import npi_from_prefix
from practicedesk.demo.sizes import DemoSize

SEED = 20261127

LOCATION_SITES = [
    ("MAIN", "Main Street Clinic", "100 Main Street", "Springfield", "IL", "62701"),
    ("NORTH", "Northside Family Care", "2400 North Avenue", "Springfield", "IL", "62702"),
    ("WEST", "Westgate Medical", "850 Westgate Road", "Chatham", "IL", "62629"),
    ("LAKE", "Lakeview Health Center", "17 Lakeshore Drive", "Springfield", "IL", "62712"),
    ("EAST", "Eastwood Pediatrics", "3301 East Cook Street", "Springfield", "IL", "62703"),
    ("RIVER", "Riverton Primary Care", "12 Front Street", "Riverton", "IL", "62561"),
    ("SHERM", "Sherman Internal Medicine", "401 Business 55", "Sherman", "IL", "62684"),
    ("ROCH", "Rochester Medical Group", "5 Oak Mill Road", "Rochester", "IL", "62563"),
]

ROLE_USERS = {
    "manager": ("manager", "Maria", "Alvarez"),
    "owner": ("owner", "Dr. Owen", "Hale"),
    "front_desk": ("frontdesk", "Frankie", "Desmond"),
    "clinician": ("clinician", "Dr. Clara", "Nguyen"),
    "biller": ("biller", "Bill", "Reyes"),
    "bookkeeper": ("bookkeeper", "Beth", "Kowalski"),
    "hr": ("hr", "Harper", "Rossi"),
    "inventory_clerk": ("inventory", "Ivan", "Petrov"),
    "marketing": ("marketing", "Mark", "Ellis"),
    "auditor": ("auditor", "Audrey", "Tan"),
}


def phone(rng: random.Random) -> str:
    return f"(217) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}"


@transaction.atomic
def build_foundation(size: DemoSize) -> dict[str, int]:
    rng = random.Random(SEED)
    roles_sync()
    Organization.objects.update_or_create(
        singleton=1,
        defaults={
            "name": "Prairie Health Partners",
            "legal_name": "Prairie Health Partners, LLC",
            "tax_id": "37-1234567",
            "npi": npi_from_prefix("123456789"),
            "phone": "(217) 555-0100",
            "email": "office@prairiehealth.example",
            "address_line1": "100 Main Street",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
        },
    )
    created = {"locations": 0, "users": 0}
    locations = []
    for index, (code, name, street, city, state, zip_code) in enumerate(
        LOCATION_SITES[: size.locations]
    ):
        location, was_created = Location.objects.get_or_create(
            code=code.lower(),
            defaults={
                "name": name,
                "address_line1": street,
                "city": city,
                "state": state,
                "postal_code": zip_code,
                "phone": phone(rng),
                "npi": npi_from_prefix(f"1{index + 1:02d}0000{index + 1:02d}"),
                "tax_id": "37-1234567",
            },
        )
        created["locations"] += was_created
        locations.append(location)
    for role in ROLES:
        username, first, last = ROLE_USERS[role.key]
        user, was_created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@prairiehealth.example",
                "two_factor_exempt": True,
                "home_location": locations[0],
            },
        )
        if was_created:
            user.set_password(settings.DEMO_PASSWORD)
            user.save()
            user.groups.set([Group.objects.get(name=role.name)])
        created["users"] += was_created
    return created
