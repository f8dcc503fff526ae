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
