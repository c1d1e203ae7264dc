"""Backup policy settings rendered into azure-native arguments (pure logic, no resources declared).

Azure Backup wants the same time of day in the schedule and in every retention tier, and a schedule
shape that matches the policy type (V1: SimpleSchedulePolicy, V2: SimpleSchedulePolicyV2); both are
derived here from one `PolicySettings` so they cannot disagree.
"""

from __future__ import annotations

from pulumi_azure_native import recoveryservices as rs

from irisbackup.policy.parity_spec import instant_rp_details, tiering_policy
from irisbackup.settings.policy import PolicySettings, Schedule
from irisbackup.settings.retention import Retention


def protection_policy_properties(policy: PolicySettings) -> rs.AzureIaaSVMProtectionPolicyArgs:
    enhanced = policy.kind == "enhanced"
    return rs.AzureIaaSVMProtectionPolicyArgs(
        backup_management_type="AzureIaasVM",
        policy_type="V2" if enhanced else "V1",
        time_zone=policy.time_zone,
        instant_rp_retention_range_in_days=policy.instant_restore_days,
        schedule_policy=_schedule_v2(policy.schedule) if enhanced else _schedule_v1(policy.schedule),
        retention_policy=_retention(policy.retention, _utc_timestamp(policy.schedule.run_time)),
        tiering_policy=tiering_policy(policy.archive),
        instant_rp_details=instant_rp_details(policy.instant_restore_resource_group),
    )


def _utc_timestamp(time_of_day: str) -> str:
    # Azure stores schedule times as full timestamps; only the time of day is used.
    return f"2024-01-01T{time_of_day}:00Z"


def _schedule_v1(schedule: Schedule) -> rs.SimpleSchedulePolicyArgs:
    return rs.SimpleSchedulePolicyArgs(
        schedule_policy_type="SimpleSchedulePolicy",
        schedule_run_frequency=schedule.frequency,
        schedule_run_times=[_utc_timestamp(schedule.run_time)],
        schedule_run_days=list(schedule.days) or None,
    )


def _schedule_v2(schedule: Schedule) -> rs.SimpleSchedulePolicyV2Args:
    run_time = _utc_timestamp(schedule.run_time)
    return rs.SimpleSchedulePolicyV2Args(
        schedule_policy_type="SimpleSchedulePolicyV2",
        schedule_run_frequency=schedule.frequency,
        hourly_schedule=rs.HourlyScheduleArgs(
            interval=schedule.interval_hours,
            schedule_window_start_time=run_time,
            schedule_window_duration=schedule.window_hours,
        ) if schedule.frequency == "Hourly" else None,
        daily_schedule=rs.DailyScheduleArgs(schedule_run_times=[run_time]) if schedule.frequency == "Daily" else None,
        weekly_schedule=rs.WeeklyScheduleArgs(
            schedule_run_days=list(schedule.days), schedule_run_times=[run_time]
        ) if schedule.frequency == "Weekly" else None,
    )


def _duration(count: int, unit: str) -> rs.RetentionDurationArgs:
    return rs.RetentionDurationArgs(count=count, duration_type=unit)


def _retention(retention: Retention, run_time: str) -> rs.LongTermRetentionPolicyArgs:
    weekly, monthly, yearly = retention.weekly, retention.monthly, retention.yearly
    return rs.LongTermRetentionPolicyArgs(
        retention_policy_type="LongTermRetentionPolicy",
        daily_schedule=rs.DailyRetentionScheduleArgs(
            retention_times=[run_time], retention_duration=_duration(retention.daily_days, "Days")
        ) if retention.daily_days is not None else None,
        weekly_schedule=rs.WeeklyRetentionScheduleArgs(
            days_of_the_week=list(weekly.days), retention_times=[run_time], retention_duration=_duration(weekly.weeks, "Weeks")
        ) if weekly else None,
        monthly_schedule=rs.MonthlyRetentionScheduleArgs(
            retention_schedule_format_type="Weekly",
            retention_schedule_weekly=rs.WeeklyRetentionFormatArgs(days_of_the_week=[monthly.day], weeks_of_the_month=[monthly.week]),
            retention_times=[run_time],
            retention_duration=_duration(monthly.months, "Months"),
        ) if monthly else None,
        yearly_schedule=rs.YearlyRetentionScheduleArgs(
            retention_schedule_format_type="Weekly",
            months_of_year=[yearly.month],
            retention_schedule_weekly=rs.WeeklyRetentionFormatArgs(days_of_the_week=[yearly.day], weeks_of_the_month=[yearly.week]),
            retention_times=[run_time],
            retention_duration=_duration(yearly.years, "Years"),
        ) if yearly else None,
    )
