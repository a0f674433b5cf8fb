from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dashboard.observability.addresses import client_address

from . import throttle
from .forms import TimeZoneForm
from .middleware import browser_time_zone
from .preferences import chosen_time_zone, profile_set_inbox_layout, profile_set_time_zone


class SignInView(auth_views.LoginView):
    """Django's sign-in, throttled per account and per address."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs) -> HttpResponse:
        email = request.POST.get("username", "")
        wait = throttle.seconds_to_wait(email=email, address=self._address())
        if wait:
            form = self.get_form()
            form.is_bound = False  # show the form again, without validating the password
            minutes = -(-wait // 60)
            when = f"{wait} seconds" if wait < 90 else f"{minutes} minutes"
            context = self.get_context_data(form=form, throttled=f"Too many failed sign-ins. Try again in {when}.")
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        throttle.record_failure(email=self.request.POST.get("username", ""), address=self._address())
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        throttle.record_success(email=form.get_user().email)
        return super().form_valid(form)

    def _address(self) -> str:
        return client_address(self.request)



def _profile_page(request: HttpRequest, form: TimeZoneForm, *, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "chosen": chosen_time_zone(user=request.user, session=request.session),
        "browser": browser_time_zone(request),
    }
    return render(request, "accounts/profile.html", context, status=status)


@require_GET
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in user's profile: the zone their times are shown in."""
    # Preselected: the zone this page is shown in (the one chosen, else the browser's, else the server's).
    return _profile_page(request, TimeZoneForm(initial={"time_zone": timezone.get_current_timezone_name()}))


@require_POST
def account_time_zone(request: HttpRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, form, status=400)
    zone = form.cleaned_data["time_zone"]
    profile_set_time_zone(user=request.user, time_zone=zone, session=request.session)
    messages.success(request, f"Saved: times are shown in {zone}.")
    return redirect("account")


@require_POST
def account_inbox_layout(request: HttpRequest) -> HttpResponse:
    """The inbox's switch between cards and one row per conversation, kept for the user (every
    browser they sign in from), then back to the inbox view they were on."""
    try:
        profile_set_inbox_layout(user=request.user, layout=request.POST.get("layout", ""), session=request.session)
    except ValidationError:
        return HttpResponse("There is no such layout.", status=400, content_type="text/plain")
    back = request.POST.get("next", "")
    safe = back.startswith("/") and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(back if safe else "inbox")
