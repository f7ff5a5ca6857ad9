"""Member onboarding: welcome variants, rules gate, interests, introductions, nudges, buddies, funnel."""
