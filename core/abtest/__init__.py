"""A/B tests: read an exposure log, clean it, analyse it, plan the next one, simulate one offline between two models.

Every module works on the *exposure frame*: one row per exposure with the canonical columns of
`core.schema.EXPOSURES` (user_id, variant, converted, and optionally timestamp, revenue, pre_metric, page).
`experiment_report` is the one entry point for a whole report (page, CLI and the serving API's live experiments).
"""

from core.abtest.analysis import Analysis, analyse
from core.abtest.hygiene import HygieneChoices, HygieneReport, clean
from core.abtest.planner import SampleSizePlan, sample_size_plan
from core.abtest.report import ExperimentReport, ReportOptions, experiment_report

__all__ = ["Analysis", "ExperimentReport", "HygieneChoices", "HygieneReport", "SampleSizePlan", "ReportOptions", "analyse",
           "clean", "experiment_report", "sample_size_plan"]
