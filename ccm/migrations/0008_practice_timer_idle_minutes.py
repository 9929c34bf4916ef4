"""How long a session timer may go without activity in the page before it pauses and asks
"still working?": a practice setting, 10 minutes unless the practice changes it."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ccm', '0007_audit_read_chain_and_app_role'),
    ]

    operations = [
        migrations.AddField(
            model_name='practice',
            name='timer_idle_minutes',
            field=models.PositiveSmallIntegerField(default=10, help_text='Minutes without activity after which a running session timer pauses and asks whether the person is still working.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(120)]),
        ),
    ]
