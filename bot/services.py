"""The composition root: every service is built once, here, and handed to the cogs.

Pure like the rest of `bot/` (no Discord): the glue's `HearthBot.setup_hook` calls `build_services`
after opening the database, and each cog's `setup()` takes the service it adapts from
`bot.services` instead of building its own or looking another cog up by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.activity import metrics as activity_metrics
from bot.activity import pipeline as activity_pipeline
from bot.activity.metrics import MetricsService
from bot.activity.pipeline import ActivityPipeline
from bot.conflict import flags as conflict_flags
from bot.conflict.flags import FlagService
from bot.core import guilds
from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.db import Database
from bot.core.guilds import GuildLifecycle
from bot.core.i18n import Catalog
from bot.core.notices import Notices
from bot.core.privacy import PrivacyRegistry
from bot.core.published import PublishedCommands
from bot.core.scheduler import Scheduler
from bot.core.settings import CORE_SETTINGS, Settings, SettingSpec
from bot.onboarding import service as onboarding_service
from bot.onboarding.service import OnboardingService

# Each feature's settings, declared in its own module (`SETTINGS`); a new feature adds its tuple here.
FEATURE_SETTINGS: tuple[tuple[SettingSpec, ...], ...] = (
    guilds.SETTINGS,
    activity_pipeline.SETTINGS,
    activity_metrics.SETTINGS,
    conflict_flags.SETTINGS,
    onboarding_service.SETTINGS,
)


@dataclass
class Services:
    """Everything the cogs use, built once per process."""

    config: Config
    db: Database
    clock: Clock
    catalog: Catalog
    settings: Settings
    scheduler: Scheduler
    notices: Notices
    privacy: PrivacyRegistry
    activity: ActivityPipeline
    metrics: MetricsService
    onboarding: OnboardingService
    conflict: FlagService
    guilds: GuildLifecycle
    published: PublishedCommands


def setting_specs() -> dict[str, SettingSpec]:
    """Every setting the bot declares (the core's and each feature's), by key."""
    specs = [*CORE_SETTINGS, *(s for group in FEATURE_SETTINGS for s in group)]
    return {spec.key: spec for spec in specs}


def build_settings(db: Database, clock: Clock) -> Settings:
    """Build the settings service with the core's and every feature's settings declared."""
    return Settings(db, clock, setting_specs().values())


async def build_services(config: Config, db: Database, clock: Clock, catalog: Catalog) -> Services:
    """Build every service on an open, migrated database and register members' data rights."""
    settings = build_settings(db, clock)
    scheduler = Scheduler(db, clock)
    privacy = PrivacyRegistry(db, clock)
    await privacy.load()
    # One opt-out set for every feature: the pipeline records nobody in it (and says so in each
    # message signal); onboarding stops following a member the moment they opt out.
    activity = ActivityPipeline(db, clock, settings, privacy=privacy)
    onboarding = OnboardingService(db, clock, settings, scheduler, privacy=privacy)
    privacy.subscribe(activity.member_opted_out)
    privacy.subscribe(onboarding.member_opted_out)
    conflict = FlagService(db, clock, settings, scheduler=scheduler)
    privacy.register("activity", activity.export, activity.forget)
    privacy.register("onboarding", onboarding.export, onboarding.forget)
    privacy.register("conflict", conflict.export_member, conflict.forget_member)
    return Services(
        config=config,
        db=db,
        clock=clock,
        catalog=catalog,
        settings=settings,
        scheduler=scheduler,
        notices=Notices(db, clock),
        privacy=privacy,
        activity=activity,
        metrics=MetricsService(db, clock, settings),
        onboarding=onboarding,
        conflict=conflict,
        guilds=GuildLifecycle(db, clock, settings, scheduler),
        published=PublishedCommands(db, clock),
    )
