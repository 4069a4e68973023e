"""Rebuild the shipped cycle workbooks: templates/excel/cycle.xlsx and example-cycle.xlsx.

A developer runs this after changing the workbook layout or the default
toolkit (`python dev/build_workbooks.py [OUT_DIR]`); the product never builds them at
run time. Sheet names and headings come from `pipeline.workbook`, which the
loader reads by, so the two cannot drift apart.

- cycle.xlsx: a blank cycle with placeholders (which `case-audit check`
  reports until replaced), the cycle running on the build date (April-March),
  the default 2015-16 toolkit (priority areas, KLOEs, 22 standards, rating
  scale) and the 11 agencies; no cases, no event or learning rows.
- example-cycle.xlsx: the shipped demo, Solihull LSCB 2015-16, with 11
  fictional cases whose agency involvement matches the seed report, and the
  seed's Tables 1-3 and Appendix 3 word for word. Children's names are
  invented; contacts are fictional with @example.org addresses. Its report
  title says it is the demonstration with simulated returns.

Output is byte-for-byte reproducible (fixed zip and document timestamps) so
re-running without changes leaves git clean.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import workbook as W  # noqa: E402
from pipeline.models import DEFAULT_CASE_GRADES, DEFAULT_ESCALATE_GRADES  # noqa: E402
from pipeline.models import ActionStatus  # noqa: E402

OUT_DIR = ROOT / "templates" / "excel"
FIXED_TIME = datetime(2024, 1, 1, 0, 0, 0)
LIST_ROWS = 500  # how far down drop-downs and column formats reach

# --- the default toolkit (seed Appendix 1) -----------------------------------

PRIORITY_AREAS = [
    ("Child Sexual Exploitation (CSE)", "To help children at risk of sexual exploitation"),
    ("Neglect", "To promote positive practice on neglect"),
    ("Early Help", "To support the delivery of Early Help Services"),
]

KLOES = [
    (1, "What is the quality and timeliness of information sharing including core group work, MASE, early help and "
        "other appropriate multi-agency meetings?", "Quality and timeliness of information sharing"),
    (2, "Do practitioners have the knowledge to apply correctly the thresholds and referral processes to support "
        "effective and accountable practice?", "Awareness of thresholds and referral processes"),
    (3, "Is it evident that the voice of the child has been heard?", "The voice of the child"),
    (4, "Are interventions working effectively to improve outcomes for the child/ren?", "Effectiveness of interventions"),
    (5, "Is supervision/management support used to aid reflective practice and to provide challenge to make a "
        "positive difference for the child?", "Supervision"),
]

# (number, KLOE, text word for word from "STANDARDS FOR CASE AUDIT", finding when met, finding when not met, N/A allowed)
STANDARDS = [
    (1, 1, "The right agencies are involved",
     "the right agencies were involved", "the right agencies were not involved", False),
    (2, 1, "All relevant partners (e.g. substance misuse services, mental health services, learning difficulties) are "
           "appropriately engaged, share appropriate information and contribute to the relevant multi-agency "
           "meetings(e.g. core groups, MASE, early help, child protection conference)",
     "relevant partners engaged and shared the appropriate information",
     "the agency did not play a part in multi-agency planning", False),
    (3, 1, "The professional demonstrates that they can apply information sharing protocols.",
     "practitioners demonstrated they could apply information sharing protocols",
     "the practitioner could not show how information sharing protocols were applied", False),
    (4, 1, "Relevant multi-agency meetings (e.g Core Groups, MASE, early help meetings and child protection "
           "conferences);\n"
           "\u2022 Are arranged and held in a timely manner\n"
           "\u2022 Are attended by all relevant partners\n"
           "\u2022 Are recorded and the record is shared in a timely manner with attendees, with actions assigned "
           "accordingly.\n"
           "\u2022 The practitioner reads the record of the meeting, reviews them and takes appropriate action e.g. "
           "making amendments.\n"
           "\u2022 Case recording complies with standards set by the organisation and evidences that the welfare of "
           "the child is considered.",
     "multi-agency meetings were held on time, attended by the relevant partners, and recorded and shared promptly",
     "multi-agency meetings were not held on time, well attended, or recorded and shared promptly", False),
    (5, 2, "The practitioner knows where to find the thresholds guidance",
     "practitioners knew where to find the thresholds guidance",
     "the practitioner did not know where to find the thresholds guidance", False),
    (6, 2, "The practitioner is aware of how to make appropriate referrals to all relevant agencies, including "
           "safeguarding referrals and out of hours services.",
     "practitioners were aware of how to make appropriate referrals to relevant agencies",
     "the practitioner was not aware of how to make appropriate referrals", False),
    (7, 2, "The practitioner is clear about obtaining consent.",
     "practitioners were clear about obtaining consent", "there was no evidence of consent being obtained", False),
    (8, 2, "Where referrals have been made, feedback has been received.",
     "feedback was received after a referral was made", "no feedback was received after a referral", True),
    (9, 2, "Where feedback has not been received; the practitioner has taken action to pursue this.",
     "practitioners took action to pursue feedback that had not been received",
     "feedback that had not been received was not pursued", True),
    (10, 2, "The practitioner uses the threshold guidance to support high quality, evidence based referrals.",
     "practitioners used the thresholds guidance to support their referrals",
     "the thresholds guidance was not referenced", False),
    (11, 2, "The practitioner is aware of where to go for advice if he/she needs clarification.",
     "practitioners knew where to go for advice", "the practitioner did not know where to go for advice", False),
    (12, 3, "There is evidence to show that the practitioner has considered what life is like for this child.",
     "practitioners had considered what life is like for the child",
     "there was no evidence that the practitioner had considered what life is like for the child", False),
    (13, 3, "There is evidence of the child's wishes and feelings being gathered and considered in an age "
            "appropriate way",
     "the child's wishes and feelings were gathered and considered in an age appropriate way",
     "the voice of the child had not been gathered", False),
    (14, 3, "Diversity and disability issues are appropriately identified, understood, addressed and recorded.",
     "diversity and disability issues were addressed and recorded appropriately",
     "diversity and disability issues were not identified or recorded", False),
    (15, 4, "Interventions are continually assessed and are having a positive impact on the child.",
     "interventions were continually assessed and were having a positive impact on the child",
     "there was no evidence that interventions were assessed", False),
    (16, 4, "Where interventions are not working or deterioration is recognised, action is being taken to address "
            "this.",
     "action was taken when interventions were not working or the child's situation deteriorated",
     "no action was taken when interventions were not working", True),
    (17, 4, "Where relevant, parental non-compliance and/or disguised compliance is recognised and acted upon "
            "appropriately",
     "parental non-compliance or disguised compliance was recognised and acted upon",
     "parental non-compliance or disguised compliance was not acted upon", True),
    (18, 4, "A contingency plan is in place, the practitioners understands when this should be applied.",
     "a contingency plan was in place and understood", "there was no contingency plan in place", False),
    (19, 5, "Child is central to all decision making activity within the supervision process.",
     "the child was central to decision making in supervision", "the child was not central in supervision", False),
    (20, 5, "The frequency of supervision sessions meets LSCB standards (minimum every 3 months), own agency standards "
            "and maybe more frequent commensurate with risk where appropriate",
     "supervision regularly took place and was in line with LSCB guidance",
     "supervision did not take place in line with LSCB guidance", False),
    (21, 5, "Practitioners experience supervision as providing an opportunity to reflect, to receive professional "
            "challenge and to be supported in providing challenge to others.",
     "practitioners experienced supervision as an opportunity to reflect and to give and receive challenge",
     "practitioners wanted more opportunity for reflection within supervision", False),
    (22, 5, "Supervision process evidences management oversight and support that assesses practitioners compliance, "
            "and, professional competence/confidence with regard to adhering to local policies, protocols and "
            "procedures, and promotes timely progression of the case.",
     "the supervision process evidenced management oversight and support",
     "the supervision process did not evidence management oversight and support", False),
]

RATING_SCALE = [("Met or exceeded", "met"), ("Not met", "not met"), ("Not applicable", "not applicable")]

# (code, full name, short name for report sentences)
AGENCIES = [
    ("CCG", "Solihull CCG", "the CCG"),
    ("HEFT", "Heart of England NHS Foundation Trust", "HEFT"),
    ("POLICE", "West Midlands Police", "the Police"),
    ("CSWS", "Children's Social Work Services", "CSWS"),
    ("EDU", "Education Provider Services", "Education"),
    ("SCH", "Solihull Community Housing", "Housing"),
    ("EY", "Early Years", "Early Years"),
    ("VOL", "Voluntary Sector", "the Voluntary Sector"),
    ("SIAS", "Solihull Integrated Addiction Services", "SIAS"),
    ("CRC", "Community Rehabilitation Company", "the CRC"),
    ("SMBC", "Solihull Metropolitan Borough Council", "SMBC"),
]

# --- the 2015-16 example -------------------------------------------------------

CONTACTS = {
    "CCG": ("Morwenna Testwell", "ccg.safeguarding@example.org"),
    "HEFT": ("Idris Sampleford", "heft.safeguarding@example.org"),
    "POLICE": ("Det Insp Rowan Mockley", "police.ppu@example.org"),
    "CSWS": ("Harriet Demoson", "csws.audit@example.org"),
    "EDU": ("Kwame Placeholder", "education.safeguarding@example.org"),
    "SCH": ("Bethan Examplewood", "housing.safeguarding@example.org"),
    "EY": ("Grace Fauxley", "earlyyears@example.org"),
    "VOL": ("Olu Trialby", "voluntary.sector@example.org"),
    "SIAS": ("Niamh Pretendle", "sias.safeguarding@example.org"),
    "CRC": ("Callum Dummett", "crc.safeguarding@example.org"),
    "SMBC": ("Farah Mocksworth", "lscb.business@example.org"),
}

NEGLECT, CSE, EARLY_HELP = "Neglect", "Child Sexual Exploitation (CSE)", "Early Help"

# Invented children with invented surnames (Welsh ffug = fake, Polish wymyślona = made-up,
# Urdu farzi/khayali/naqli = fake/imaginary/counterfeit...): they name no one.
CASES = [
    ("N-01", NEGLECT, "Siân Ffug-Enw", ["CCG", "POLICE", "CSWS", "EDU", "SCH", "SIAS"]),
    ("N-02", NEGLECT, "Zofia Wymyślona", ["HEFT", "POLICE", "CSWS", "SCH", "SIAS"]),
    ("N-03", NEGLECT, "Ayesha Farzi", ["POLICE", "CSWS", "EDU", "CRC"]),
    ("N-04", NEGLECT, "Aoife O'Fictional", ["CCG", "POLICE", "VOL"]),
    ("CSE-01", CSE, "Łucja Nieprawdziwa", ["CCG", "POLICE", "CSWS", "EDU"]),
    ("CSE-02", CSE, "Bilal Khayali", ["POLICE", "CSWS"]),
    ("CSE-03", CSE, "Rhiannon Dychmygol", ["HEFT", "POLICE", "CSWS"]),
    ("CSE-04", CSE, "Maja Zmyślonowska", ["CCG", "POLICE", "CSWS", "EDU"]),
    ("EH-01", EARLY_HELP, "Zainab Naqli", ["HEFT", "POLICE", "CSWS", "SCH"]),
    ("EH-02", EARLY_HELP, "Dafydd Ffugiol", ["CCG", "HEFT", "EDU", "EY"]),
    ("EH-03", EARLY_HELP, "Tomasz Udawańczyk", ["EDU", "VOL"]),
]

# Table 2, mapped to agency codes (Schools -> EDU, SMBC Children's Services -> CSWS).
ATTENDANCE = [("CCG", 2), ("HEFT", 1), ("CRC", 1), ("EY", 1), ("EDU", 1), ("CSWS", 1), ("SMBC", 5), ("SIAS", 2),
              ("SCH", 3), ("VOL", 1), ("POLICE", 4)]

# Table 3, word for word.
GROUP_WORK = [
    (EARLY_HELP,
     ["When up and running will pull services together \u2013 interventions earlier and at a lower level. "
      "Practitioners understand when CYP need additional support.",
      "Help at the point of need and assessment",
      "Practitioners pro-active, liaising well, referring appropriately with a focus on the child, pulling "
      "everything together.",
      "Appears less \u2018threatening\u2019 to families than CSWS involvement",
      "Embedded values and philosophy"],
     ["Thresholds \u2013 what happens when a referral is made?",
      "Engagement journey",
      "Cascading of information as to how early help will look and what they can offer",
      "Development of Early Help website immediately",
      "Ensuring key agency involvement (Early Help Map/MASH previous key agencies not involved)",
      "Clarity of roles",
      "Who is minute taker?"],
     ["Clarity of referral process",
      "Advice re: Thresholds and where to refer to (How do we refer to Early Help?)",
      "Communication so Early Help role is understood",
      "Understanding of what Early Help means, who is involved and terminology used",
      "Sharing of information from agencies \u2013 how this is done to prevent/try and address escalation of concerns",
      "Changes to CAF process",
      "Thrive Model and 9 impact factors"]),
    (NEGLECT,
     ["Graded Care Indicators",
      "For those agencies who recognise \u2018impact\u2019 on child \u2013 child\u2019s voice heard",
      "Practitioners able to make appropriate referrals",
      "Chronology of events recorded by professionals to support neglect cases (not all agencies)",
      "Updated policy and toolkits"],
     ["Multi-agency training around indicators of neglect",
      "Responsiveness to referrals",
      "Some agencies (Police) to look at information in a chronological way rather than focusing on individual "
      "incidents",
      "Practical understanding of neglect",
      "Who is minute taker?"],
     ["Raising awareness of the tools e.g. indicators for graded care",
      "Improve the dialogue between the referrer and the referral team",
      "Raising awareness of Threshold Document to embed",
      "Align with neighbouring models",
      "Thrive model and 9 impact factor"]),
    (CSE,
     ["Commitment people have to addressing CSE",
      "Clearer definition",
      "Lots of practitioner training \u2013 spotlight on CSE \u2013 focus on screening tool",
      "Police CSE team \u2013 CMOG/MASE established",
      "Dedicated CSE workers in Early Help",
      "Heightened awareness",
      "Willingness to engage"],
     ["Evaluation of impact",
      "Parental focus on what to look out for in regards to CSE",
      "Victims/children training to recognise CSE",
      "Who is minute taker?",
      "Levels and thresholds are inconsistent"],
     ["Shared understanding of the screening tools",
      "Work on a fully functioning LSCB website",
      "Promoting positive examples",
      "Parental, Victim, Peer CSE education",
      "Threshold and CSE screening tool need consistency",
      "Thrive model and 9 impact factors"]),
]

LEARNING_OWNER = "LSCB Case Audit Sub-Group"

# Table 1, word for word: (number, learning point, actions being undertaken, next steps from the LSCB, KLOE)
LEARNING_ACTIONS = [
    (1, "Improvements in record keeping and the logistics of child protection core groups and child in need meetings "
        "is needed",
     ["The procedures in place for these meetings are currently being revised to make the process more robust and "
      "consistent.",
      "A template has been developed for use in Child in Need meetings. This is awaiting approval from the Practice "
      "and Procedures Sub-Group.",
      "The LSCB Practice and Procedures Sub-Groups have approved a template for use in Core Groups."],
     [], 1),
    (2, "Timeliness and responsiveness of feedback from referrals to Children's Social Work Services needs improvement",
     ["The MASH is improving the timeliness and responsiveness of feedback from referrals.",
      "Where referrals are sent through the online form, the referral and advice team send a copy of the referral "
      "along with the outcome feedback once MASH has made a decision on this. This can only be sent to a secure "
      "email address.",
      "Where an agency does not have a secure email address, they are asked to contact MASH to discuss how these "
      "documents can be sent securely.",
      "Outcome of referral known within two days of referral being made",
      "MASH aim to have referrals managed with an outcome within 24 hours of it being received."],
     ["Performance reporting to LSCB on MASH."], 2),
    (3, "Continued emphasis on raising awareness of the thresholds guidance and using this in practice is required",
     ["Representatives on the Case Audit Sub-Group are raising awareness of the thresholds guidance to practitioners "
      "in their agencies.",
      "An external audit will be carried out on the understanding and application of thresholds in practice. This "
      "will be completed by February, with a formal report going to the LSCB in March.",
      "The LSCB Communications Strategy to highlight importance of this guidance."],
     ["LSCB representatives to continue to raise the awareness of the threshold guidance to practitioners in their "
      "agency."], 2),
    (4, "The position of agencies in gaining consent around referrals needs to be clarified",
     ["The practice and procedures sub-group has identified further work to update protocols and this will include "
      "looking at the protocols around consent."],
     ["Evaluate how consent is embedded in training and training strategy.",
      "Evaluate training to ensure learning impact on practice."], 2),
    (5, "Further developmental work should be undertaken on consistently drawing out the voice of the child, in "
        "particular, where the child is too young/not engaging or where the practitioner mainly works with adults",
     ["The LSCB has approved a recommendation to work with the Local Authority Engagement Strategy."],
     ["Awareness raising of the importance of observations and young people. This is to be incorporated into "
      "training.",
      "Direct practitioners to guidance that will help them overcome barriers of gaining the voice of the child via "
      "LSCB communications"], 3),
    (6, "Continued awareness raising around interventions and disguised compliance is needed",
     ["Serious Case Review 1 published and learning has been disseminated where this was a key element.",
      "Core element in training packages and this is weighted appropriately."],
     ["Continued communication from the LSCB around this.",
      "Training evaluations and case audit process to evaluate how this is embedded in practice"], 4),
    (7, "Formal supervision needs to be embedded in all agencies, in particular, in agencies where there is no formal "
        "process already in place",
     ["LSCB guidance on supervision in place.",
      "S11 audit and S175/157 are currently underway which will measure supervision within organisations.",
      "The LSCB conference in November emphasised the importance of supervision.",
      "Schools sub-group are reviewing arrangements around formal supervision"],
     ["Promote supervision standards developed in the case audit process and include in training."], 5),
]

# Appendix 3, word for word, one row per bullet.
AGENCY_ACTIONS = [
    ("CCG", "Training to include the thresholds criteria in scenarios"),
    ("CCG", "Awareness raising of the thresholds criteria is taking place"),
    ("HEFT", "Heighten the awareness and cement the use of the thresholds document"),
    ("HEFT", "Consider auditing the feedback process and raise concerns to partner agencies if indicated"),
    ("HEFT", "Challenge practitioners and the raising the voice of the child during CP and managerial supervision. "
             "Promote practitioner confidence around this."),
    ("POLICE", "Engage and understand"),
    ("POLICE", "Predict and prevent"),
    ("POLICE", "Respond and resolved"),
    ("POLICE", "Evaluate and innovate"),
    ("CSWS", "Support CS workers increased learning around CSE (screening tool, levels, direct work)"),
    ("CSWS", "More rigorous approach in assessing and monitoring children at risk of neglect"),
    ("CSWS", "Greater understanding and use of assessment tools in relation to neglect"),
    ("CSWS", "MASE meetings \u2013 minute takers available, timely distribution of minutes, set review meetings"),
    ("CSWS", "Greater consideration of non/disguised compliance and analysing the potential for change in parents"),
    ("CSWS", "Tight transfer between CS teams"),
    ("CSWS", "Undertake supervision that supports more reflective practice and challenge"),
    ("EDU", "Formal task management process needs to be developed in every educational setting which offers formal "
            "professional challenge"),
    ("EDU", "To chase and escalate concerns with appropriate agency if minutes are not sent within specified "
            "timeframe"),
    ("EDU", "Escalate concerns if agencies are not attending meetings"),
    ("SCH", "Briefing to frontline professionals about the threshold guidance"),
    ("SCH", "Reference to be made to threshold guidance in decision making authorisation procedure. Compliance to be "
            "monitored"),
    ("SCH", "Staff training under the revised multi-agency training framework"),
    ("SCH", "Improve accessibility of all safeguarding procedures"),
    ("SCH", "Review supervision and support framework"),
    ("SCH", "Keep engagement of MASH under review"),
    ("EY", "On-going review of safeguarding policy and procedures"),
    ("EY", "Training and development"),
    ("VOL", "Revisit training and policy wording relating to consent"),
    ("VOL", "Mandatory formal supervision when working with children who are subject to CP plan"),
    ("SIAS", "Each branch of SIAS has a safeguarding lead"),
    ("SIAS", "Leads responsible for ensuring training is up to date, provide support to safeguarding cases, facilitate "
             "supervision, look at referrals to children's services, quality assure conference and court reports"),
    ("SIAS", "Internal annual audit re: safeguarding practices, 'think family' and 'right service, right time' "
             "training continues to be delivered across partnership."),
]

MAJORITY_NOTE = ("The 2015-16 figures (e.g. 'in 9 of 11 cases the right agencies were involved') only add up if a "
                 "case counts as meeting a standard when most of the agencies that audited it said so.")

# --- styling ---------------------------------------------------------------------

HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
PRIVATE_FILL = PatternFill("solid", fgColor="9C2A2A")
NOTE_FONT = Font(italic=True, color="595959")
TITLE_FONT = Font(bold=True, size=14, color="1F4E79")
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
CENTRE_TOP = Alignment(horizontal="center", vertical="top")
TAB_SETUP, TAB_CASES, TAB_TOOLKIT, TAB_EVENT = "1F4E79", "9C2A2A", "2E7D32", "B26B00"


def style_sheet(ws, widths: dict[str, float], *, freeze: str = "A2", autofilter: bool = True,
                centred: tuple[str, ...] = (), text_columns: tuple[str, ...] = ()) -> None:
    """Bold frozen headings, widths, wrapped top-aligned cells, filters, landscape printing."""
    for letter, width in widths.items():
        dim = ws.column_dimensions[letter]
        dim.width = width
        dim.alignment = CENTRE_TOP if letter in centred else WRAP_TOP
        if letter in text_columns:
            dim.number_format = "@"
    for cell in ws[1]:
        if cell.value is None:
            continue
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[1].height = 32
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = CENTRE_TOP if cell.column_letter in centred else WRAP_TOP
            if cell.column_letter in text_columns and isinstance(cell.value, str):
                cell.number_format = "@"
    fit_row_heights(ws)
    ws.freeze_panes = freeze
    if autofilter:
        last = get_column_letter(max(ws.max_column, 1))
        ws.auto_filter.ref = f"A1:{last}{max(ws.max_row, 2)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def fit_row_heights(ws, first_row: int = 2) -> None:
    """Set each row's height from its wrapped text: LibreOffice does not grow rows written without one."""
    for row in ws.iter_rows(min_row=first_row):
        most = 1
        for cell in row:
            if cell.value is None:
                continue
            width = ws.column_dimensions[cell.column_letter].width or 10
            per_line = max(int(width * 1.15), 1)
            n = sum(max(1, -(-len(part) // per_line)) for part in str(cell.value).split("\n"))
            most = max(most, n)
        if most > 1:
            ws.row_dimensions[row[0].row].height = 15 * most + 2


def dropdown(ws, formula: str, cells: str, prompt: str, error: str) -> None:
    dv = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False)
    dv.promptTitle, dv.prompt = "Pick from the list", prompt
    dv.errorTitle, dv.error = "Not in the list", error
    dv.showInputMessage = True
    dv.showErrorMessage = True
    dv.errorStyle = "warning"  # Excel warns but lets the officer paste; `case-audit check` has the last word
    ws.add_data_validation(dv)
    dv.add(cells)


# The action tracker's columns (issue 13): Action ID, Status, Progress, Evidence of impact, Round raised.
TRACKER_WIDTHS = {"H": 11, "I": 13, "J": 50, "K": 50, "L": 12}
EXAMPLE_ROUND = "2015-16"
STATUS_LIST = "\"" + ",".join(s.value for s in ActionStatus) + "\""


def status_dropdown(ws, letter: str) -> None:
    dropdown(ws, STATUS_LIST, f"{letter}2:{letter}{LIST_ROWS}",
             "Not started, On track, At risk, Overdue or Complete (Overdue is also worked out from the due date).",
             "Pick Not started, On track, At risk, Overdue or Complete.")


def date_column(ws, letter: str) -> None:
    for cell in ws[letter][1:]:
        cell.number_format = "dd/mm/yyyy"
    ws.column_dimensions[letter].number_format = "dd/mm/yyyy"


def headers(sheet: str) -> list[str]:
    return list(W.HEADERS[sheet].values())


def column_range(col: int) -> str:
    letter = get_column_letter(col)
    return f"{letter}2:{letter}{LIST_ROWS}"


PRIORITY_LIST = f"'{W.PRIORITY_AREAS}'!$A$2:$A${LIST_ROWS}"
AGENCY_LIST = f"{W.AGENCIES}!$A$2:$A${LIST_ROWS}"
KLOE_LIST = f"{W.KLOES}!$A$2:$A$100"
YES_NO = '"Y,N"'

# --- sheets ------------------------------------------------------------------------------


def instructions_sheet(wb: Workbook, example: bool) -> None:
    ws = wb.active
    ws.title = W.INSTRUCTIONS
    ws.sheet_properties.tabColor = TAB_SETUP
    rows: list[tuple[str, str]] = [
        ("Cycle workbook", "Everything about this year's multi-agency case audit that case-audit needs: "
                           "fill it in here, in Excel, then run 'case-audit check'."),
        ("", "This is the shipped 2015-16 example (fictional cases): use it to try the tool, not for a real cycle."
         if example else "Replace every placeholder on the Settings sheet, then add this year's cases."),
        ("", ""),
        ("How to fill it in", ""),
        ("One row each", "Each sheet is a list: one row per item, headings in row 1. Do not rename the sheets or the "
                         "headings; you may widen, colour, sort and filter as you like, and add a 'Notes' column."),
        ("Several items in a cell", "Where a cell holds a list (actions, strengths, next steps), put one item per "
                                    "line: press Alt+Enter for a new line inside the cell. Bullets are optional."),
        ("Y/N columns", "Type Y or N (or pick from the drop-down). Yes/No also work. A blank counts as N."),
        ("Drop-down lists", "Priority area, agency code, KLOE and similar columns offer a drop-down made from the "
                            "other sheets, so add a new priority area or agency on its own sheet first."),
        ("Dates", "Type dates as dd/mm/yyyy."),
        ("Children's names", "The Cases sheet names real children. Keep this workbook inside the audit folder on "
                             "secure storage. Names appear only on the forms sent to agencies involved in the case; "
                             "file names and the board report use the case reference, never a name. A case "
                             "reference must not contain any part of the child's name."),
        ("Check your work", "After every change, save, then run 'case-audit check' in the audit folder. It lists "
                            "every problem with its sheet and cell (e.g. Cases!C7) and what to do, or shows how "
                            "many forms each agency will get."),
        ("", ""),
        ("The sheets", ""),
        (W.SETTINGS, "Board name, cycle reference (short, written into every form, e.g. 2015-16: letters, digits "
                     "and - only), cycle name (printed, e.g. 2015-2016), return deadline, how agencies return "
                     "forms, counting rule, form protection, report title; for a programme of audits, the round's "
                     "name, its theme and the previous round's folder (compared in the report); the moderation "
                     "panel's case grades; how long this round's personal data is kept (Keep personal data until, "
                     "Retention decided by: see 'case-audit close')."),
        ("", "Counting rule: how the agencies' ratings of one case combine. 'all': the case meets a standard only "
             "if every agency that audited it said met. 'majority': if more than half did. 'any': if at least "
             "one did."),
        ("", "Form protection: 'none' (recommended; Word for the web can fill the forms) or 'filling in forms' "
             "(Word's Restrict Editing, so auditors can only type in the answer boxes)."),
        ("", "Case grades: the moderation panel's overall grade per case, best first, separated by ';' (default "
             "Outstanding; Good; Requires improvement; Inadequate). Grades to escalate: which of them 'case-audit "
             "status' lists for escalation. Escalations in report: Y to list them in the board report too. "
             "'case-audit moderate' writes moderation.xlsx for the panel's decisions."),
        (W.PRIORITY_AREAS, "The themes cases were chosen for this year, with a one-line description."),
        (W.AGENCIES, "One row per agency taking part: a short code (letters and digits, used in folder and file "
                     "names, e.g. POLICE), full name, short name as used in report sentences (e.g. 'the Police'), "
                     "the audit contact and their secure email."),
        (W.CASES, "One row per case: case reference (e.g. N-01), priority area, the child's name or initials "
                  "(private), then Y under every agency involved in the case. Each agency column is headed with "
                  "an agency code from the Agencies sheet: add a column when you add an agency. Every case needs "
                  "at least one agency."),
        (W.KLOES, "The key lines of enquiry: number, the question as printed on the forms, and a short title used "
                  "as a heading in the report's Appendix 2. 'In this round': No leaves a KLOE (and its standards) "
                  "out of a themed round's forms and report."),
        (W.STANDARDS, "The standards auditors rate, numbered across all KLOEs. 'Finding when met' completes the "
                      "report sentence 'In 82% of cases (9 of 11), ...'; 'Finding when not met' completes 'In 7 of "
                      "the 9 cases audited by the Police, ...'. 'N/A allowed' is Y for standards that may not "
                      "apply to a case (e.g. 'Where referrals have been made...'). Changing a standard's wording "
                      "after forms are issued means forms must be reissued; a reworded standard is not compared "
                      "with earlier rounds. 'In this round': No leaves the standard out of this round."),
        (W.RATING_SCALE, "The choices auditors pick from for each standard, and what each counts as: met, not met "
                         "or not applicable. At least one must count as met and one as not met."),
        (W.ATTENDANCE, "After the learning event: practitioners attending from each agency."),
        (W.GROUP_WORK, "After the learning event: per priority area, strengths, areas for development and next "
                       "steps (one per line)."),
        (W.LEARNING_ACTIONS, "The learning points (Table 1 of the report and the learning log): what action is "
                             "being undertaken and the board's next steps, one per line; optionally the KLOE it "
                             "relates to, an owner and a due date."),
        (W.AGENCY_ACTIONS, "Each agency's own improvement actions (Appendix 3), one row per action; update "
                           "Progress and Completed through the year."),
        ("Tracking actions", "Both action sheets have an Action ID (keep it once progress forms are sent: a blank "
                             "one is L<number> or <AGENCY>-<n>, counted down the sheet), an owner, a due date, a "
                             "Status (Not started, On track, At risk, Overdue, Complete; an action past its due date "
                             "and not Complete counts as Overdue), Progress, Evidence of impact (needed for "
                             "Complete) and the round that raised it. 'case-audit generate-forms --actions' sends "
                             "each agency a progress form for its open actions."),
    ]
    for r, (a, b) in enumerate(rows, start=1):
        ws.cell(r, 1, a or None)
        ws.cell(r, 2, b or None)
        ws.cell(r, 1).alignment = WRAP_TOP
        ws.cell(r, 2).alignment = WRAP_TOP
        if a in ("How to fill it in", "The sheets", "Cycle workbook"):
            ws.cell(r, 1).font = TITLE_FONT
        elif a:
            ws.cell(r, 1).font = Font(bold=True)
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 110
    fit_row_heights(ws, first_row=1)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


DEMO_REPORT_TITLE = "Multi-Agency Case Audit: Overview Report (demonstration, simulated returns)"


def cycle_start_year(today: date) -> int:
    """The year the current cycle began: UK public-sector years run April to March."""
    return today.year if today.month >= 4 else today.year - 1


ROUND_SETTINGS = {
    "round_name": (None, "Optional: this round of the audit programme, e.g. '2016-17 neglect round'."),
    "theme": (None, "Optional: a themed round's theme, e.g. Neglect."),
    "previous_round": (None, "Optional: the previous round's audit folder, relative to this one (e.g. "
                             "../audit-2015-16): build-report compares the two. 'case-audit init --from' fills it."),
}
IN_ROUND = '"Yes,No"'
# Moderation (issue 14): the panel's grade per case, which grades are escalated, and whether the report lists them.
GRADE_SETTINGS = {
    "case_grades": ("; ".join(DEFAULT_CASE_GRADES), "The moderation panel's overall grade per case, best first, "
                                                    "separated by ';'. Edit to use your own scale."),
    "escalate_grades": ("; ".join(DEFAULT_ESCALATE_GRADES), "Cases given these grades are listed for escalation "
                                                             "by 'case-audit status'. Separate grades by ';'."),
    "escalations_in_report": ("N", "Y: the board report also lists the cases escalated. N: only 'case-audit "
                                   "status' lists them."),
}
RETENTION_SETTINGS = {
    "keep_personal_data_until": (None, "Retention: the date after which 'case-audit close' may remove this round's "
                                       "personal data (dd/mm/yyyy). Blank: not decided yet."),
    "retention_decided_by": (None, "Who decided the retention date and where it is recorded, e.g. the board "
                                   "minute."),
}


def settings_sheet(wb: Workbook, example: bool, today: date | None = None) -> None:
    ws = wb.create_sheet(W.SETTINGS)
    ws.sheet_properties.tabColor = TAB_SETUP
    ws.append(headers(W.SETTINGS))
    S = W.SETTING_NAMES
    if example:
        values = {
            "board_name": ("Solihull Local Safeguarding Children Board", "As printed on forms and the report."),
            "cycle_id": ("2015-16", "Short and stable: written into every form. Do not change once forms are issued."),
            "cycle_name": ("2015-2016", "As printed on forms and the report."),
            "return_deadline": (date(2015, 11, 27), "The date agencies must return their forms by."),
            "return_instructions": ("Email the completed forms, unrenamed, to lscb.business@example.org from your "
                                    "secure email account.", "Printed on every form."),
            "counting_rule": ("majority", MAJORITY_NOTE),
            "form_protection": ("none", "none: forms can be filled in Word for the web. "
                                        "filling in forms: Word's Restrict Editing."),
            "report_title": (DEMO_REPORT_TITLE, "Says on every page of the report that it is the demonstration, "
                                                "made from simulated returns."),
            **ROUND_SETTINGS,
            **GRADE_SETTINGS,
            **RETENTION_SETTINGS,
        }
    else:
        y = cycle_start_year(today or date.today())
        values = {
            "board_name": (W.PLACEHOLDERS["board_name"], "Replace with your board's name."),
            "cycle_id": (f"{y}-{(y + 1) % 100:02d}", "Short and stable: written into every form. Letters, digits "
                                                     "and - only. Do not change once forms are issued."),
            "cycle_name": (f"{y}-{y + 1}", "As printed on forms and the report."),
            "return_deadline": (None, "The date agencies must return their forms by (dd/mm/yyyy). Optional."),
            "return_instructions": (W.PLACEHOLDERS["return_instructions"],
                                    "Printed on every form: replace the part in brackets."),
            "counting_rule": ("all", "How the agencies' ratings of one case combine: all, majority or any "
                                     "(see Instructions)."),
            "form_protection": ("none", "none: forms can be filled in Word for the web. "
                                        "filling in forms: Word's Restrict Editing."),
            "report_title": ("Multi-Agency Case Audit: Overview Report", ""),
            **ROUND_SETTINGS,
            **GRADE_SETTINGS,
            **RETENTION_SETTINGS,
        }
    for key, name in S.items():
        value, note = values[key]
        ws.append([name, value, note or None])
    style_sheet(ws, {"A": 24, "B": 60, "C": 80}, autofilter=False, text_columns=("B",))
    for row in ws.iter_rows(min_row=2):
        row[0].font = Font(bold=True)
        row[2].font = NOTE_FONT
    keys = list(S)
    deadline = ws.cell(2 + keys.index("return_deadline"), 2)
    deadline.number_format = "dd/mm/yyyy"
    ws.cell(2 + keys.index("keep_personal_data_until"), 2).number_format = "dd/mm/yyyy"
    cycle_ref = ws.cell(2 + keys.index("cycle_id"), 2)
    cycle_ref.number_format = "@"
    rule_cell = ws.cell(2 + keys.index("counting_rule"), 2).coordinate
    prot_cell = ws.cell(2 + keys.index("form_protection"), 2).coordinate
    dropdown(ws, '"all,majority,any"', rule_cell, "all, majority or any", "Pick all, majority or any.")
    dropdown(ws, '"none,filling in forms"', prot_cell, "none or filling in forms",
             "Pick none or filling in forms.")
    escalations_cell = ws.cell(2 + keys.index("escalations_in_report"), 2).coordinate
    dropdown(ws, '"Y,N"', escalations_cell, "Y or N", "Pick Y or N.")


def list_sheet(wb: Workbook, name: str, rows: list[list], widths: dict[str, float], tab: str, **kw):
    ws = wb.create_sheet(name)
    ws.sheet_properties.tabColor = tab
    ws.append(headers(name))
    for row in rows:
        ws.append(row)
    style_sheet(ws, widths, **kw)
    return ws


def lines(items: list[str]) -> str | None:
    return "\n".join("\u2022 " + item for item in items) if items else None


def build(example: bool, today: date | None = None) -> Workbook:
    """The example, or the blank workbook for the cycle running on `today` (default: the build date)."""
    wb = Workbook()
    instructions_sheet(wb, example)
    settings_sheet(wb, example, today)

    list_sheet(wb, W.PRIORITY_AREAS, [list(p) for p in PRIORITY_AREAS], {"A": 34, "B": 70}, TAB_SETUP)

    agency_rows = []
    for code, name, short in AGENCIES:
        contact, email = CONTACTS[code] if example else (None, None)
        agency_rows.append([code, name, short, contact, email])
    list_sheet(wb, W.AGENCIES, agency_rows, {"A": 12, "B": 42, "C": 24, "D": 28, "E": 38}, TAB_SETUP,
               text_columns=("A",))

    # Cases: fixed columns, then one Y/N column per agency code.
    codes = [a[0] for a in AGENCIES]
    ws = wb.create_sheet(W.CASES)
    ws.sheet_properties.tabColor = TAB_CASES
    ws.append(headers(W.CASES) + codes)
    if example:
        for ref, area, child, involved in CASES:
            ws.append([ref, area, child] + ["Y" if c in involved else "N" for c in codes])
    agency_letters = [get_column_letter(4 + i) for i in range(len(codes))]
    style_sheet(ws, {"A": 12, "B": 32, "C": 30, **{L: 9 for L in agency_letters}}, freeze="D2",
                centred=tuple(agency_letters), text_columns=("A",))
    ws["C1"].fill = PRIVATE_FILL
    ws["C1"].comment = None
    dropdown(ws, PRIORITY_LIST, "B2:B%d" % LIST_ROWS, "A priority area from the Priority areas sheet.",
             "Use a priority area listed on the Priority areas sheet.")
    dropdown(ws, YES_NO, f"D2:{agency_letters[-1]}{LIST_ROWS}", "Y if this agency was involved in the case.",
             "Type Y or N.")

    ws = list_sheet(wb, W.KLOES, [list(k) + ["Yes"] for k in KLOES], {"A": 10, "B": 90, "C": 44, "D": 11},
                    TAB_TOOLKIT, centred=("A", "D"))
    dropdown(ws, IN_ROUND, f"D2:D{LIST_ROWS}", "Yes if this round asks about this KLOE (a themed round may use "
             "some KLOEs only).", "Pick Yes or No.")

    ws = list_sheet(wb, W.STANDARDS,
                    [[n, k, text, met, not_met, "Y" if na else "N", "Yes"]
                     for n, k, text, met, not_met, na in STANDARDS],
                    {"A": 10, "B": 8, "C": 70, "D": 44, "E": 44, "F": 11, "G": 11}, TAB_TOOLKIT,
                    centred=("A", "B", "F", "G"))
    dropdown(ws, KLOE_LIST, f"B2:B{LIST_ROWS}", "A KLOE number from the KLOEs sheet.",
             "Use a KLOE number listed on the KLOEs sheet.")
    dropdown(ws, YES_NO, f"F2:F{LIST_ROWS}", "Y if auditors may answer 'not applicable'.", "Type Y or N.")
    dropdown(ws, IN_ROUND, f"G2:G{LIST_ROWS}", "Yes if this round asks about this standard (a themed round may "
             "use some standards only).", "Pick Yes or No.")

    ws = list_sheet(wb, W.RATING_SCALE, [list(r) for r in RATING_SCALE], {"A": 30, "B": 20}, TAB_TOOLKIT)
    dropdown(ws, '"met,not met,not applicable"', f"B2:B{LIST_ROWS}", "met, not met or not applicable",
             "Pick met, not met or not applicable.")

    ws = list_sheet(wb, W.ATTENDANCE, [list(a) for a in ATTENDANCE] if example else [], {"A": 14, "B": 24},
                    TAB_EVENT, centred=("B",))
    dropdown(ws, AGENCY_LIST, f"A2:A{LIST_ROWS}", "An agency code from the Agencies sheet.",
             "Use an agency code listed on the Agencies sheet.")

    ws = list_sheet(wb, W.GROUP_WORK,
                    [[area, lines(s), lines(d), lines(n)] for area, s, d, n in GROUP_WORK] if example else [],
                    {"A": 30, "B": 55, "C": 55, "D": 55}, TAB_EVENT)
    dropdown(ws, PRIORITY_LIST, f"A2:A{LIST_ROWS}", "A priority area from the Priority areas sheet.",
             "Use a priority area listed on the Priority areas sheet.")

    ws = list_sheet(wb, W.LEARNING_ACTIONS,
                    [[n, point, lines(acts), lines(nexts), kloe, LEARNING_OWNER, None, f"L{n}", None, None, None,
                      EXAMPLE_ROUND] for n, point, acts, nexts, kloe in LEARNING_ACTIONS] if example else [],
                    {"A": 6, "B": 42, "C": 60, "D": 48, "E": 10, "F": 24, "G": 13, **TRACKER_WIDTHS}, TAB_EVENT,
                    centred=("A", "E", "H"), text_columns=("H", "L"))
    date_column(ws, "G")
    dropdown(ws, KLOE_LIST, f"E2:E{LIST_ROWS}", "Optional: the KLOE this learning point relates to.",
             "Use a KLOE number listed on the KLOEs sheet.")
    status_dropdown(ws, "I")

    agency_rows, per_agency = [], {}
    for code, action in AGENCY_ACTIONS:
        per_agency[code] = per_agency.get(code, 0) + 1
        agency_rows.append([code, action, None, "N", f"{code}-{per_agency[code]}", None, None, None, None,
                            EXAMPLE_ROUND])
    ws = list_sheet(wb, W.AGENCY_ACTIONS, agency_rows if example else [],
                    {"A": 12, "B": 80, "C": 50, "D": 12, "E": 11, "F": 16, "G": 13, "H": 13, "I": 50, "J": 12},
                    TAB_EVENT, centred=("D", "E"), text_columns=("E", "J"))
    dropdown(ws, AGENCY_LIST, f"A2:A{LIST_ROWS}", "An agency code from the Agencies sheet.",
             "Use an agency code listed on the Agencies sheet.")
    dropdown(ws, YES_NO, f"D2:D{LIST_ROWS}", "Y once the action is completed.", "Type Y or N.")
    date_column(ws, "G")
    status_dropdown(ws, "H")

    assert [s.title for s in wb.worksheets] == list(W.SHEET_ORDER)
    wb.active = 0
    props = wb.properties
    props.creator = props.lastModifiedBy = "case-audit"
    props.title = "Case audit cycle workbook" + (" (2015-16 example)" if example else "")
    props.created = props.modified = FIXED_TIME
    return wb


def reproducible(data: bytes) -> bytes:
    """Same input, same bytes: fixed zip timestamps and document dates."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                              lambda m: m.group(1) + stamp.encode() + m.group(2), body)
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, body)
    return out.getvalue()


def workbook_bytes(example: bool) -> bytes:
    buf = io.BytesIO()
    build(example).save(buf)
    return reproducible(buf.getvalue())


def main(argv: list[str]) -> None:
    out_dir = Path(argv[0]) if argv else OUT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, example in (("cycle.xlsx", False), ("example-cycle.xlsx", True)):
        target = out_dir / name
        target.write_bytes(workbook_bytes(example))
        print(f"wrote {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
