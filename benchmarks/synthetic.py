"""A synthetic cycle at the size of a large board, built in memory from the models.

Invented names and wording only (no real children, no seed text), shaped like a
real toolkit: five KLOEs with 22 standards between them, one standard with
bullet lines, every agency involved in every case by default so that
60 cases x 17 agencies gives 1,020 audit forms plus 17 summaries.
"""

from __future__ import annotations

from datetime import date

from pipeline.models import Agency, Case, Cycle, CycleSettings, Kloe, PriorityArea, Standard

_STANDARDS_PER_KLOE = (4, 7, 3, 4, 4)
_FIRST = ("Amelia", "Oliver", "Zoë", "Łucja", "Ayesha", "Dafydd", "Siân", "Muhammad", "Grzegorz", "Aoife", "Noor",
          "Rhys", "Chloé", "Tomasz", "Fatima", "Ewan")
_LAST = ("Ashworth", "Brennan", "O'Connor", "Nowak", "Khan", "ap Gruffydd", "Wiśniewska", "Hughes", "Iqbal",
         "Llewelyn", "Kowalczyk", "Patel", "Price", "Dąbrowski", "Rahman", "Evans")


def _sentence(n: int, words: int) -> str:
    base = ("the practitioner records the child's views and shares relevant information with partner agencies in "
            "good time so that decisions about support are made together and reviewed against the plan").split()
    return " ".join(base[(n + i) % len(base)] for i in range(words)).capitalize() + "."


def synthetic_cycle(cases: int = 60, agencies: int = 17, *, involvement: float = 1.0) -> Cycle:
    """`cases` x `agencies`; each case involves the first ceil(involvement * agencies) agencies (rotating)."""
    kloes, standards, number = [], [], 1
    for k, count in enumerate(_STANDARDS_PER_KLOE, start=1):
        kloes.append(Kloe(number=k, question=f"KLOE question {k}: " + _sentence(k, 18).rstrip(".") + "?",
                          title=f"Theme {k}"))
        for _ in range(count):
            text = _sentence(number, 14 + number % 20)
            if number == 4:
                text = "Relevant multi-agency meetings:\n" + "\n".join(f"- {_sentence(number + i, 10)}" for i in range(5))
            standards.append(Standard(number=number, kloe=k, text=text,
                                      finding_met=f"standard {number} was met", na_allowed=number % 5 == 0))
            number += 1
    agency_list = tuple(Agency(code=f"AG{i:02d}", name=f"Synthetic Agency {i} & Partners", short_name=f"Agency {i}")
                        for i in range(1, agencies + 1))
    areas = (PriorityArea(name="Neglect"), PriorityArea(name="Child Sexual Exploitation (CSE)"),
             PriorityArea(name="Early Help"))
    per_case = max(1, min(agencies, round(involvement * agencies)))
    case_list = []
    for i in range(cases):
        involved = tuple(agency_list[(i + j) % agencies].code for j in range(per_case))
        case_list.append(Case(ref=f"SYN-{i + 1:03d}", priority_area=areas[i % 3].name,
                              child_name=f"{_FIRST[i % len(_FIRST)]} {_LAST[(i * 7) % len(_LAST)]}",
                              agencies=involved))
    return Cycle(
        settings=CycleSettings(board_name="Synthetic Safeguarding Children Partnership", cycle_id="SYN-1",
                               cycle_name="2030-2031", return_deadline=date(2031, 2, 14),
                               return_instructions="Email the completed forms to audit@example.org by secure email."),
        priority_areas=areas, agencies=agency_list, cases=tuple(case_list), kloes=tuple(kloes),
        standards=tuple(standards),
    )
