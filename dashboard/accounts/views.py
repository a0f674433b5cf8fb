from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from dashboard.observability.addresses import client_address

from . import throttle


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
