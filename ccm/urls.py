"""URL map: pages at the root, the JSON API under /api/ (interface.md)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from ccm import api, billing_provider, user_views, views

# Every error answers JSON under /api/ and a page elsewhere (ccm.views.error_response).
handler400 = "ccm.views.bad_request"
handler403 = "ccm.views.permission_denied"
handler404 = "ccm.views.not_found"
handler500 = "ccm.views.server_error"

api_urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script as a file: no inline script, so the CSP holds.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("auth/token/", api.TokenApi.as_view(), name="api-token"),
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("users/", api.UserListApi.as_view(), name="api-users"),
    path("users/<int:pk>/", api.UserDetailApi.as_view(), name="api-user"),
    path("users/<int:pk>/deactivate/", api.UserDeactivateApi.as_view(), name="api-user-deactivate"),
    path("users/<int:pk>/reactivate/", api.UserReactivateApi.as_view(), name="api-user-reactivate"),
    path(
        "users/<int:pk>/reset-password/",
        api.UserPasswordResetApi.as_view(),
        name="api-user-reset-password",
    ),
    path(
        "practice/billing-provider/",
        billing_provider.BillingProviderApi.as_view(),
        name="api-billing-provider",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("account/password/", user_views.password_choose, name="password-choose"),
    path("practice/users/", user_views.user_list, name="practice-users"),
    path("practice/users/new/", user_views.user_create, name="practice-user-new"),
    path("practice/users/<int:pk>/", user_views.user_detail, name="practice-user"),
    path(
        "practice/users/<int:pk>/deactivate/",
        user_views.user_deactivate,
        name="practice-user-deactivate",
    ),
    path(
        "practice/users/<int:pk>/reactivate/",
        user_views.user_reactivate,
        name="practice-user-reactivate",
    ),
    path(
        "practice/users/<int:pk>/reset-password/",
        user_views.user_reset_password,
        name="practice-user-reset-password",
    ),
    path("practice/settings/", user_views.practice_settings, name="practice-settings"),
    path("api/", include(api_urlpatterns)),
    path(
        "practice/billing-provider/",
        billing_provider.billing_provider_page,
        name="billing-provider",
    ),
    path("", include("patients.urls")),
    path("", include("timelog.urls")),
    path("", include("billing.urls")),
    path("", include("billing.urls_fees")),
    path("", include("billing.urls_worklist")),
    path("", include("billing.urls_pages")),
    path("", include("billing.urls_reports")),
    path("", include("billing.claims.urls")),
]
