"""The embedded WapiKit sandbox's data: just enough of WapiKit's model to answer the
conversation and member endpoints the dashboard uses.

The "spec" profile reads a conversation's assignee from `Conversation.assigned_to`; the "server"
and "legacy" profiles read `ConversationAssignment`, WapiKit's own assignment history."""

import uuid

from django.db import models


class Role(models.Model):
    unique_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    permissions = models.JSONField(default=list)

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    class AccessLevel(models.TextChoices):
        OWNER = "Owner"
        MEMBER = "Member"

    unique_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=200)
    email = models.EmailField(unique=True)
    access_level = models.CharField(max_length=10, choices=AccessLevel.choices, default=AccessLevel.MEMBER)
    created_at = models.DateTimeField()
    roles = models.ManyToManyField(Role, blank=True, related_name="members")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.email


class Contact(models.Model):
    unique_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=300)
    phone = models.CharField(max_length=60)
    # Nullable because WapiKit's column is: a NULL makes its list and get handlers panic, which
    # the "server" profile reproduces on demand (control option `null_attributes`).
    attributes = models.JSONField(default=dict, null=True)
    created_at = models.DateTimeField()
    status = models.CharField(max_length=20, default="Active")


class Tag(models.Model):
    unique_id = models.UUIDField(default=uuid.uuid4, unique=True)
    label = models.CharField(max_length=200)


class Campaign(models.Model):
    unique_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=200)


class ContactList(models.Model):
    unique_id = models.UUIDField(default=uuid.uuid4, unique=True)
    name = models.CharField(max_length=200)
    contacts = models.ManyToManyField(Contact, related_name="lists")


class Conversation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "Active"
        CLOSED = "Closed"
        DELETED = "Deleted"

    unique_id = models.UUIDField(default=uuid.uuid4, unique=True)
    organization_id = models.UUIDField()
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL)
    initiated_by = models.CharField(max_length=20, default="Contact")
    created_at = models.DateTimeField()
    # The time of the newest message, kept by `record_message`, so lists sort on an index.
    last_activity_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    assigned_to = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL)
    tags = models.ManyToManyField(Tag, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "-last_activity_at"])]


class Message(models.Model):
    unique_id = models.UUIDField(default=uuid.uuid4, unique=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=10)
    status = models.CharField(max_length=20)
    message_type = models.CharField(max_length=20)
    created_at = models.DateTimeField()
    message_data = models.JSONField(default=dict)
    reply_to = models.UUIDField(null=True, blank=True)
    whatsapp_message_id = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "created_at"])]


class ConversationAssignment(models.Model):
    """One row per conversation and member, ever: WapiKit keys the table on that pair, so ending
    an assignment only flips its status, and assigning the same member again is a duplicate."""

    class Status(models.TextChoices):
        ASSIGNED = "Assigned"
        UNASSIGNED = "Unassigned"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="assignments")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ASSIGNED)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "member"], name="conversation_assignment_pkey"),
        ]
