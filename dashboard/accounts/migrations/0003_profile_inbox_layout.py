from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_profile'),
    ]

    operations = [
        migrations.AddField(
            model_name='profile',
            name='inbox_layout',
            field=models.CharField(choices=[('cards', 'Cards'), ('compact', 'Compact')], default='cards', max_length=10),
        ),
    ]
