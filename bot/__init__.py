"""Hearth: the core and domain code. Only client, checks, interactions and translator import discord."""
