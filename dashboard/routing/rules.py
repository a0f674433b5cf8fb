"""Routing's rules as Owners set them: who may, the form that checks one rule (the page's and
the API's), the writes (each rule saved, deleted, or the whole list replaced; the pause switch),
and the reads every run of the engine starts from."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.utils import timezone

from dashboard.conversations.audit import may_read_audit
from dashboard.conversations.powers import Powers
from dashboard.wapikit.types import Member

from . import engine
from .models import Method, Presence, Rule, Switch, TakeBackTo

# A week: longer than any wait a team would set, short enough to catch a typo.
MOST_MINUTES = 7 * 24 * 60
# The rule's fields an Owner sets (the form has one of each), in the API's order.
FIELDS = (
    "name", "enabled", "campaign_id", "tag", "roles", "member_ids", "method", "capacity", "presence",
    "online_minutes", "grace_minutes", "unanswered_minutes", "window_minutes", "take_back_to", "takes_manual",
)


def may_change_routing(user, powers: Powers | None = None) -> bool:
    """The audit trail's rule: Owners and staff, who answer for the whole team."""
    return may_read_audit(user, powers)


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    enabled = forms.BooleanField(required=False, initial=True)
    campaign_id = forms.CharField(max_length=64, required=False, label="Only this campaign (its id)")
    tag = forms.CharField(max_length=100, required=False, label="Only conversations with this tag")
    roles = forms.MultipleChoiceField(
        required=False, label="Members with any of these roles", widget=forms.CheckboxSelectMultiple
    )
    member_ids = forms.MultipleChoiceField(required=False, label="Or these members", widget=forms.CheckboxSelectMultiple)
    method = forms.ChoiceField(choices=Method.choices, initial=Method.BALANCED)
    capacity = forms.IntegerField(min_value=1, max_value=1000, initial=10, label="Most open conversations per member")
    presence = forms.ChoiceField(choices=Presence.choices, initial=Presence.ONLINE, label="Give conversations to")
    online_minutes = forms.IntegerField(
        min_value=1, max_value=MOST_MINUTES, initial=5, label="Online: the dashboard open in the last (minutes)"
    )
    grace_minutes = forms.IntegerField(
        min_value=0, max_value=MOST_MINUTES, initial=2, label="Grace after closing the dashboard (minutes)"
    )
    unanswered_minutes = forms.IntegerField(
        min_value=1, max_value=MOST_MINUTES, required=False, label="Take back when not answered within (minutes)"
    )
    window_minutes = forms.IntegerField(
        min_value=1, max_value=24 * 60, required=False, label="Take back when the reply window closes within (minutes)"
    )
    take_back_to = forms.ChoiceField(choices=TakeBackTo.choices, initial=TakeBackTo.RULE, label="Taken back, it is")
    takes_manual = forms.BooleanField(required=False, label="Also take back what a person assigned by hand")

    def __init__(self, *args, members: list[Member], taken_names: set[str] = frozenset(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.members = members
        self.taken_names = {name.casefold() for name in taken_names}
        role_names = sorted({role.name for m in members for role in m.roles}, key=str.casefold)
        self.fields["roles"].choices = [(name, name) for name in role_names]
        self.fields["member_ids"].choices = [(m.unique_id, m.name or m.email) for m in members]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the rule a name.")
        if name.casefold() in self.taken_names:
            raise forms.ValidationError("Another rule has this name.")
        return name

    def clean_member_ids(self) -> list[str]:
        """A member named here who may not see conversations is refused, with the reason."""
        chosen = self.cleaned_data["member_ids"]
        by_id = {m.unique_id: m for m in self.members}
        reasons = [reason for mid in chosen if (reason := engine.permission_refusal(by_id[mid]))]
        if reasons:
            raise forms.ValidationError(reasons)
        return chosen

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("roles") and not data.get("member_ids"):
            raise forms.ValidationError("Choose the members this rule gives conversations to, by role or by name.")
        return data

    @classmethod
    def of(cls, rule: Rule, *, members: list[Member], **kwargs) -> RuleForm:
        return cls(initial={name: getattr(rule, name) for name in FIELDS}, members=members, **kwargs)


def rules() -> list[Rule]:
    return list(Rule.objects.all())


def paused() -> Switch | None:
    """The switch's row when routing is paused, else None."""
    return Switch.objects.filter(pk=Switch.TEAM, paused=True).first()


def switch_set(*, paused: bool, user) -> None:
    Switch.objects.update_or_create(
        pk=Switch.TEAM, defaults={"paused": paused, "changed_at": timezone.now(), "changed_by": user.email}
    )


def rule_save(*, form: RuleForm, user, rule: Rule | None = None) -> Rule:
    rule = rule or Rule(position=Rule.objects.count())
    for name in FIELDS:
        setattr(rule, name, form.cleaned_data[name])
    rule.changed_at, rule.changed_by = timezone.now(), user.email
    rule.save()
    return rule


def rule_delete(rule: Rule) -> None:
    rule.delete()


def rules_replace(*, forms_in_order: list[RuleForm], paused: bool | None, user) -> list[Rule]:
    """The whole list at once (the API's PUT): every form valid, or nothing changes."""
    with transaction.atomic():
        Rule.objects.all().delete()
        saved = []
        for position, form in enumerate(forms_in_order):
            rule = Rule(position=position)
            saved.append(rule_save(form=form, user=user, rule=rule))
        if paused is not None:
            switch_set(paused=paused, user=user)
    return saved


def as_data(rule: Rule) -> dict:
    return {name: getattr(rule, name) for name in FIELDS}
