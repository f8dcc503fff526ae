from django.urls import path

from kruzhok.gamification import views

app_name = "gamification"

urlpatterns = [
    path("", views.home, name="home"),
    path("children/<int:student_pk>/", views.child, name="child"),
    path("children/<int:student_pk>/opt-out/", views.opt_out, name="opt_out"),
    path("students/<int:student_pk>/", views.student, name="student"),
    path("groups/<int:group_pk>/", views.group_board, name="group_board"),
    path("lessons/<int:lesson_pk>/kudos/<int:student_pk>/", views.kudos, name="kudos"),
    path("lessons/<int:lesson_pk>/badge/<int:student_pk>/", views.badge_give, name="badge_give"),
    path("settings/", views.settings_page, name="settings"),
    path("goals/new/", views.goal_create, name="goal_create"),
    path("goals/<int:goal_pk>/edit/", views.goal_edit, name="goal_edit"),
    path("quests/new/", views.quest_create, name="quest_create"),
    path("quests/<int:quest_pk>/edit/", views.quest_edit, name="quest_edit"),
    path("badges/new/", views.badge_create, name="badge_create"),
    path("badges/<int:badge_pk>/edit/", views.badge_edit, name="badge_edit"),
    path("badges/<int:badge_pk>.svg", views.badge_image, name="badge_image"),
    path("shop/", views.shop, name="shop"),
    path("shop/rewards/<int:reward_pk>/ask/", views.reward_ask, name="reward_ask"),
    path("shop/manage/", views.shop_manage, name="shop_manage"),
    path("shop/rewards/<int:reward_pk>/edit/", views.reward_edit, name="reward_edit"),
    path("shop/requests/<int:request_pk>/decide/", views.request_decide, name="request_decide"),
    path("children/<int:student_pk>/badges/<int:award_pk>/share/", views.badge_share, name="badge_share"),
    path("ob/assertions/<str:token>", views.ob_assertion, name="ob_assertion"),
    path("ob/badges/<str:token>", views.ob_badge, name="ob_badge"),
    path("ob/issuers/<str:token>", views.ob_issuer, name="ob_issuer"),
    path("ob3/credentials/<str:token>", views.ob3_credential, name="ob3_credential"),
]
