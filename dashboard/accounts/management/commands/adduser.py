import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email


class Command(BaseCommand):
    help = (
        "Create or update a dashboard login. Its powers come from the WapiKit member with the "
        "same email. The password is asked for unless given with --password."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", help="for scripts; otherwise asked for twice")
        parser.add_argument("--staff", action="store_true", help="may also see the audit log")

    def handle(self, *args, email: str, password: str | None, staff: bool, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address") from None
        email = email.strip().lower()
        if password is None:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("the passwords differ")
        User = get_user_model()
        user = User.objects.filter(email__iexact=email).first() or User(email=email)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        created = user.pk is None
        user.set_password(password)
        user.is_active = True
        if staff:
            user.is_staff = True
        user.save()
        self.stdout.write(f"{'Created' if created else 'Updated'} dashboard user {email}.")
