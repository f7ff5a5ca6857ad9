"""The composition root: every service is built once, here, and handed to the cogs.

Pure like the rest of `bot/` (no Discord): the glue's `HearthBot.setup_hook` calls `build_services`
after opening the database, and each cog's `setup()` takes the service it adapts from
`bot.services` instead of building its own or looking another cog up by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.activity.metrics import MetricsService
from bot.activity.pipeline import ActivityPipeline
from bot.conflict.flags import FlagService
from bot.core.clock import Clock
from bot.core.config import Config
from bot.core.db import Database
from bot.core.i18n import Catalog
from bot.core.notices import Notices
from bot.core.privacy import PrivacyRegistry
from bot.core.scheduler import Scheduler
from bot.core.settings import Settings
from bot.onboarding.service import OnboardingService


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


async def build_services(config: Config, db: Database, clock: Clock, catalog: Catalog) -> Services:
    """Build every service on an open, migrated database and register members' data rights."""
    settings = Settings(db, clock)
    scheduler = Scheduler(db, clock)
    privacy = PrivacyRegistry(db, clock)
    await privacy.load()
    # One opt-out set for every feature: the pipeline records nobody in it (and says so in each
    # message signal); onboarding stops following a member the moment they opt out.
    activity = ActivityPipeline(db, clock, settings, privacy=privacy)
    onboarding = OnboardingService(db, clock, settings, scheduler)
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
    )
