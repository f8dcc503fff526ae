from django.contrib.auth import views as auth_views
from django.urls import path

from kruzhok.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("switch/<int:org_id>/", views.switch_org, name="switch_org"),
    path("signup/", views.signup, name="signup"),
    path("staff/", views.staff, name="staff"),
    path("staff/<int:membership_pk>/deactivate/", views.staff_deactivate, name="staff_deactivate"),
    path("invitations/<int:pk>/revoke/", views.invite_revoke, name="invite_revoke"),
    path("invite/<str:token>/", views.invite_accept, name="invite_accept"),
]
