"""What the notify service reads beyond the common settings (`KINERJA_NOTIFY_*`)."""

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.notify.service_layer.reminders import ReminderPolicy


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KINERJA_NOTIFY_", extra="ignore")

    reminder_days_before_period_end: int = Field(
        default=5, ge=0, le=60, description="how many days before a period ends to remind"
    )
    skp_deadline: str = Field(
        default="01-31",
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description="MM-DD: after this day of a year, pegawai without an approved SKP are told",
    )
    reminder_interval_seconds: int = Field(
        default=3600, ge=10, description="how often the service looks for reminders due"
    )

    def policy(self) -> ReminderPolicy:
        month, day = (int(part) for part in self.skp_deadline.split("-"))
        return ReminderPolicy(self.reminder_days_before_period_end, (month, day))

    @property
    def reminder_interval(self) -> timedelta:
        return timedelta(seconds=self.reminder_interval_seconds)
