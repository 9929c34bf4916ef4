"""The session timer: one per user, kept by the server, tied to one patient or several."""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ccm', '0008_practice_timer_idle_minutes'),
        ('patients', '0002_period_guards'),
        ('timelog', '0004_timeactivity_logged_on'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Timer',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('activity', models.CharField(blank=True, choices=[('care_plan_review', 'Care plan review'), ('medication_reconciliation', 'Medication reconciliation'), ('patient_call', 'Patient or caregiver call'), ('care_coordination', 'Specialist or pharmacy coordination'), ('lab_review', 'Lab review'), ('education', 'Education'), ('referral', 'Referral'), ('community_resources', 'Community resources'), ('other', 'Other')], max_length=40)),
                ('note', models.TextField(blank=True)),
                ('outcome', models.TextField(blank=True)),
                ('program', models.CharField(choices=[('ccm', 'Chronic care management'), ('rpm', 'Remote patient monitoring'), ('tcm', 'Transitional care management'), ('pcm', 'Principal care management'), ('bhi', 'Behavioral health integration'), ('g0506', 'G0506 care planning')], default='ccm', max_length=10)),
                ('started_at', models.DateTimeField()),
                ('worked', models.JSONField(default=list, help_text='Closed segments of work: [[start, end], ...] (ISO, UTC).')),
                ('running_since', models.DateTimeField(blank=True, null=True)),
                ('last_active_at', models.DateTimeField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('patients', models.ManyToManyField(related_name='+', to='patients.patient')),
                ('practice', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ccm.practice')),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='session_timer', to=settings.AUTH_USER_MODEL)),
            ],
        ),
    ]
