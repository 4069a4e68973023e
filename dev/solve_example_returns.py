"""Make the demo's SIMULATED agency returns: templates/demo/example-returns.json.

Nothing here is real audit data. The answers are invented so that the demo's
report, counted under the example cycle's majority rule, quotes the same figures
as the real 2015-16 Solihull overview report (9 of 11 cases with the right
agencies involved, the Police without consent evidence in 7 of the 9 cases they
audited, and so on). Evidence and reasons are written in the style of that
report's Appendix 2 and never name a child; the summary forms' improvements and
partnership text is the report's Appendix 2, word for word.

How the answers are made: the seed's figures are kept as data (targets per
standard, and what the report says about individual agencies); a small search
places each agency's "not met" answers on the cases the shipped example workbook
says it was involved in, so that every target holds at once. The file written is
then loaded the way the demo loads it and counted by `pipeline.findings`; it is
only kept if it says what the seed says.

A developer runs this after changing the example workbook's cases, the toolkit
or the words below (`python dev/solve_example_returns.py [OUT_DIR]`); the
product never runs it. Output is byte-for-byte reproducible, one answer a line,
so re-running without changes leaves git clean and a change reads as a diff.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import example_returns  # noqa: E402
from pipeline.models import CountingRule, Cycle, RatingKind, normalise_label  # noqa: E402
from pipeline.workbook import load_cycle  # noqa: E402

EXAMPLE_WORKBOOK = ROOT / "templates" / "excel" / "example-cycle.xlsx"
OUT_DIR = ROOT / "templates" / example_returns.DATA_FILE[0]
ABOUT = ("SIMULATED agency returns for the case-audit demo on the shipped 2015-16 example cycle. Not real audit "
         "data: the answers are invented so that the demo's report quotes the 2015-16 overview report's figures. "
         "Made by dev/solve_example_returns.py; do not edit by hand, re-run it.")

# --- the seed's figures ------------------------------------------------------------

EXPECTED_INVOLVEMENT = {"POLICE": 9, "CSWS": 8, "CCG": 5, "SCH": 3, "SIAS": 2, "EY": 1,
                        "HEFT": 4, "EDU": 6, "VOL": 2, "CRC": 1, "SMBC": 0}
EXPECTED_CASES = 11

# Cases meeting each standard (of 11) that the seed quotes, under the majority rule.
SEED_CASES_MET = {1: 9, 2: 7, 3: 11, 5: 8, 6: 11, 8: 8, 9: 9, 10: 8, 11: 11, 14: 9,
                  15: 6, 18: 6, 19: 8, 20: 8, 22: 9}

# What the seed says of individual agencies: (agency, standard) -> cases not met.
SEED_AGENCY_NOT_MET = {
    ("POLICE", 7): 7, ("POLICE", 13): 8, ("POLICE", 15): 8, ("POLICE", 19): 4,
    ("CCG", 2): 4, ("CCG", 10): 4,
    ("SCH", 4): 2, ("SCH", 5): 3,
    ("CSWS", 21): 3,
    ("HEFT", 20): 2,
    ("EDU", 13): 1,
}
# Early Years (Appendix 2): "S1, 2, 4, 8, 15, 17 not met", the other 16 met.
EARLY_YEARS_NOT_MET = {1, 2, 4, 8, 15, 17}
# SIAS (Appendix 2): met in both cases / in one case; the rest in neither.
SIAS_MET_BOTH = {1, 3, 5, 6, 7, 9, 10, 11, 16, 17, 19, 20, 21}
SIAS_MET_ONE = {2, 4, 12, 15, 18, 22}
# Voluntary Sector (Appendix 2): "All standards except two were fully met" - consent and supervision.
VOLUNTARY_NOT_MET = {7: 1, 20: 1}

# Not quoted with a count, but the seed's narrative says so ("logistics of multi-agency meetings were
# challenging ... in three separate cases, they did not receive the relevant records"); kept where possible.
SOFT_CASES_MET = {4: 8}

# Flavour from the seed's narrative and Appendix 2: followed where the case mix allows,
# dropped for a standard (never the seed's figures above) where it does not.
SOFT_AGENCY_NOT_MET = {
    ("POLICE", 3): 0, ("POLICE", 20): 0, ("POLICE", 22): 0,
    ("CSWS", 1): 0, ("CSWS", 5): 0, ("CSWS", 8): 0, ("CSWS", 10): 0, ("CSWS", 12): 0, ("CSWS", 13): 0,
    ("CSWS", 14): 0, ("CSWS", 19): 0, ("CSWS", 20): 0, ("CSWS", 22): 0,
    ("CCG", 3): 0, ("CCG", 5): 2, ("CCG", 9): 0, ("CCG", 12): 0, ("CCG", 13): 0,
    ("SCH", 7): 0, ("SCH", 8): 1, ("SCH", 9): 1, ("SCH", 10): 3, ("SCH", 13): 1,
    ("HEFT", 1): 0, ("HEFT", 4): 0, ("HEFT", 5): 0, ("HEFT", 7): 0, ("HEFT", 8): 1, ("HEFT", 10): 1,
    ("HEFT", 13): 1, ("HEFT", 14): 0, ("HEFT", 15): 0,
    ("EDU", 3): 0, ("EDU", 5): 0, ("EDU", 6): 0, ("EDU", 8): 1, ("EDU", 9): 0, ("EDU", 10): 0,
    ("EDU", 12): 0, ("EDU", 14): 0, ("EDU", 20): 2,
}

# 'Not applicable', used sparingly and only where the toolkit allows it: (agency, standard) -> how many cases.
NOT_APPLICABLE = {("CRC", 8): 1, ("HEFT", 8): 1, ("CRC", 9): 1, ("EDU", 9): 1, ("HEFT", 16): 1,
                  ("SCH", 17): 1, ("EDU", 17): 1}

# The seed's neglect case: CSWS found the potential for change unidentified and non-compliance
# not acted on; Education and SIAS said interventions were not assessed in the same case.
STORY_AGENCIES = ("CSWS", "EDU", "SIAS")
STORY_NOT_MET = {15: ("CSWS", "EDU", "SIAS"), 16: ("CSWS",), 17: ("CSWS",)}

# Who, in the seed's telling, tends to fall short when a case needs one more "not met".
FILLER_ORDER = ("EDU", "HEFT", "SCH", "CCG", "CSWS", "POLICE", "CRC")

# --- words -------------------------------------------------------------------------

EVIDENCE = {
    1: ["Core group membership reflected the family's needs; health, school and social care all attended.",
        "Strategy discussion included police, health and children's social care from the outset.",
        "All agencies working with the family were identified and invited to the child in need meeting.",
        "The early help assessment identified the agencies already involved and brought them together.",
        "Agency involvement was checked against the chronology and all relevant services were engaged."],
    2: ["Partners shared relevant information at each core group and contributed to the plan.",
        "The substance misuse worker attended and shared updates on the parent's engagement.",
        "School and health reports were shared ahead of the review meeting.",
        "Information was shared promptly between agencies and recorded on file.",
        "Each agency sent a written report to the conference and attended the core group."],
    3: ["Information was shared under the LSCB information sharing protocol and the rationale recorded.",
        "The practitioner shared information with the MASH appropriately and proportionately.",
        "Records show information shared securely with the agencies that needed it.",
        "Information sharing protocols were followed and understood.",
        "Information was shared on a need to know basis and recorded on the file."],
    4: ["Core groups were held within timescales and minutes were circulated with actions assigned.",
        "Child in need meetings were held every six weeks and were well attended.",
        "Meetings were arranged promptly and the record was shared within ten working days.",
        "The practitioner read the minutes, checked the actions and requested an amendment.",
        "The review was held on time and the record was shared with all attendees within a week."],
    5: ["The practitioner keeps a printed copy of the thresholds guidance in the office.",
        "The practitioner showed where the thresholds guidance is on the LSCB website.",
        "The thresholds guidance is on the team drive and the practitioner knew where to find it.",
        "The practitioner accessed the thresholds guidance online during supervision."],
    6: ["The practitioner knew how to make a safeguarding referral through the MASH, including out of hours.",
        "The referral was made promptly through the online form and followed up by telephone.",
        "The practitioner described the referral route and the emergency duty team contact clearly.",
        "The practitioner knew the MASH number and the out of hours service and used them appropriately."],
    7: ["Consent was discussed with the parent and recorded before the referral was made.",
        "The practitioner was clear when information could be shared without consent and recorded why.",
        "Consent was obtained and recorded on the referral form.",
        "Consent was sought from the parent and the discussion was recorded on the file."],
    8: ["Feedback on the referral was received from the MASH within two working days.",
        "The outcome of the referral was received by secure email.",
        "The referral outcome was confirmed at the strategy discussion.",
        "The referrer was told the outcome of the referral by the social worker the next day."],
    9: ["The practitioner chased the outcome of the referral by telephone and recorded the response.",
        "When feedback was delayed the practitioner contacted the MASH and told their manager.",
        "The designated lead followed up the referral and recorded the outcome.",
        "The practitioner followed up the referral by email when no outcome arrived and recorded the reply."],
    10: ["The referral referenced the thresholds guidance and the level of need.",
         "The thresholds guidance was used to decide on early help rather than a social care referral.",
         "The referral set out the evidence against the relevant threshold level.",
         "The thresholds guidance was discussed with the designated lead before referring."],
    11: ["The practitioner knew to seek advice from the designated safeguarding lead and the MASH.",
         "The practitioner sought advice from the named nurse before referring.",
         "Advice was sought from the referral and advice team when the practitioner was unsure.",
         "The practitioner rang the MASH consultation line for advice before deciding to refer."],
    12: ["Records describe the daily routine and home conditions in detail.",
         "The practitioner considered the impact of parental substance misuse on day to day life.",
         "Home visit notes describe what life is like for the child.",
         "The assessment describes the child's day and the impact of the home environment."],
    13: ["The child's wishes and feelings are recorded in their own words.",
         "Direct work with the young person was recorded and informed the plan.",
         "Observations of the child were recorded in an age appropriate way.",
         "The child's views were gathered at school and shared at the core group."],
    14: ["Disability needs were identified and the way of communicating was adapted.",
         "Ethnicity, language and religion are recorded and considered in the plan.",
         "Additional needs were identified and addressed with the school.",
         "Cultural and religious needs were identified and considered in the plan."],
    15: ["Progress against the plan was reviewed at each core group and risk has reduced.",
         "The intervention was reviewed after six weeks and school attendance has improved.",
         "Regular review of the plan shows positive change for the child.",
         "Progress was measured against the plan at each review and risks reduced."],
    16: ["When the plan was not working the case was escalated to a child protection conference.",
         "Deterioration was recognised and the plan was reviewed promptly.",
         "Concerns about lack of progress led to a change of intervention.",
         "When the situation deteriorated a strategy discussion was held the same day."],
    17: ["Disguised compliance was recognised and challenged at the core group.",
         "Missed appointments were recognised and escalated to the lead professional.",
         "Parental non-compliance was recorded and acted on through the plan.",
         "Disguised compliance was identified in supervision and raised with partners."],
    18: ["The child protection plan sets out a contingency plan which the practitioner understood.",
         "The contingency plan was recorded and the practitioner knew when it would apply.",
         "A contingency plan was agreed at the review and shared with the family.",
         "The contingency plan is clear and was discussed with the family at the core group."],
    19: ["Supervision records focus on the child's experience and progress.",
         "Supervision notes show decisions made with the child's needs at the centre.",
         "The child's views were discussed in supervision and shaped the next steps.",
         "Supervision discussed the child's lived experience before agreeing actions."],
    20: ["Supervision took place monthly, meeting LSCB and agency standards.",
         "Supervision was held every six weeks in line with agency policy.",
         "Supervision was more frequent while risk was high.",
         "Supervision records show sessions at least every three months."],
    21: ["The practitioner described supervision as reflective and supportive of challenge.",
         "Supervision offered professional challenge and support to challenge others.",
         "The practitioner valued time in supervision to reflect on the family's progress.",
         "Supervision gave space to reflect on the case and to plan challenge to partners."],
    22: ["Management oversight is recorded and actions progressed the case in good time.",
         "The manager reviewed the case and checked compliance with procedures.",
         "Supervision records show management oversight and timely progression of the case.",
         "The manager's oversight is recorded at each key decision on the case."],
}

REASONS = {
    1: ["Not every agency working with the family was identified at the strategy discussion.",
        "Adult mental health services working with the mother were not included in planning.",
        "The practitioner was not informed of the multi-agency meetings."],
    2: ["Minutes of the core group were not received, so actions were not known.",
        "Key partners did not attend and no reports were sent.",
        "Information held by one agency was not shared with the others."],
    3: ["Information was shared without recording the basis for sharing."],
    4: ["Minutes from the core group were not circulated, so actions were unclear.",
        "The strategy discussion was not held in a timely manner.",
        "The child in need meeting was cancelled twice and not rearranged promptly."],
    5: ["The practitioner did not know where to find the thresholds guidance."],
    6: ["The practitioner was unsure of the out of hours referral route."],
    7: ["It was unclear whether consent had been sought before the referral."],
    8: ["No feedback was received after the referral to children's social care.",
        "Feedback from the referral was not received in a timely manner.",
        "The outcome of the referral was not shared with the referrer."],
    9: ["No action was taken to obtain feedback when none was received.",
        "Action to obtain feedback was not consistently carried out."],
    10: ["The thresholds guidance was not referenced when deciding to refer.",
         "The referral did not draw on the thresholds guidance."],
    11: ["The practitioner was unsure where to seek advice."],
    12: ["Records are adult focused and do not describe what life is like for the child.",
         "Case notes focus on the parent's needs; the child's experience is not described."],
    13: ["The child's wishes and feelings were not recorded.",
         "The practitioner had minimal contact with the child and did not gather their views."],
    14: ["Diversity and disability issues were not recorded.",
         "Notes do not record ethnicity or any additional needs."],
    15: ["There was no evidence that the impact of the intervention on the child was assessed.",
         "Interventions were not reviewed because meetings did not take place between agencies.",
         "Risks were not reducing and the plan was not reviewed."],
    16: ["When interventions were not working the only action taken was advice."],
    17: ["Parental non-compliance was not acted upon and the case drifted for too long."],
    18: ["No contingency plan was in place.",
         "Core groups were irregular and there was no contingency plan.",
         "The plan did not say what would happen if things did not improve."],
    19: ["Supervision discussion focused on process; the child was not central to decisions."],
    20: ["Supervision did not take place during the period audited."],
    21: ["Limited opportunity for reflection within supervision."],
    22: ["No evidence of challenge in the supervision record.",
         "Suggestions made by the supervisor were not documented."],
}

AGENCY_REASONS = {
    ("POLICE", 7): ["No evidence was recorded of consent being obtained before the referral.",
                    "There is confusion about the procedure for obtaining consent; it is not captured in police records.",
                    "The officer was unclear whether consent was needed before referring."],
    ("POLICE", 13): ["There is uncertainty about how to document the voice of the child.",
                     "The child was spoken to but their views were not recorded in police records.",
                     "Records focus on the incident; the child's wishes and feelings are not recorded."],
    ("POLICE", 15): ["There was an assumption that other agencies' interventions were in place and working.",
                     "No evidence that interventions were assessed or that action was taken when they were not working.",
                     "Risks were not reducing and this was not picked up in police records."],
    ("POLICE", 19): ["The child was not central to decision making in supervision.",
                     "The supervision record does not show how the child's voice informed decisions."],
    ("POLICE", 2): ["Meeting attendance was not always clear and there were issues around who should be invited."],
    ("CCG", 2): ["The GP practice did not play a part in the multi-agency planning.",
                 "The GP was not aware of the CSE concern and did not receive the minutes.",
                 "No request for a GP report was received before the conference."],
    ("CCG", 5): ["There was a lack of awareness of the thresholds guidance at the GP practice."],
    ("CCG", 10): ["The thresholds guidance was not referenced in the GP's referral.",
                  "The GP practice was not familiar with the thresholds guidance and did not use it."],
    ("SCH", 4): ["Housing were not invited to the multi-agency meetings held about the family.",
                 "The housing officer was not told of the core group and did not attend."],
    ("SCH", 5): ["The housing officer did not know where to find the thresholds guidance.",
                 "The practitioner was not aware of the thresholds guidance.",
                 "Thresholds guidance was not known to the practitioner."],
    ("SCH", 8): ["Feedback was not received from the referral."],
    ("SCH", 9): ["Action to obtain feedback was not carried out."],
    ("SCH", 10): ["As the guidance was not known, it was not used to inform the referral.",
                  "The referral was made without reference to the thresholds guidance.",
                  "Thresholds guidance is not used to inform housing referrals."],
    ("SCH", 13): ["Gathering the child's wishes and feelings is outside the housing officer's role."],
    ("CSWS", 21): ["The practitioner wanted more opportunity for reflection within supervision.",
                   "Supervision focused on tasks, with little time for reflection or challenge.",
                   "Limited opportunity for reflection within supervision."],
    ("CSWS", 4): ["The strategy discussion was not held in a timely manner."],
    ("CSWS", 2): ["Information was not shared between the internal teams on transfer."],
    ("HEFT", 8): ["Feedback from the referral to children's social care was not timely."],
    ("HEFT", 10): ["Thresholds guidance is known but not embedded; it was not referenced in the referral."],
    ("HEFT", 13): ["The child was too young to give their views and no observations were recorded."],
    ("HEFT", 20): ["Supervision did not take place owing to long term sick leave.",
                   "Supervision did not take place during a period of staffing changes."],
    ("EDU", 8): ["Feedback is not always received; the referral form cannot be printed or saved."],
    ("EDU", 13): ["The child did not engage with school staff, so their voice is not reflected in the file."],
    ("EDU", 20): ["There is no formal supervision process in the school; task management varies.",
                  "Supervision was not held; the school relies on informal discussion with the designated lead."],
    ("VOL", 7): ["There was a lack of clarity over the practitioner's role in obtaining consent."],
    ("VOL", 20): ["The worker did not have frequent, formal supervision."],
    ("EY", 1): ["Early Years were involved with the child but were not identified as a relevant agency."],
    ("EY", 2): ["Early Years had no involvement in planning and were not informed of the proceedings."],
    ("EY", 4): ["Early Years were not invited to the meetings held about the child."],
    ("EY", 8): ["No feedback was received from the referral made by the setting."],
    ("EY", 15): ["Early Years were not told whether the interventions were working."],
    ("EY", 17): ["Non-compliance was not shared with Early Years, so it could not be acted on."],
    ("SIAS", 8): ["Feedback was not given in a timely manner after the referral was made."],
    ("SIAS", 13): ["Clinical notes are adult focused and do not reflect the voice of the child."],
    ("SIAS", 14): ["Adult focused clinical notes do not record the child's diversity or disability needs."],
    ("SIAS", 18): ["Core groups were irregular and there was no contingency plan."],
    ("SIAS", 22): ["No evidence of challenge in the supervision record; the supervisor's suggestions were not documented."],
}

# From the "Standards Met" column of the seed's Appendix 2, mixed in with the generic evidence.
AGENCY_EVIDENCE = {
    ("CCG", 3): ["Information is shared effectively; it is stored on the GP record and flagged."],
    ("CCG", 5): ["The GP practice was familiar with the thresholds document."],
    ("CCG", 9): ["The practice followed up the referral when no feedback had been received."],
    ("CCG", 11): ["It is clear where the practice goes for advice regarding referrals."],
    ("CCG", 13): ["There is evidence that the child was listened to at appointments."],
    ("HEFT", 1): ["Appropriate agencies were involved from the start."],
    ("HEFT", 3): ["Information sharing followed protocols."],
    ("HEFT", 7): ["The practitioner gained consent confidently and recorded it."],
    ("HEFT", 14): ["Diversity and disability issues were addressed in the health plan."],
    ("HEFT", 15): ["There is evidence of on-going assessment and evaluation of the intervention."],
    ("POLICE", 3): ["Information was shared and the officer knew the relevant protocols."],
    ("POLICE", 10): ["The thresholds were applied by the Public Protection Unit staff."],
    ("POLICE", 22): ["Supervision is taking place and there is appropriate case management."],
    ("CSWS", 1): ["The right agencies were involved and child in need meetings were well attended."],
    ("CSWS", 2): ["Information was shared with partners in a timely manner."],
    ("CSWS", 6): ["The CSE screening tool was used together with multi-agency colleagues and the CSE team."],
    ("CSWS", 10): ["Understanding of thresholds was used in relation to CSE and neglect."],
    ("CSWS", 12): ["There is evidence of consideration of what life is like for the child."],
    ("CSWS", 13): ["The child was engaged in an age appropriate way and their voice is evident."],
    ("CSWS", 14): ["Additional needs and disability were taken into account in the way of communicating."],
    ("CSWS", 15): ["Progress of the intervention was assessed, with positive impact and reduced risk."],
    ("CSWS", 17): ["Parental non-compliance was recognised and addressed."],
    ("CSWS", 19): ["The child was central to the supervision process."],
    ("CSWS", 22): ["Regular supervision and management oversight supported progression of the case."],
    ("EDU", 3): ["Information sharing protocols were followed and understood."],
    ("EDU", 6): ["The school knows how to make referrals, including out of hours."],
    ("EDU", 10): ["The school used the thresholds guidance to support the referral."],
    ("EDU", 11): ["The designated lead knows where to get advice if clarification is needed."],
    ("EDU", 13): ["The child's wishes and feelings were gathered by the school in an age appropriate way."],
    ("EDU", 15): ["Where the chair was robust there were clear actions and interventions were reviewed."],
    ("SCH", 2): ["Housing was involved, shared information and contributed to the meetings."],
    ("SCH", 3): ["Information sharing protocols were applied."],
    ("SCH", 6): ["The housing officer knew how to make a safeguarding referral, including out of hours."],
    ("SCH", 7): ["The practitioner was clear about getting consent."],
    ("SCH", 12): ["The case worker was mindful of what life is like for the child."],
    ("SCH", 14): ["Diversity and disability issues were identified, recorded and considered."],
    ("SCH", 19): ["The child was central to decisions, both for safeguarding and under housing duties."],
    ("SCH", 20): ["One to one meetings and internal case audits are in place and took place."],
    ("VOL", 2): ["Core group work was cohesive and information was shared."],
    ("VOL", 10): ["Thresholds were understood and followed."],
    ("VOL", 19): ["The child was central to decision making."],
    ("EY", 3): ["Records are comprehensive and shared appropriately."],
    ("EY", 6): ["The practitioner was pro-active and determined in making the referral."],
    ("EY", 12): ["The child is kept at the centre of the setting's records."],
}

STORY_REASONS = {
    ("CSWS", 15): "The potential for change in the parents was not identified.",
    ("CSWS", 16): "When interventions were not working the only action taken was advice to the parents.",
    ("CSWS", 17): "Parental non-compliance and disguised compliance were not acted upon; the case drifted for too long.",
    ("EDU", 15): "Interventions were not continually assessed because meetings did not take place between agencies.",
    ("SIAS", 15): "Interventions were not continually assessed because core groups did not take place.",
}

NOT_APPLICABLE_REASONS = {
    8: ["No referral was made by this agency during the period audited, so no feedback was due.",
        "The agency did not make a referral in this case; the referral came from another agency."],
    9: ["Feedback was received promptly, so there was nothing to pursue."],
    16: ["Interventions were working and no deterioration was seen, so no further action was needed."],
    17: ["The parents engaged fully; there was no non-compliance to act on.",
         "Parents attended every appointment and followed the plan; non-compliance did not arise."],
}
NOT_APPLICABLE_REASONS_BY_AGENCY = {
    ("CRC", 9): "No referral was made by this agency, so there was no feedback to pursue.",
}

# Appendix 2 of the seed, word for word (one line per point), for each agency's summary form.
SUMMARIES = {
    "CCG": (
        "Training to include the thresholds criteria in scenarios.\n"
        "Awareness raising of the thresholds criteria is taking place.",
        "Consideration of requests/feedback to provide GP with detail around the safeguarding concern.",
    ),
    "HEFT": (
        "Heighten the awareness and cement the use of the Thresholds document.\n"
        "Consider auditing the feedback process and raise concerns to partner agencies if indicated.\n"
        "Challenging practitioners and raising the profile of the voice of the child during CP and managerial "
        "supervision. Promote practitioner confidence around this.",
        "Joint communication methods.\n"
        "Regular updating for professionals of new policies, pathways and processes.\n"
        "Link professionals to disseminate information or to feed information/concerns into.",
    ),
    "POLICE": (
        "Engage and understand \u2013 better understanding of environment\n"
        "Predict and prevent- reduction in demand/crime/offenders /first time entrants to the system/risk to the "
        "vulnerable\n"
        "Respond and resolve- improvement in response\n"
        "Evaluate and innovate \u2013 collaboration and learning",
        "High levels of awareness to generate information, intelligence, referrals and evidence\n"
        "Flagging on all relevant IT systems\n"
        "Analytical or research capability to make sense of information\n"
        "Products generated to inform tasking\n"
        "Effective risk assessment and tasking processes\n"
        "Action \u2013 early intervention, disruption, enforcement",
    ),
    "CSWS": (
        "Support CS workers increased learning around CSE (screening tool, levels, direct work)\n"
        "More rigorous approach in assessing and monitoring children at risk of neglect\n"
        "Greater understanding and use of assessment tools in relation to neglect.\n"
        "MASE meetings- minute takers available, minutes sent out timely, set review meetings.\n"
        "Greater consideration of non/disguised compliance and analysing potential for change in parents.\n"
        "Tighter transfer between CS teams\n"
        "Undertake supervision that supports more reflective practice and challenge.",
        "Build strong links and understanding of Early Help\n"
        "Understand the Early Help engagement journey\n"
        "Regular liaison between partner agencies to share new and updated information in respect of families "
        "agencies are working with.\n"
        "Discuss thresholds to assist in risk sensible decisions\n"
        "Joint training in areas such as CSE and Neglect",
    ),
    "EDU": (
        "Formal task management process needs to be developed in every educational setting which offers formal "
        "professional challenge.\n"
        "Education to chase and escalate concerns with appropriate agency if minutes are not sent within specified "
        "timeframe\n"
        "Escalate concerns if agencies are not attending meetings",
        "Communication and information sharing to happen in a timely way.\n"
        "Minutes need to be circulated promptly with appropriate actions/\n"
        "Prioritise attendance at review and core group meetings\n"
        "Feedback to referrer even when there is no further action\n"
        "Consistent social worker and members of staff assigned to cases wherever possible.",
    ),
    "SCH": (
        "Briefing to frontline professionals about the threshold guidance\n"
        "Reference to be made to threshold guidance in decision making authorisation procedure\n"
        "Compliance to be monitored\n"
        "Staff training under the revised multi-agency training framework\n"
        "Improve accessibility of all safeguarding procedures\n"
        "Review supervision and support framework\n"
        "Keep engagement of MASH under review",
        "Early engagement with SCH where housing issues involved\n"
        "Consistent feedback from referrals\n"
        "Timely action to resolve any issue over cross-authority social care responsibility\n"
        "Build on engagement with MASH, revised DA triage and Early Help framework",
    ),
    "EY": (
        "On-going review of Safeguarding policy and procedures\n"
        "Training and development",
        "Keep the child at the centre\n"
        "Systems, structures and processes which improve organisation, communication and information sharing\n"
        "Follow agreed LSCB procedures\n"
        "Be pro-active",
    ),
    "VOL": (
        "Revisit training and policy wording relating to consent\n"
        "Mandatory formal supervision when working with children who are subject to CP plan",
        "Improve attendance/reports at meetings\n"
        "Ensure agency terminology understood\n"
        "Central amalgamation/chronology of information\n"
        "Consider VCS",
    ),
    "SIAS": (
        "Each branch of SIAS has a Safeguarding Lead. Leads responsible for ensuring training is up to date, provide "
        "support to safeguarding cases, facilitate supervision, look at referrals to children's services, quality "
        "assure conference and court reports\n"
        "Internal annual audit re safeguarding practices 'Think Family' and 'Right Service, Right Time' training "
        "continues to be delivered across the partnership.",
        "Hold regular forums for partner agencies\n"
        "Joint supervision/ALS\n"
        "Easier communication routes\n"
        "Increase frequency of professional meetings and joint visits",
    ),
}
# The seed has no Appendix 2 row for the Community Rehabilitation Company: simulated words.
SIMULATED_SUMMARIES = {
    "CRC": (
        "Remind offender managers to check for children in the household at every assessment.",
        "Share risk information with children's services when an offender is living with children.",
    ),
}
SUMMARY_COMMENT = "Simulated answers for the case-audit demo; not a real agency return."


# --- the example cycle -------------------------------------------------------------------


def _mismatch(message: str) -> SystemExit:
    return SystemExit(f"solve_example_returns: {message}")


def check_example_cycle(cycle: Cycle) -> None:
    """Refuse any cycle but the shipped example: the simulated answers only add up on its cases."""
    codes = {a.code for a in cycle.agencies}
    if codes != set(EXPECTED_INVOLVEMENT):
        raise _mismatch(f"The cycle's agencies are {', '.join(sorted(codes))}; the simulation expects "
                        f"{', '.join(sorted(EXPECTED_INVOLVEMENT))}.")
    if len(cycle.cases) != EXPECTED_CASES:
        raise _mismatch(f"The cycle has {len(cycle.cases)} cases; the simulation expects {EXPECTED_CASES}.")
    found = {code: len(cycle.cases_for(code)) for code in EXPECTED_INVOLVEMENT}
    wrong = [f"{c} is involved in {found[c]} cases, expected {n}" for c, n in EXPECTED_INVOLVEMENT.items()
             if found[c] != n]
    if wrong:
        raise _mismatch("The cases' agency involvement differs from the example: " + "; ".join(wrong) + ".")
    numbers = sorted(s.number for s in cycle.standards)
    if numbers != list(range(1, 23)):
        raise _mismatch("The simulation expects standards numbered 1 to 22.")
    for (agency, std), _ in NOT_APPLICABLE.items():
        if not cycle.standard(std).na_allowed:
            raise _mismatch(f"Standard {std} does not allow 'not applicable', which the simulation uses.")
    if cycle.settings.counting_rule is not CountingRule.MAJORITY:
        raise _mismatch(f"The example's figures hold under the majority counting rule; this cycle uses "
                        f"'{cycle.settings.counting_rule.value}'; set it back to majority.")
    kinds = {o.kind for o in cycle.rating_scale.options}
    if not {RatingKind.MET, RatingKind.NOT_MET, RatingKind.NOT_APPLICABLE} <= kinds:
        raise _mismatch("The rating scale needs a 'met', a 'not met' and a 'not applicable' option.")


# --- placing the 'not met' answers ------------------------------------------------------


class _Unsolvable(Exception):
    pass


def _ceil_half(n: int) -> int:
    return (n + 1) // 2


def _solve_standard(number: int, cases: Sequence[str], involved: dict[str, tuple[str, ...]],
                    exact: dict[str, int], pins: set[tuple[str, str]], na: set[tuple[str, str]],
                    target: Optional[int]) -> dict[tuple[str, str], RatingKind]:
    """Choose which cases each agency says 'not met' so that `target` cases are met by majority.

    `exact` agencies say 'not met' in exactly that many of their cases (pinned ones included);
    the others say 'met' unless a case needs one more 'not met' to fall short, and then
    the agency with fewest 'not met' answers so far on this standard tips it.
    """
    case_agencies = {c: [a for a, cs in involved.items() if c in cs] for c in cases}
    pins = {(a, c) for (a, c) in pins if (a, c) not in na and c in involved.get(a, ())}
    rated = {c: sum(1 for a in case_agencies[c] if (a, c) not in na) for c in cases}
    exact = {a: n for a, n in exact.items() if a in involved}
    order = sorted(exact, key=lambda a: (math.comb(len(involved[a]), min(exact[a], len(involved[a]))), a))
    free_agencies = [a for a in involved if a not in exact]

    best: list = [None, None]  # cost, votes
    budget = [200_000]

    def leaf(votes: dict[str, set[str]]):
        n_c = Counter(c for cs in votes.values() for c in cs)
        for (a, c) in pins:
            if a not in exact:
                n_c[c] += 1
        free_c = {c: sum(1 for a in case_agencies[c] if a in free_agencies and (a, c) not in na
                         and (a, c) not in pins) for c in cases}
        can_meet = [c for c in cases if 2 * n_c[c] < rated[c]]
        can_fail = [c for c in cases if 2 * (n_c[c] + free_c[c]) >= rated[c]]
        if target is None:
            fail = [c for c in cases if c not in can_meet]
        else:
            must_meet = [c for c in can_meet if c not in can_fail]
            flex = [c for c in can_meet if c in can_fail]
            if not (len(must_meet) <= target <= len(can_meet)):
                return
            to_fail = len(flex) - (target - len(must_meet))
            flex.sort(key=lambda c: (_ceil_half(rated[c]) - n_c[c], cases.index(c)))
            fail = [c for c in cases if c not in can_meet] + flex[:to_fail]
        cost = sum(max(0, _ceil_half(rated[c]) - n_c[c]) for c in fail)
        if best[0] is None or cost < best[0]:
            best[0], best[1] = cost, ({a: set(cs) for a, cs in votes.items()}, fail, dict(n_c))

    def place(i: int, votes: dict[str, set[str]]):
        budget[0] -= 1
        if budget[0] < 0 or best[0] == 0:
            return
        if i == len(order):
            leaf(votes)
            return
        a = order[i]
        pinned = [c for (pa, c) in pins if pa == a]
        need = exact[a] - len(pinned)
        open_cases = [c for c in involved[a] if (a, c) not in na and c not in pinned]
        if need < 0 or need > len(open_cases):
            return
        placed = Counter(c for cs in votes.values() for c in cs)
        open_cases.sort(key=lambda c: (-placed[c], cases.index(c)))  # cluster shortfalls
        for combo in itertools.combinations(open_cases, need):
            votes[a] = set(combo) | set(pinned)
            place(i + 1, votes)
            del votes[a]

    place(0, {})
    if best[1] is None:
        raise _Unsolvable(number)
    votes, fail, n_c = best[1]
    result: dict[tuple[str, str], RatingKind] = {}
    for a, cs in involved.items():
        for c in cs:
            if (a, c) in na:
                result[(a, c)] = RatingKind.NOT_APPLICABLE
            elif c in votes.get(a, ()) or (a not in exact and (a, c) in pins):
                result[(a, c)] = RatingKind.NOT_MET
            else:
                result[(a, c)] = RatingKind.MET
    # tip the failing cases with the fewest extra 'not met' answers, spread across agencies
    tally = Counter(a for (a, c), k in result.items() if k is RatingKind.NOT_MET)
    rank = {a: i for i, a in enumerate(FILLER_ORDER)}
    for c in fail:
        short = _ceil_half(rated[c]) - n_c.get(c, 0)
        candidates = [a for a in case_agencies[c] if a in free_agencies and result[(a, c)] is RatingKind.MET]
        for _ in range(max(0, short)):
            candidates.sort(key=lambda a: (tally[a], rank.get(a, 99), a))
            a = candidates.pop(0)
            result[(a, c)] = RatingKind.NOT_MET
            tally[a] += 1
    return result


def _story_case(cycle: Cycle) -> Optional[str]:
    """The neglect case Education, SIAS and CSWS all worked on, if the workbook has one."""
    both = [c for c in cycle.cases if set(STORY_AGENCIES) <= set(c.agencies)]
    neglect = [c for c in both if "neglect" in normalise_label(c.priority_area)]
    chosen = (neglect or both or [None])[0]
    return chosen.ref if chosen else None


def _na_pairs(cycle: Cycle, number: int) -> set[tuple[str, str]]:
    """The agency's last cases, skipping any case that would then have no rating at all."""
    pairs: set[tuple[str, str]] = set()
    for (agency, std), count in NOT_APPLICABLE.items():
        if std != number:
            continue
        for case in reversed(cycle.cases_for(agency)):
            if count == 0:
                break
            raters = [a for a in case.agencies if (a, case.ref) not in pairs and a != agency]
            if raters:
                pairs.add((agency, case.ref))
                count -= 1
    return pairs


def _exact_counts(number: int, soft: bool) -> dict[str, int]:
    exact: dict[str, int] = {}
    for code in ("EY",):
        exact[code] = 1 if number in EARLY_YEARS_NOT_MET else 0
    exact["SIAS"] = 0 if number in SIAS_MET_BOTH else 1 if number in SIAS_MET_ONE else 2
    exact["VOL"] = VOLUNTARY_NOT_MET.get(number, 0)
    for (agency, std), n in SEED_AGENCY_NOT_MET.items():
        if std == number:
            exact[agency] = n
    if soft:
        for (agency, std), n in SOFT_AGENCY_NOT_MET.items():
            if std == number and agency not in exact:
                exact[agency] = n
    return exact


def simulated_ratings(cycle: Cycle) -> dict[tuple[str, str, int], RatingKind]:
    """(agency, case ref, standard) -> the simulated rating, for every involved agency and case."""
    check_example_cycle(cycle)
    cases = [c.ref for c in cycle.cases]
    involved = {a.code: tuple(c.ref for c in cycle.cases_for(a.code)) for a in cycle.agencies
                if cycle.cases_for(a.code)}
    story = _story_case(cycle)
    ratings: dict[tuple[str, str, int], RatingKind] = {}
    for std in sorted(cycle.standards, key=lambda s: s.number):
        na = _na_pairs(cycle, std.number)
        pins = {(a, story) for a in STORY_NOT_MET.get(std.number, ())} if story else set()
        placed = None
        target = SEED_CASES_MET.get(std.number)
        attempts = [(True, target or SOFT_CASES_MET.get(std.number)), (False, target or SOFT_CASES_MET.get(std.number))]
        if target is None and std.number in SOFT_CASES_MET:
            attempts += [(True, None), (False, None)]
        for soft, wanted in attempts:
            try:
                placed = _solve_standard(std.number, cases, involved, _exact_counts(std.number, soft), pins, na, wanted)
                break
            except _Unsolvable:
                continue
        if placed is None:
            raise _mismatch(f"The simulated answers for standard {std.number} cannot reproduce the example's "
                            "figures on this workbook's cases (the agencies' involvement in the cases differs).")
        for (a, c), kind in placed.items():
            ratings[(a, c, std.number)] = kind
    return ratings


# --- the forms ------------------------------------------------------------------------------


def _label(cycle: Cycle, kind: RatingKind) -> str:
    for option in cycle.rating_scale.options:
        if option.kind is kind:
            return option.label
    raise _mismatch(f"The rating scale has no '{kind.value}' option.")


def simulated_returns(cycle: Cycle) -> list[dict]:
    """Every involved agency's simulated audit of every case it was involved in, in case then agency order."""
    ratings = simulated_ratings(cycle)
    story = _story_case(cycle)
    turn: Counter = Counter()

    def pick(pool: list[str], key) -> str:
        text = pool[turn[key] % len(pool)]
        turn[key] += 1
        return text

    forms = []
    for case in cycle.cases:
        for agency in cycle.agencies:
            if agency.code not in case.agencies:
                continue
            answers = []
            for std in sorted(cycle.standards, key=lambda s: s.number):
                kind = ratings[(agency.code, case.ref, std.number)]
                label = _label(cycle, kind)
                if kind is RatingKind.MET:
                    own = AGENCY_EVIDENCE.get((agency.code, std.number))
                    n = turn[(agency.code, std.number, "met")]
                    turn[(agency.code, std.number, "met")] += 1
                    if own and n % 2 == 0:  # the agency's own words every other case, generic ones between
                        evidence = own[(n // 2) % len(own)]
                    else:
                        evidence = pick(EVIDENCE[std.number], ("met", std.number))
                    answers.append({"standard": std.number, "rating": label, "evidence": evidence})
                elif kind is RatingKind.NOT_MET:
                    if case.ref == story and (agency.code, std.number) in STORY_REASONS:
                        reason = STORY_REASONS[(agency.code, std.number)]
                    elif (agency.code, std.number) in AGENCY_REASONS:
                        reason = pick(AGENCY_REASONS[(agency.code, std.number)], (agency.code, std.number))
                    else:
                        reason = pick(REASONS[std.number], ("not met", std.number))
                    answers.append({"standard": std.number, "rating": label, "reason": reason})
                else:
                    reason = NOT_APPLICABLE_REASONS_BY_AGENCY.get((agency.code, std.number)) or pick(
                        NOT_APPLICABLE_REASONS[std.number], ("n/a", std.number))
                    answers.append({"standard": std.number, "rating": label, "reason": reason})
            forms.append({"agency": agency.code, "case_ref": case.ref, "answers": answers})
    return forms


def simulated_summaries(cycle: Cycle) -> list[dict]:
    """Each involved agency's summary form: the seed's Appendix 2 words where it has them."""
    check_example_cycle(cycle)
    out = []
    for agency in cycle.agencies:
        if not cycle.cases_for(agency.code):
            continue
        improvements, partnership = SUMMARIES.get(agency.code) or SIMULATED_SUMMARIES[agency.code]
        out.append({"agency": agency.code, "improvements": improvements, "partnership": partnership,
                    "comments": SUMMARY_COMMENT})
    return out


# --- the data file ---------------------------------------------------------------------------


def _line(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False)


def render(forms: list[dict], summaries: list[dict]) -> str:
    """The data file's text: plain JSON, one answer or summary a line, so that a change reads as a diff."""
    blocks = []
    for form in forms:
        head = _line({"agency": form["agency"], "case_ref": form["case_ref"]})[:-1]
        answers = ",\n".join("      " + _line(a) for a in form["answers"])
        blocks.append(f'    {head}, "answers": [\n{answers}\n    ]}}')
    header = {"about": ABOUT, "simulated": True, "example_cycle": "2015-16",
              "counting_rule": CountingRule.MAJORITY.value}
    lines = ["{"] + [f"  {_line(k)}: {_line(v)}," for k, v in header.items()]
    lines += ['  "audit_forms": [', ",\n".join(blocks), "  ],"]
    lines += ['  "summary_forms": [', ",\n".join("    " + _line(s) for s in summaries), "  ]", "}"]
    return "\n".join(lines) + "\n"


def _verify(cycle: Cycle, path: Path) -> None:
    """Load the file as the demo does, count it as the report will, and refuse it unless it says what the seed says."""
    from pipeline.findings import compute_findings

    data = example_returns.load_data(path)
    findings = compute_findings(cycle, example_returns.to_audit_returns(example_returns.simulated_returns(cycle, data)))
    wrong = []
    for number, met in SEED_CASES_MET.items():
        s = findings.standard(number)
        if (s.cases_met, s.cases_assessed) != (met, EXPECTED_CASES):
            wrong.append(f"standard {number}: {s.cases_met} of {s.cases_assessed} met, expected {met} of {EXPECTED_CASES}")
    for (agency, number), not_met in SEED_AGENCY_NOT_MET.items():
        f = next(x for x in findings.standard(number).by_agency if x.agency == agency)
        if (f.not_met, f.audited) != (not_met, EXPECTED_INVOLVEMENT[agency]):
            wrong.append(f"{agency} standard {number}: not met in {f.not_met} of {f.audited}, expected {not_met}")
    if wrong:
        raise _mismatch("The simulated answers do not reproduce the example's figures: " + "; ".join(wrong) + ".")


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0]) if argv else OUT_DIR
    cycle = load_cycle(EXAMPLE_WORKBOOK)
    text = render(simulated_returns(cycle), simulated_summaries(cycle))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / example_returns.DATA_FILE[1]
    candidate = target.with_name(target.name + ".new")
    candidate.write_bytes(text.encode("utf-8"))
    try:
        _verify(cycle, candidate)
    except BaseException:
        candidate.unlink()
        raise
    candidate.replace(target)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
