from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models

from .zones import is_time_zone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("an email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A dashboard login. Its powers come from the WapiKit member with the same email."""

    username = None
    email = models.EmailField("email", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


def validate_time_zone(value: str) -> None:
    if value and not is_time_zone(value):
        raise ValidationError("%(value)s is not a time zone this dashboard knows.", params={"value": value})


class Profile(models.Model):
    """One user's preferences, made on first save."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    class InboxLayout(models.TextChoices):
        CARDS = "cards", "Cards"
        COMPACT = "compact", "Compact"

    # An IANA name (Europe/Berlin). Empty: not chosen yet, so times follow the browser's zone.
    time_zone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])
    # How the inbox lists conversations: cards, or one row each (three times as many on a screen).
    inbox_layout = models.CharField(max_length=10, choices=InboxLayout.choices, default=InboxLayout.CARDS)

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'the browser’s time zone'}"
