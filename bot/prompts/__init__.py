"""Scheduled discussion prompts (issue 13): the shipped library, managers' prompts, schedules."""
