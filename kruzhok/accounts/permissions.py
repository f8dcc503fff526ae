"""Who may do what: the role × action table.

docs/permissions.md renders this same table, and kruzhok/accounts/tests/test_permissions.py checks
both the table and the pages behind it. Object-level limits (a manager sees only their branches, a
teacher only their groups, a parent only their own children) live in the selectors.
"""

from kruzhok.accounts.models import Role

O, M, T, P, S = Role.OWNER, Role.MANAGER, Role.TEACHER, Role.PARENT, Role.STUDENT

PERMISSIONS: dict[str, frozenset[str]] = {
    # organisation set-up
    "org.view": frozenset({O, M, T, P, S}),
    "org.edit": frozenset({O}),
    "branch.manage": frozenset({O}),
    "course.manage": frozenset({O}),
    "group.manage": frozenset({O}),
    "holiday.manage": frozenset({O}),
    "staff.invite": frozenset({O}),
    # people and enrollments
    "student.view": frozenset({O, M, T}),
    "student.manage": frozenset({O, M}),
    "guardian.view": frozenset({O, M}),
    "guardian.manage": frozenset({O, M}),
    "enrollment.view": frozenset({O, M, T}),
    "enrollment.manage": frozenset({O, M}),
    # lessons and attendance
    "group.view": frozenset({O, M, T}),
    "lesson.view": frozenset({O, M, T}),
    "lesson.edit": frozenset({O, M, T}),
    "attendance.mark": frozenset({O, M, T}),
    "attendance.view": frozenset({O, M, T}),
    # families
    "family.view": frozenset({P}),
    "student.self": frozenset({S}),
}


def role_can(role: str | None, action: str) -> bool:
    if role is None:
        return False
    return role in PERMISSIONS[action]


ACTION_DESCRIPTIONS: dict[str, str] = {
    "org.view": "see the organisation they belong to",
    "org.edit": "edit the organisation's name and time zone",
    "branch.manage": "create and edit branches and rooms",
    "course.manage": "create and edit courses",
    "group.manage": "create and edit groups and their weekly schedule",
    "holiday.manage": "add and remove holidays",
    "staff.invite": "invite managers and teachers, deactivate staff",
    "student.view": "see children (manager: their branches; teacher: their groups)",
    "student.manage": "add and edit children",
    "guardian.view": "see guardians' contacts",
    "guardian.manage": "add and edit guardians, record consent",
    "enrollment.view": "see enrollments",
    "enrollment.manage": "enrol, change status, transfer, manage waiting lists",
    "group.view": "see groups (teacher: their own)",
    "lesson.view": "see lessons (teacher: their own)",
    "lesson.edit": "set topic and homework, cancel or move a lesson (teacher: their own)",
    "attendance.mark": "mark attendance (teacher: their own lessons)",
    "attendance.view": "see the attendance journal and a child's history",
    "family.view": "see their own children's schedule, attendance and homework",
    "student.self": "see their own schedule",
}


def render_markdown_table(*, roles, permissions) -> str:
    header = "| action | what it allows | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    rows = [header, rule]
    for action, allowed in permissions.items():
        cells = " | ".join("✔" if r.value in allowed else "—" for r in roles)
        rows.append(f"| `{action}` | {ACTION_DESCRIPTIONS.get(action, '')} | {cells} |")
    return "\n".join(rows) + "\n"
