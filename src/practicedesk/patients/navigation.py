from practicedesk.core.navigation import MenuEntry

MENU = [
    MenuEntry("Patients", "Patients", "patients:patient_list", "patients"),
    MenuEntry("Patients", "Register a patient", "patients:patient_create", "patients", "add"),
    MenuEntry("Patients", "Payers", "patients:payer_list", "billing"),
    MenuEntry("Patients", "Referral sources", "patients:referral_source_list", "marketing"),
]
