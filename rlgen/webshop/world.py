"""Moved to `rlgen.worlds.webshop` (one module per world); kept so old imports work."""

from rlgen.worlds.webshop import KIND, OPTIONS, REPORT_NOTE, SPLIT_KINDS, GoalJob, WebShopWorld, make_world

__all__ = ["GoalJob", "KIND", "OPTIONS", "REPORT_NOTE", "SPLIT_KINDS", "WebShopWorld", "make_world"]
