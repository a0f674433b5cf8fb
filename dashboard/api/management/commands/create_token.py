from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from dashboard.api.models import Scope
from dashboard.api.tokens import TokenError, token_create


class Command(BaseCommand):
    help = (
        "Create an API token for a dashboard user, for a script or bot. The secret is printed "
        "once (only its hash is kept). The token never does more than its scopes, nor more than "
        "the user's WapiKit member may do."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", required=True, help="what will use it, e.g. 'stale closer'")
        parser.add_argument("--scopes", required=True, help=f"comma-separated: {','.join(Scope.values)}")
        parser.add_argument("--expires", default="30d", help="lifetime: 12h, 30d, 2w (at most 366d; default 30d)")

    def handle(self, *args, email: str, name: str, scopes: str, expires: str, **options):
        user = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"no dashboard user has the email {email!r} (create one with manage.py adduser)")
        if not user.is_active:
            raise CommandError(f"{user.email} is not active")
        try:
            token, secret = token_create(user=user, name=name, scopes=scopes, lifetime=expires)
        except TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(
            f"Token “{token.name}” for {user.email}: scopes {','.join(token.scopes)}, "
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC. The secret is shown only now:"
        )
        self.stdout.write(secret)
