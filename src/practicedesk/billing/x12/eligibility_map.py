"""The pyx12 map of the 005010X279A1 270 (eligibility inquiry) that the practice writes.

pyx12 4 ships eligibility maps for 4010 only (its 5010 270/271 entries are commented out of
its ``maps.xml``), so this module declares the 5010 270 structure of the implementation guide
here — loops, segments, element usage, the code values this practice sends — and writes it,
with pyx12's own control map, data-element and code files beside it, into a map directory
that pyx12's validator is pointed at (``map_path``). pyx12 itself then checks the file:
envelope and counts, loop and segment order, repeats, required elements, lengths and types.
"""

import functools
import hashlib
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree as ET  # we build XML here; we never parse any

GS08 = "005010X279A1"
MAP_FILE = "270.5010.X279.A1.xml"
PYX12_FILES = ("x12.control.00501.xml", "dataele.xml", "codes.xml")


@dataclass(frozen=True)
class E:
    """A simple element: data element number, name, usage (R/S/N), valid codes."""

    data_ele: str
    name: str
    usage: str = "R"
    codes: tuple[str, ...] = ()
    max_use: int | None = None


@dataclass(frozen=True)
class C:
    """A composite element and its components."""

    data_ele: str
    name: str
    usage: str
    components: tuple[E, ...]


@dataclass(frozen=True)
class Seg:
    xid: str
    name: str
    usage: str
    pos: int
    max_use: int
    elements: tuple[E | C, ...]
    syntax: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loop:
    xid: str
    name: str
    usage: str
    pos: int
    repeat: str
    children: tuple["Loop | Seg", ...] = field(default_factory=tuple)
    kind: str | None = None


NOT_USED = "N"

# Codes of the elements the guide constrains. Service types: the ones the practice asks about.
SERVICE_TYPES = ("1", "30", "33", "35", "47", "48", "50", "86", "88", "98", "AL", "MH", "UC")
PROVIDER_CODES = (
    "AD", "AT", "BI", "CO", "CV", "H", "HH", "LA", "OT", "P1", "P2", "PC", "PE", "R", "RF",
    "SB", "SK", "SU",
)  # fmt: skip
SUBSCRIBER_REF = (
    "18", "1L", "1W", "3H", "49", "6P", "CE", "CT", "EA", "EJ", "F6", "GH", "HJ", "IG", "N6",
    "NQ", "SY", "Y4",
)  # fmt: skip
INTERCHANGE_ID_QUALIFIERS = ("01", "14", "20", "27", "28", "29", "30", "33", "ZZ")
RECEIVER_REF = (
    "0B", "1C", "1D", "1J", "4A", "CT", "EL", "EO", "HPI", "JD", "N5", "N7", "Q4", "SY", "TJ",
)  # fmt: skip


def hl(level: str, children: tuple[str, ...], *, parent: str = "R") -> Seg:
    return Seg(
        "HL",
        "Hierarchical Level",
        "R",
        100,
        1,
        (
            E("628", "Hierarchical ID Number"),
            E("734", "Hierarchical Parent ID Number", parent),
            E("735", "Hierarchical Level Code", "R", (level,)),
            E("736", "Hierarchical Child Code", "R", children),
        ),
    )


def nm1(entity: tuple[str, ...], kinds: tuple[str, ...], ids: tuple[str, ...], id_usage: str):
    return Seg(
        "NM1",
        "Individual or Organizational Name",
        "R",
        300,
        1,
        (
            E("98", "Entity Identifier Code", "R", entity),
            E("1065", "Entity Type Qualifier", "R", kinds),
            E("1035", "Last or Organization Name", "S"),
            E("1036", "First Name", "S"),
            E("1037", "Middle Name", "S"),
            E("1038", "Name Prefix", NOT_USED),
            E("1039", "Name Suffix", "S"),
            E("66", "Identification Code Qualifier", id_usage, ids),
            E("67", "Identification Code", id_usage),
            E("706", "Entity Relationship Code", NOT_USED),
            E("98", "Entity Identifier Code", NOT_USED),
            E("1035", "Name Last or Organization Name", NOT_USED),
        ),
        syntax=("P0809", "C1110", "C1203"),
    )


def ref(pos: int, qualifiers: tuple[str, ...], max_use: int = 9) -> Seg:
    return Seg(
        "REF",
        "Additional Identification",
        "S",
        pos,
        max_use,
        (
            E("128", "Reference Identification Qualifier", "R", qualifiers),
            E("127", "Reference Identification"),
            E("352", "Description", "S"),
            C("C040", "Reference Identifier", NOT_USED, (E("128", "Qualifier", NOT_USED),)),
        ),
        syntax=("R0203",),
    )


ADDRESS = (
    Seg(
        "N3",
        "Address",
        "S",
        600,
        1,
        (E("166", "Address Information"), E("166", "Address Information", "S")),
    ),
    Seg(
        "N4",
        "City, State, ZIP Code",
        "S",
        700,
        1,
        (
            E("19", "City Name"),
            E("156", "State or Province Code", "S"),
            E("116", "Postal Code", "S"),
            E("26", "Country Code", "S"),
            E("309", "Location Qualifier", NOT_USED),
            E("310", "Location Identifier", NOT_USED),
            E("1715", "Country Subdivision Code", "S"),
        ),
        syntax=("E0207", "C0605", "C0704"),
    ),
)


def prv(pos: int) -> Seg:
    return Seg(
        "PRV",
        "Provider Information",
        "S",
        pos,
        1,
        (
            E("1221", "Provider Code", "R", PROVIDER_CODES),
            E("128", "Reference Identification Qualifier", "S", ("PXC",)),
            E("127", "Provider Taxonomy Code", "S"),
            E("156", "State or Province Code", NOT_USED),
            C("C035", "Provider Specialty", NOT_USED, (E("1223", "Specialty", NOT_USED),)),
            E("1223", "Provider Organization Code", NOT_USED),
        ),
        syntax=("P0203",),
    )


def person_segments() -> tuple[Seg, ...]:
    diagnosis = tuple(
        C(
            "C022",
            "Health Care Code Information",
            "R" if index == 1 else "S",
            (
                E("1270", "Code List Qualifier Code", "R", ("ABK", "ABF", "BK", "BF")),
                E("1271", "Industry Code"),
                *(E("1250", "Not used", NOT_USED) for _ in range(7)),
            ),
        )
        for index in range(1, 9)
    )
    return (
        Seg(
            "DMG",
            "Demographic Information",
            "S",
            1000,
            1,
            (
                E("1250", "Date Time Period Format Qualifier", "S", ("D8",)),
                E("1251", "Date of Birth", "S"),
                E("1068", "Gender Code", "S", ("F", "M", "U")),
                *(E("1067", "Not used", NOT_USED) for _ in range(8)),
            ),
            syntax=("P0102",),
        ),
        Seg(
            "INS",
            "Multiple Birth Sequence Number",
            "S",
            1100,
            1,
            (
                E("1073", "Insured Indicator", "R", ("Y", "N")),
                E("1069", "Individual Relationship Code", "R", ("01", "18", "19", "34")),
                *(E("1073", "Not used", NOT_USED) for _ in range(14)),
                E("1470", "Birth Sequence Number", "S"),
            ),
        ),
        Seg("HI", "Health Care Diagnosis Code", "S", 1150, 1, diagnosis),
        Seg(
            "DTP",
            "Date",
            "S",
            2000,
            2,
            (
                E("374", "Date Time Qualifier", "R", ("291", "102")),
                E("1250", "Date Time Period Format Qualifier", "R", ("D8", "RD8")),
                E("1251", "Date Time Period"),
            ),
        ),
    )


def inquiry_loop(xid: str) -> Loop:
    return Loop(
        xid,
        "Eligibility or Benefit Inquiry",
        "S",
        3000,
        "99",
        (
            Seg(
                "EQ",
                "Eligibility or Benefit Inquiry",
                "R",
                100,
                1,
                (
                    E("1365", "Service Type Code", "S", SERVICE_TYPES, max_use=99),
                    C(
                        "C003",
                        "Composite Medical Procedure Identifier",
                        "S",
                        (
                            E("235", "Product or Service ID Qualifier", "R", ("AD", "CJ", "HC")),
                            E("234", "Procedure Code"),
                            E("1339", "Procedure Modifier", "S"),
                            E("1339", "Procedure Modifier", "S"),
                            E("1339", "Procedure Modifier", "S"),
                            E("1339", "Procedure Modifier", "S"),
                            E("352", "Description", NOT_USED),
                            E("234", "Product or Service ID", NOT_USED),
                        ),
                    ),
                    E("1207", "Coverage Level Code", "S"),
                    E("1336", "Insurance Type Code", NOT_USED),
                    C(
                        "C004",
                        "Composite Diagnosis Code Pointer",
                        "S",
                        (
                            E("1328", "Diagnosis Code Pointer"),
                            E("1328", "Diagnosis Code Pointer", "S"),
                            E("1328", "Diagnosis Code Pointer", "S"),
                            E("1328", "Diagnosis Code Pointer", "S"),
                        ),
                    ),
                ),
                syntax=("R0102",),
            ),
            Seg(
                "AMT",
                "Spend Down Amount",
                "S",
                200,
                2,
                (
                    E("522", "Amount Qualifier Code", "R", ("R", "PB")),
                    E("782", "Monetary Amount"),
                    E("478", "Credit/Debit Flag Code", NOT_USED),
                ),
            ),
            Seg(
                "REF",
                "Additional Inquiry Information",
                "S",
                400,
                1,
                (
                    E("128", "Reference Identification Qualifier", "R", ("9F", "G1")),
                    E("127", "Reference Identification"),
                    E("352", "Description", NOT_USED),
                    C("C040", "Reference Identifier", NOT_USED, (E("128", "Qualifier", NOT_USED),)),
                ),
            ),
            Seg(
                "DTP",
                "Eligibility or Benefit Date",
                "S",
                500,
                1,
                (
                    E("374", "Date Time Qualifier", "R", ("291",)),
                    E("1250", "Date Time Period Format Qualifier", "R", ("D8", "RD8")),
                    E("1251", "Date Time Period"),
                ),
            ),
        ),
    )


def trace() -> Seg:
    return Seg(
        "TRN",
        "Trace Number",
        "S",
        200,
        2,
        (
            E("481", "Trace Type Code", "R", ("1",)),
            E("127", "Trace Number"),
            E("509", "Trace Assigning Entity Identifier"),
            E("127", "Trace Assigning Entity Additional Identifier", "S"),
        ),
    )


DEPENDENT = Loop(
    "2000D",
    "Dependent Level",
    "S",
    4000,
    ">1",
    (
        hl("23", ("0",)),
        trace(),
        Loop(
            "2100D",
            "Dependent Name",
            "R",
            300,
            "1",
            (
                nm1(("03",), ("1",), (), NOT_USED),
                ref(400, SUBSCRIBER_REF),
                *ADDRESS,
                prv(900),
                *person_segments(),
                inquiry_loop("2110D"),
            ),
        ),
    ),
)

SUBSCRIBER = Loop(
    "2000C",
    "Subscriber Level",
    "R",
    4000,
    ">1",
    (
        hl("22", ("0", "1")),
        trace(),
        Loop(
            "2100C",
            "Subscriber Name",
            "R",
            300,
            "1",
            (
                nm1(("IL",), ("1",), ("MI", "II"), "S"),
                ref(400, SUBSCRIBER_REF),
                *ADDRESS,
                prv(900),
                *person_segments(),
                inquiry_loop("2110C"),
            ),
        ),
        DEPENDENT,
    ),
)

RECEIVER = Loop(
    "2000B",
    "Information Receiver Level",
    "R",
    4000,
    ">1",
    (
        hl("21", ("1",)),
        Loop(
            "2100B",
            "Information Receiver Name",
            "R",
            300,
            "1",
            (
                nm1(
                    ("1P", "2B", "36", "80", "FA", "GP", "P5", "PR"),
                    ("1", "2"),
                    ("34", "46", "FI", "PI", "PP", "SV", "XV", "XX"),
                    "S",
                ),
                ref(400, RECEIVER_REF),
                *ADDRESS,
                prv(900),
            ),
        ),
        SUBSCRIBER,
    ),
)

SOURCE = Loop(
    "2000A",
    "Information Source Level",
    "R",
    100,
    ">1",
    (
        hl("20", ("1",), parent=NOT_USED),
        Loop(
            "2100A",
            "Information Source Name",
            "R",
            300,
            "1",
            (
                nm1(
                    ("2B", "36", "GP", "P5", "PR"),
                    ("1", "2"),
                    ("24", "46", "FI", "NI", "PI", "XV", "XX"),
                    "R",
                ),
            ),
        ),
        RECEIVER,
    ),
)

TRANSACTION = Loop(
    "ISA_LOOP",
    "Interchange Control Header",
    "R",
    10,
    ">1",
    (
        Seg(
            "ISA",
            "Interchange Control Header",
            "R",
            10,
            1,
            (
                E("I01", "Authorization Information Qualifier", "R", ("00", "03")),
                E("I02", "Authorization Information"),
                E("I03", "Security Information Qualifier", "R", ("00", "01")),
                E("I04", "Security Information"),
                E("I05", "Interchange ID Qualifier", "R", INTERCHANGE_ID_QUALIFIERS),
                E("I06", "Interchange Sender ID"),
                E("I05", "Interchange ID Qualifier", "R", INTERCHANGE_ID_QUALIFIERS),
                E("I07", "Interchange Receiver ID"),
                E("I08", "Interchange Date"),
                E("I09", "Interchange Time"),
                E("I65", "Repetition Separator"),
                E("I11", "Interchange Control Version Number", "R", ("00501",)),
                E("I12", "Interchange Control Number"),
                E("I13", "Acknowledgment Requested", "R", ("0", "1")),
                E("I14", "Usage Indicator", "R", ("P", "T")),
                E("I15", "Component Element Separator"),
            ),
        ),
        Loop(
            "GS_LOOP",
            "Functional Group Header",
            "R",
            20,
            ">1",
            (
                Seg(
                    "GS",
                    "Functional Group Header",
                    "R",
                    10,
                    1,
                    (
                        E("479", "Functional Identifier Code", "R", ("HS",)),
                        E("142", "Application Sender's Code"),
                        E("124", "Application Receiver's Code"),
                        E("373", "Date"),
                        E("337", "Time"),
                        E("28", "Group Control Number"),
                        E("455", "Responsible Agency Code", "R", ("X",)),
                        E("480", "Version / Release / Industry Identifier Code", "R", (GS08,)),
                    ),
                ),
                Loop(
                    "ST_LOOP",
                    "Transaction Set Header",
                    "R",
                    20,
                    ">1",
                    (
                        Seg(
                            "ST",
                            "Transaction Set Header",
                            "R",
                            50,
                            1,
                            (
                                E("143", "Transaction Set Identifier Code", "R", ("270",)),
                                E("329", "Transaction Set Control Number"),
                                E("1705", "Implementation Convention Reference", "R", (GS08,)),
                            ),
                        ),
                        Loop(
                            "HEADER",
                            "Table 1 - Header",
                            "R",
                            100,
                            "1",
                            (
                                Seg(
                                    "BHT",
                                    "Beginning of Hierarchical Transaction",
                                    "R",
                                    100,
                                    1,
                                    (
                                        E("1005", "Hierarchical Structure Code", "R", ("0022",)),
                                        E("353", "Transaction Set Purpose Code", "R", ("01", "13")),
                                        E("127", "Submitter Transaction Identifier", "S"),
                                        E("373", "Transaction Set Creation Date"),
                                        E("337", "Transaction Set Creation Time"),
                                        E("640", "Transaction Type Code", NOT_USED),
                                    ),
                                ),
                            ),
                            kind="wrapper",
                        ),
                        Loop("DETAIL", "Table 2 - Detail", "S", 200, ">1", (SOURCE,), "wrapper"),
                        Seg(
                            "SE",
                            "Transaction Set Trailer",
                            "R",
                            5000,
                            1,
                            (
                                E("96", "Transaction Segment Count"),
                                E("329", "Transaction Set Control Number"),
                            ),
                        ),
                    ),
                    kind="explicit",
                ),
                Seg(
                    "GE",
                    "Functional Group Trailer",
                    "R",
                    30,
                    1,
                    (
                        E("97", "Number of Transaction Sets Included"),
                        E("28", "Group Control Number"),
                    ),
                ),
            ),
            kind="explicit",
        ),
        Seg(
            "IEA",
            "Interchange Control Trailer",
            "R",
            30,
            1,
            (
                E("I16", "Number of Included Functional Groups"),
                E("I12", "Interchange Control Number"),
            ),
        ),
    ),
    kind="explicit",
)


def element_xml(parent: ET.Element, xid: str, node: E | C, seq: int) -> None:
    if isinstance(node, C):
        composite = ET.SubElement(
            parent,
            "composite",
            xid=xid,
            data_ele=node.data_ele,
            name=node.name,
            usage=node.usage,
            seq=f"{seq:02d}",
        )
        for index, component in enumerate(node.components, start=1):
            element_xml(composite, f"{xid}-{index:02d}", component, index)
        return
    attributes = {
        "xid": xid,
        "data_ele": node.data_ele,
        "name": node.name,
        "usage": node.usage,
        "seq": f"{seq:02d}",
    }
    if node.max_use:
        attributes["max_use"] = str(node.max_use)
    element = ET.SubElement(parent, "element", attributes)
    if node.codes:
        codes = ET.SubElement(element, "valid_codes")
        for code in node.codes:
            ET.SubElement(codes, "code").text = code


def node_xml(parent: ET.Element, node: Loop | Seg) -> None:
    if isinstance(node, Seg):
        segment = ET.SubElement(
            parent,
            "segment",
            xid=node.xid,
            name=node.name,
            usage=node.usage,
            pos=f"{node.pos:04d}",
            max_use=str(node.max_use),
        )
        for rule in node.syntax:
            ET.SubElement(segment, "syntax").text = rule
        for seq, element in enumerate(node.elements, start=1):
            element_xml(segment, f"{node.xid}{seq:02d}", element, seq)
        return
    attributes = {
        "xid": node.xid,
        "name": node.name,
        "usage": node.usage,
        "pos": f"{node.pos:04d}",
        "repeat": node.repeat,
    }
    if node.kind:
        attributes["type"] = node.kind
    loop = ET.SubElement(parent, "loop", attributes)
    for child in node.children:
        node_xml(loop, child)


def map_xml() -> bytes:
    root = ET.Element("transaction", xid="270", name="HIPAA Eligibility Inquiry 005010X279A1")
    node_xml(root, TRANSACTION)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def maps_index_xml() -> bytes:
    root = ET.Element("maps")
    version = ET.SubElement(root, "version", icvn="00501")
    ET.SubElement(version, "map", vriic=GS08, fic="HS", abbr="270").text = MAP_FILE
    ET.SubElement(version, "map", vriic="", fic="", abbr="X12").text = "x12.control.00501.xml"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@functools.cache
def map_directory() -> str:
    """A directory holding this map and the pyx12 files it needs, written once per process.

    Its name carries a digest of the content, so a changed map (or pyx12 upgrade) never reuses
    a stale directory, and concurrent processes write identical files.
    """
    files = {MAP_FILE: map_xml(), "maps.xml": maps_index_xml()}
    package = resources.files("pyx12").joinpath("map")
    for name in PYX12_FILES:
        files[name] = package.joinpath(name).read_bytes()
    digest = hashlib.sha256(b"".join(files[name] for name in sorted(files))).hexdigest()[:16]
    directory = Path(tempfile.gettempdir()) / f"practicedesk-x12-270-{digest}"
    directory.mkdir(exist_ok=True)
    for name, content in files.items():
        path = directory / name
        if not path.exists() or path.read_bytes() != content:
            temporary = path.with_suffix(f".{digest}.tmp")
            temporary.write_bytes(content)
            temporary.replace(path)
    return str(directory)
