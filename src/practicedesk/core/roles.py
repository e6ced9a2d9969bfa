"""The roles of a practice and what each may do, declared here and nowhere else.

Each role is a Django group. Its permissions are the ``core.<area>_<action>`` permissions
named by the matrix below; ``roles_sync`` (run by a migration and by ``practicedesk
roles sync``) re-applies them, so the matrix is never edited by hand in the database.
"""

from dataclasses import dataclass, field

ACTIONS: dict[str, str] = {
    "view": "View",
    "add": "Add",
    "change": "Change",
    "delete": "Delete",
    "export": "Export",
    "approve": "Approve",
}

AREAS: dict[str, str] = {
    "dashboard": "Dashboard and KPIs",
    "patients": "Patients",
    "scheduling": "Scheduling and patient flow",
    "billing": "Billing and collections",
    "finance": "Finance and general ledger",
    "inventory": "Inventory and purchasing",
    "staff": "Staff and HR",
    "operations": "Policies, compliance and facilities",
    "relations": "Patient relations",
    "marketing": "Marketing",
    "documents": "Documents",
    "jobs": "Background jobs",
    "audit": "Audit log",
    "administration": "Organization, locations, users and roles",
}

ALL = frozenset(ACTIONS)
READ = frozenset({"view", "export"})
WORK = frozenset({"view", "add", "change", "export"})
VIEW = frozenset({"view"})


@dataclass(frozen=True)
class Role:
    key: str
    name: str
    description: str
    grants: dict[str, frozenset[str]] = field(default_factory=dict)
    two_factor_default: bool = False

    def allows(self, area: str, action: str) -> bool:
        return action in self.grants.get(area, frozenset())


ROLES: tuple[Role, ...] = (
    Role(
        key="manager",
        name="Practice manager",
        description="Runs the whole business of the practice; approves and authorizes.",
        grants=dict.fromkeys(AREAS, ALL),
        two_factor_default=True,
    ),
    Role(
        key="owner",
        name="Owner",
        description="Reads finance and dashboards; changes nothing.",
        grants={"dashboard": READ, "finance": READ, "billing": READ, "documents": VIEW},
        two_factor_default=True,
    ),
    Role(
        key="front_desk",
        name="Front desk",
        description="Registers patients, books and runs the day, takes payments at the desk.",
        grants={
            "dashboard": VIEW,
            "patients": WORK,
            "scheduling": WORK | {"delete"},
            "billing": frozenset({"view", "add"}),
            "relations": frozenset({"view", "add"}),
            "documents": frozenset({"view", "add"}),
        },
    ),
    Role(
        key="clinician",
        name="Clinician",
        description="Sees patients and their schedule, signs encounters.",
        grants={
            "dashboard": VIEW,
            "patients": frozenset({"view", "change"}),
            "scheduling": frozenset({"view", "change"}),
            "documents": VIEW,
        },
    ),
    Role(
        key="biller",
        name="Biller",
        description="Charges, claims, remittances, patient accounts and collections.",
        grants={
            "dashboard": VIEW,
            "patients": frozenset({"view", "change"}),
            "scheduling": VIEW,
            "billing": WORK,
            "relations": VIEW,
            "documents": frozenset({"view", "add"}),
            "jobs": frozenset({"view", "add"}),
        },
    ),
    Role(
        key="bookkeeper",
        name="Bookkeeper",
        description="General ledger, payables, budgets and the money side of billing.",
        grants={
            "dashboard": VIEW,
            "finance": WORK,
            "billing": READ,
            "inventory": READ,
            "documents": frozenset({"view", "add"}),
            "jobs": frozenset({"view", "add"}),
        },
        two_factor_default=True,
    ),
    Role(
        key="hr",
        name="HR",
        description="Hiring, onboarding, training, reviews, pay and benefits, staff cases.",
        grants={
            "dashboard": VIEW,
            "staff": ALL,
            "documents": frozenset({"view", "add"}),
        },
        two_factor_default=True,
    ),
    Role(
        key="inventory_clerk",
        name="Inventory clerk",
        description="Supplies, equipment, medications, purchasing and licenses.",
        grants={
            "dashboard": VIEW,
            "inventory": WORK,
            "documents": frozenset({"view", "add"}),
        },
    ),
    Role(
        key="marketing",
        name="Marketing",
        description="Campaigns, referral sources, patient retention and email.",
        grants={
            "dashboard": VIEW,
            "marketing": WORK,
            "documents": frozenset({"view", "add"}),
        },
    ),
    Role(
        key="auditor",
        name="Auditor",
        description="Reads the audit log and compliance records; changes nothing.",
        grants={"audit": READ, "operations": READ, "documents": VIEW},
    ),
)

ROLES_BY_KEY: dict[str, Role] = {role.key: role for role in ROLES}
ROLES_BY_NAME: dict[str, Role] = {role.name: role for role in ROLES}


def codename(area: str, action: str) -> str:
    return f"{area}_{action}"


def permission_name(area: str, action: str) -> str:
    return f"{ACTIONS[action]} {AREAS[area].lower()}"


def all_permissions() -> list[tuple[str, str]]:
    """Every (codename, name) pair of the matrix, for the permission model's Meta."""
    return [
        (codename(area, action), permission_name(area, action))
        for area in AREAS
        for action in ACTIONS
    ]
