"""Writes the 835 remittance the import benchmark posts: one transaction (ST/SE) per payer,
paying each submitted claim's lines at the payer's allowed share with a CO-45 adjustment and,
now and then, a PR-3 copay. The same shape as tests/billing/x12_samples.py, many claims."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def amount(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):.2f}"


def remittance_835(
    payments: list[dict], *, payment_date: datetime.date, interchange: int = 9001
) -> str:
    """``payments``: [{"payer_name", "payer_id", "trace", "claims": [(number, [(code,
    modifiers, billed, paid, adjustments)], patient_responsibility)]}]; amounts are Decimals."""
    segments = [
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*PRACTICEDESK   *"
        f"{payment_date:%y%m%d}*1200*^*00501*{interchange:09d}*0*T*:",
        f"GS*HP*CLEARINGHOUSE*PRACTICEDESK*{payment_date:%Y%m%d}*1200*{interchange}*X*005010X221A1",
    ]
    for number, payment in enumerate(payments, start=1):
        control = f"{number:04d}"
        body = [f"ST*835*{control}*005010X221A1"]
        total = sum((line[3] for claim in payment["claims"] for line in claim[1]), Decimal(0))
        body += [
            f"BPR*I*{amount(total)}*C*ACH*CCP*01*999999992*DA*123456*1512345678**01*"
            f"999988880*DA*98765*{payment_date:%Y%m%d}",
            f"TRN*1*{payment['trace']}*1512345678",
            f"DTM*405*{payment_date:%Y%m%d}",
            f"N1*PR*{payment['payer_name']}*XV*{payment['payer_id']}",
            "N3*PO BOX 100",
            "N4*CHICAGO*IL*60601",
            "PER*BL*PROVIDER SERVICES*TE*8005551212",
            "N1*PE*PRAIRIE HEALTH PARTNERS*XX*1234567893",
            "LX*1",
        ]
        for claim_number, lines, responsibility in payment["claims"]:
            billed = sum((line[2] for line in lines), Decimal(0))
            paid = sum((line[3] for line in lines), Decimal(0))
            body += [
                f"CLP*{claim_number}*1*{amount(billed)}*{amount(paid)}*{amount(responsibility)}"
                f"*12*PAYER{claim_number}",
                f"NM1*QC*1*DOE*JANE****MI*M{claim_number[-8:]}",
                f"DTM*232*{payment_date:%Y%m%d}",
            ]
            for code, modifiers, line_billed, line_paid, adjustments, *service in lines:
                procedure = ":".join(["HC", code, *modifiers])
                body.append(f"SVC*{procedure}*{amount(line_billed)}*{amount(line_paid)}**1")
                if service:
                    body.append(f"DTM*472*{service[0]:%Y%m%d}")
                groups: dict[str, list[str]] = {}
                for group, reason, value in adjustments:
                    groups.setdefault(group, []).extend([reason, amount(value), ""])
                for group, values in groups.items():
                    body.append("*".join(["CAS", group, *values]).rstrip("*"))
        body.append(f"SE*{len(body) + 1}*{control}")
        segments += body
    segments += [f"GE*{len(payments)}*{interchange}", f"IEA*1*{interchange:09d}"]
    return "~\n".join(segments) + "~\n"
