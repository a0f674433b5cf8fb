"""The audit log's model moves to the conversations domain; its table stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_auditentry_token_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(
                    model_name='auditentry',
                    name='audit_audit_convers_f8c54c_idx',
                ),
                migrations.DeleteModel(
                    name='AuditEntry',
                ),
            ],
        ),
    ]
