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
    # messaging and feedback
    "inbox.view": frozenset({O, M, T, P, S}),
    "announcement.send": frozenset({O, M}),
    "messaging.setup": frozenset({O}),
    "feedback.give": frozenset({P}),
    "feedback.pulse": frozenset({S}),
    "feedback.manage": frozenset({O, M}),
    "conversation.view": frozenset({O, M, T, P}),
    "conversation.staff": frozenset({O, M, T}),
    "feedback.survey": frozenset({P}),
    "feedback.teacher_pulse": frozenset({O, M, T}),
    # early warning (kruzhok/risk)
    "risk.view": frozenset({O, M, T}),
    "risk.act": frozenset({O, M, T}),
    "risk.report": frozenset({O, M}),
    "risk.configure": frozenset({O}),
    # gamification
    "gamification.self": frozenset({P, S}),
    "gamification.view": frozenset({O, M, T}),
    "gamification.kudos": frozenset({O, M, T}),
    "gamification.manage": frozenset({O, M}),
    "gamification.shop": frozenset({S}),
    # billing
    "billing.view": frozenset({O, M}),
    "billing.manage": frozenset({O, M}),
    "billing.correct": frozenset({O}),
    "billing.setup": frozenset({O}),
    "billing.family": frozenset({P}),
    # management analytics (kruzhok/analytics)
    "analytics.view": frozenset({O, M, T}),
    # reports and the data-quality monitor (kruzhok/reports, kruzhok/dataquality)
    "reports.view": frozenset({O, M}),
    "reports.export": frozenset({O, M}),
    "dataquality.view": frozenset({O, M}),
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
    "inbox.view": "read their own messages (absence notices, announcements, alerts)",
    "announcement.send": "send announcements to a group or a family and see delivery reports",
    "messaging.setup": "connect the Telegram bot and set children's quiet hours",
    "feedback.give": "write feedback to the centre and read the answers",
    "feedback.pulse": "rate a recent lesson (1–5 faces, optional comment)",
    "feedback.manage": "read feedback (manager: their branches), answer families, close alerts",
    "conversation.view": "read and write conversations between the centre and a family (parent: their own)",
    "conversation.staff": "talk with families in conversations (manager: their branches; teacher: own groups)",
    "feedback.survey": "answer the centre's survey about their child (recommend 0–10, satisfaction 1–5)",
    "feedback.teacher_pulse": "rate each child's engagement at a lesson, 1–5 (teacher: own lessons)",
    "risk.view": "see dropout risk, its reasons and alerts (manager: their branches; teacher: their groups)",
    "risk.act": "acknowledge, assign, mark not useful, log what was done and close an alert",
    "risk.report": "see what helps: retention after alerts with and without each action (manager: their branches)",
    "risk.configure": "set when unanswered alerts escalate and when an alert's outcome counts as stayed",
    "gamification.self": "see their own (child's) XP, level, badges, streak and group place; opt out of rankings",
    "gamification.view": "see children's XP pages and full group leaderboards (teacher: own groups)",
    "gamification.kudos": "give a child a «молодец на занятии» (teacher: own lessons)",
    "gamification.manage": "set XP rules, create badges, stock the rewards shop and approve requests",
    "gamification.shop": "ask for a reward from the shop with their own coins",
    "billing.view": "see family accounts, debtors, ending subscriptions and price plans",
    "billing.manage": "sell subscriptions, take payments, freeze subscriptions",
    "billing.correct": "refund payments and post reversing corrections",
    "billing.setup": "create price plans and promo codes, set the write-off rules",
    "billing.family": "see their family's balance, subscriptions and payment history",
    "analytics.view": "see dashboards, retention curves, comparisons and the children behind each figure "
    "(manager: their branches; teacher: their groups)",
    "reports.view": "see and download the reports they made (owner: all of the organisation's)",
    "reports.export": "generate reports and exports, schedule monthly reports by email (manager: their branches)",
    "dataquality.view": "see the data-quality checks and their trend (manager: their branches)",
}


def render_markdown_table(*, roles, permissions) -> str:
    header = "| action | what it allows | " + " | ".join(r.value for r in roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    rows = [header, rule]
    for action, allowed in permissions.items():
        cells = " | ".join("✔" if r.value in allowed else "—" for r in roles)
        rows.append(f"| `{action}` | {ACTION_DESCRIPTIONS.get(action, '')} | {cells} |")
    return "\n".join(rows) + "\n"
